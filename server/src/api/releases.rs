//! Release-level endpoints: start, list, read, events, deploy all, retry all, cancel.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use convoy_core::actions::ReleaseAction;
use convoy_core::validate::{GitRef, InputError, ProjectPath};
use convoy_core::{ComponentEvent, MainReleaseEvent, MainReleaseState, main_release};
use convoy_store::{Change, NewMainRelease, Store, StoreError};
use convoy_store::{Job, Jobs};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::errors::{ActionError, INTERNAL_ERROR, error_response, log_internal};
use super::{fresh_detail, load_release, move_components, move_release, nudge, offers};
use crate::auth::reading::{Readable, readable_apps, require_reader};
use crate::auth::{AuthError, Need, Permissions};
use crate::settings::ServerSettings;
use crate::views::{EventView, NotificationLog, ReleaseSummary, notification_log, release_detail};

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"app_project": "mobile/app", "app_ref": "release/2.0.0", "require_review": false}))]
pub struct CreateReleaseRequest {
    /// The app's GitLab project path (`group/name`, subgroups allowed), by GitLab's path rules.
    #[schema(
        min_length = 3,
        max_length = 5375,
        pattern = r"^\s*[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+\s*$"
    )]
    pub app_project: String,
    /// The branch or tag holding the app's Podfile, by git's ref rules (`git check-ref-format`).
    #[schema(min_length = 1, max_length = 255)]
    pub app_ref: String,
    #[serde(default)]
    pub require_review: bool,
}

/// Why a release could not be started.
#[derive(Debug, thiserror::Error)]
pub enum CreateReleaseError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    InvalidInput(#[from] InputError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The core refused to start a release that was just created: a bug, not the user's doing.
    #[error("a new release could not be started: {0}")]
    Start(#[from] convoy_core::TransitionError),
}

impl ResponseError for CreateReleaseError {
    fn status_code(&self) -> StatusCode {
        match self {
            CreateReleaseError::Auth(auth) => auth.status_code(),
            CreateReleaseError::InvalidInput(_) => StatusCode::BAD_REQUEST,
            // At most one active release per app and ref: the sentence names the active one.
            CreateReleaseError::Store(StoreError::ActiveRelease { .. }) => StatusCode::CONFLICT,
            CreateReleaseError::Store(_) | CreateReleaseError::Start(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            CreateReleaseError::Store(StoreError::ActiveRelease { .. }) => {
                error_response(self.status_code(), self.to_string())
            }
            CreateReleaseError::Store(_) | CreateReleaseError::Start(_) => {
                log_internal(self);
                error_response(self.status_code(), INTERNAL_ERROR)
            }
            other => error_response(other.status_code(), other.to_string()),
        }
    }
}

/// `POST /api/v1/releases`: records a release and starts its analysis.
#[utoipa::path(
    post,
    path = "/api/v1/releases",
    summary = "Start a release",
    tag = "releases",
    request_body = CreateReleaseRequest,
    responses(
        (status = 201, description = "The release, recorded and being analyzed", body = crate::views::ReleaseDetail),
        (status = 409, description = "Another release of this app and ref is still active: the sentence names it", body = crate::api::errors::ErrorBody),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::BadBody,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn create_release(
    request: HttpRequest,
    body: web::Json<CreateReleaseRequest>,
    store: web::Data<Store>,
    jobs: web::Data<dyn Jobs>,
    settings: web::Data<ServerSettings>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, CreateReleaseError> {
    let who = crate::auth::signed_in(&request)?;
    let app_project = ProjectPath::parse("app_project", &body.app_project)?;
    permissions
        .require(
            &who,
            &Need::ReleaseManager {
                app_project: app_project.as_str().to_string(),
                action: format!("starting a release of {}", app_project.as_str()),
            },
        )
        .await?;
    let app_ref = GitRef::parse("app_ref", &body.app_ref)?;
    let actor = who.actor();

    let release = store
        .create_main_release(&NewMainRelease {
            app_project: app_project.as_str().to_string(),
            app_ref: app_ref.as_str().to_string(),
            started_by: actor.clone(),
            require_review: body.require_review,
        })
        .await?;
    let id = release.id;
    let start = main_release::decide(release.state, &MainReleaseEvent::Start)?;
    // Nobody else knows this release yet, so the compare-and-set cannot lose.
    store.apply_release(&release, &start, &actor).await?;
    nudge(jobs.get_ref(), Job::AdvanceRelease { release_id: id }).await;

    let detail = release_detail(&store, &settings.forge_web_url, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("main release {id}")))?;
    Ok(HttpResponse::Created().json(detail))
}

/// Why a release or a list of releases could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("release {0} does not exist: list releases with GET /api/v1/releases")]
    NotFound(i64),
    #[error("{0}")]
    InvalidInput(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ResponseError for ReadError {
    fn status_code(&self) -> StatusCode {
        match self {
            ReadError::Auth(auth) => auth.status_code(),
            ReadError::NotFound(_) => StatusCode::NOT_FOUND,
            ReadError::InvalidInput(_) => StatusCode::BAD_REQUEST,
            ReadError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ReadError::Store(cause) => {
                log_internal(cause);
                error_response(self.status_code(), INTERNAL_ERROR)
            }
            other => error_response(other.status_code(), other.to_string()),
        }
    }
}

/// At most this many releases per page.
pub const MAX_PER_PAGE: u32 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The page, from 1 (the newest releases); default 1.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 4294967295_u64)]
    pub page: Option<u32>,
    /// Releases per page, 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
    /// Only releases of this app project (403 when the caller may not read it).
    pub app_project: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseList {
    pub releases: Vec<ReleaseSummary>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

/// `GET /api/v1/releases?page=1&per_page=20&app_project=mobile/app`: newest first, only the
/// releases of apps the caller may read (the viewer role).
#[utoipa::path(
    get,
    path = "/api/v1/releases",
    summary = "List releases, newest first",
    tag = "releases",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of releases, newest first", body = ReleaseList),
        crate::api::openapi::Refusals,
        crate::api::openapi::BadQuery,
    ),
    security(("bearer" = []), ("session" = []), ())
)]
pub async fn list_releases(
    request: HttpRequest,
    query: web::Query<ListQuery>,
    store: web::Data<Store>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ReadError> {
    let page = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(20);
    if page == 0 {
        return Err(ReadError::InvalidInput(
            "page starts at 1: ask for page=1 to see the newest releases".to_string(),
        ));
    }
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(ReadError::InvalidInput(format!(
            "per_page must be between 1 and {MAX_PER_PAGE}: ask for fewer releases per page"
        )));
    }
    let (summaries, total) = match query.app_project.as_deref().map(str::trim) {
        Some(app) if !app.is_empty() => {
            require_reader(&request, &permissions, app).await?;
            store
                .list_main_releases_of(&[app.to_string()], page, per_page)
                .await?
        }
        _ => {
            let apps = store.release_app_projects().await?;
            match readable_apps(&request, &permissions, apps).await? {
                Readable::Everything => store.list_main_releases(page, per_page).await?,
                Readable::Apps(apps) => store.list_main_releases_of(&apps, page, per_page).await?,
            }
        }
    };
    let releases = summaries.into_iter().map(ReleaseSummary::from).collect();
    Ok(HttpResponse::Ok().json(ReleaseList {
        releases,
        page,
        per_page,
        total,
    }))
}

/// `GET /api/v1/releases/{id}`: the release with its components, links and allowed actions.
#[utoipa::path(
    get,
    path = "/api/v1/releases/{id}",
    summary = "Read a release",
    tag = "releases",
    params(("id" = i64, Path, description = "The release's id")),
    responses(
        (status = 200, description = "The release with its components, links and allowed actions", body = crate::views::ReleaseDetail),
        crate::api::openapi::Refusals,
        crate::api::openapi::NotFound,
    ),
    security(("bearer" = []), ("session" = []), ())
)]
pub async fn get_release(
    request: HttpRequest,
    path: web::Path<i64>,
    store: web::Data<Store>,
    settings: web::Data<ServerSettings>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ReadError> {
    let id = path.into_inner();
    let detail = release_detail(&store, &settings.forge_web_url, id)
        .await?
        .ok_or(ReadError::NotFound(id))?;
    require_reader(&request, &permissions, &detail.app_project).await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// At most this many events per answer.
pub const MAX_EVENTS: u32 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events after this event id; default 0 (from the first).
    pub after: Option<i64>,
    /// At most this many events, 1 to 1000; default 200.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventView>,
}

/// `GET /api/v1/releases/{id}/events?after=0&limit=200`: the event log after event `after`.
#[utoipa::path(
    get,
    path = "/api/v1/releases/{id}/events",
    summary = "Read a release's event log",
    tag = "releases",
    params(("id" = i64, Path, description = "The release's id"), EventsQuery),
    responses(
        (status = 200, description = "The release's event log after event `after`, oldest first", body = EventList),
        crate::api::openapi::Refusals,
        crate::api::openapi::NotFound,
        crate::api::openapi::BadQuery,
    ),
    security(("bearer" = []), ("session" = []), ())
)]
pub async fn release_events(
    request: HttpRequest,
    path: web::Path<i64>,
    query: web::Query<EventsQuery>,
    store: web::Data<Store>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ReadError> {
    let id = path.into_inner();
    let limit = query.limit.unwrap_or(200);
    if limit == 0 || limit > MAX_EVENTS {
        return Err(ReadError::InvalidInput(format!(
            "limit must be between 1 and {MAX_EVENTS}: page through the log with after=<last event id>"
        )));
    }
    require_release_reader(&request, &permissions, &store, id).await?;
    let events = store
        .events(id, query.after.unwrap_or(0), limit)
        .await?
        .into_iter()
        .map(EventView::from)
        .collect();
    Ok(HttpResponse::Ok().json(EventList { events }))
}

/// `GET /api/v1/releases/{id}/notifications`: what Convoy told people about the release.
#[utoipa::path(
    get,
    path = "/api/v1/releases/{id}/notifications",
    summary = "Read a release's notification log",
    tag = "releases",
    params(("id" = i64, Path, description = "The release's id")),
    responses(
        (status = 200, description = "The release's notifications, oldest first, and a warning while deliveries fail", body = NotificationLog),
        crate::api::openapi::Refusals,
        crate::api::openapi::NotFound,
    ),
    security(("bearer" = []), ("session" = []), ())
)]
pub async fn release_notifications(
    request: HttpRequest,
    path: web::Path<i64>,
    store: web::Data<Store>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ReadError> {
    let id = path.into_inner();
    require_release_reader(&request, &permissions, &store, id).await?;
    Ok(HttpResponse::Ok().json(notification_log(&store, id).await?))
}

/// Refuses unless release `id` exists and the caller may read its app.
async fn require_release_reader(
    request: &HttpRequest,
    permissions: &Permissions,
    store: &Store,
    id: i64,
) -> Result<(), ReadError> {
    let app_project = store
        .release_app_project(id)
        .await?
        .ok_or(ReadError::NotFound(id))?;
    Ok(require_reader(request, permissions, &app_project).await?)
}

/// `POST /api/v1/releases/{id}/deploy`: deploys every component still waiting.
#[utoipa::path(
    post,
    path = "/api/v1/releases/{id}/deploy",
    summary = "Deploy every waiting component",
    tag = "releases",
    params(("id" = i64, Path, description = "The release's id")),
    responses(
        (status = 200, description = "The release as it is now", body = crate::views::ReleaseDetail),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::NotFound,
        crate::api::openapi::Conflict,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn deploy_release(
    request: HttpRequest,
    path: web::Path<i64>,
    store: web::Data<Store>,
    jobs: web::Data<dyn Jobs>,
    settings: web::Data<ServerSettings>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ActionError> {
    let who = crate::auth::signed_in(&request)?;
    let id = path.into_inner();
    let actor = who.actor();
    let release = load_release(&store, id).await?;
    require_manager(
        &permissions,
        &who,
        &release,
        format!("deploying release {id}"),
    )
    .await?;
    let components = store.components(id).await?;
    if !offers(&release, &components, ReleaseAction::Deploy) {
        // The machine's sentence when the release's state refuses, else what is missing.
        if release.state != MainReleaseState::Deploying {
            main_release::decide(release.state, &MainReleaseEvent::Deploy)?;
        }
        return Err(ActionError::NothingToDo(format!(
            "release {id} has no component waiting to be deployed: every component is deployed already"
        )));
    }

    // A release already deploying (one component was deployed alone) deploys the rest.
    if release.state != MainReleaseState::Deploying {
        let transition = main_release::decide(release.state, &MainReleaseEvent::Deploy)?;
        move_release(&store, &release, transition, &actor).await?;
    }
    move_components(&store, &components, &ComponentEvent::Deploy, &actor).await?;
    nudge(jobs.get_ref(), Job::AdvanceRelease { release_id: id }).await;
    fresh_detail(&store, &settings, id).await
}

/// `POST /api/v1/releases/{id}/retry`: retries every failed component.
#[utoipa::path(
    post,
    path = "/api/v1/releases/{id}/retry",
    summary = "Retry every failed component",
    tag = "releases",
    params(("id" = i64, Path, description = "The release's id")),
    responses(
        (status = 200, description = "The release as it is now", body = crate::views::ReleaseDetail),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::NotFound,
        crate::api::openapi::Conflict,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn retry_release(
    request: HttpRequest,
    path: web::Path<i64>,
    store: web::Data<Store>,
    jobs: web::Data<dyn Jobs>,
    settings: web::Data<ServerSettings>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ActionError> {
    let who = crate::auth::signed_in(&request)?;
    let id = path.into_inner();
    let actor = who.actor();
    let release = load_release(&store, id).await?;
    require_manager(
        &permissions,
        &who,
        &release,
        format!("retrying release {id}"),
    )
    .await?;
    let components = store.components(id).await?;
    if !offers(&release, &components, ReleaseAction::Retry) {
        if release.state == MainReleaseState::Failed && components.is_empty() {
            return Err(ActionError::NothingToDo(format!(
                "release {id} failed before its plan was ready: fix the cause and start a new release"
            )));
        }
        // The machine's sentence when the release's state refuses, else what is missing.
        if release.state != MainReleaseState::Deploying {
            main_release::decide(release.state, &MainReleaseEvent::Retry)?;
        }
        return Err(ActionError::NothingToDo(format!(
            "no component of release {id} has failed: there is nothing to retry"
        )));
    }

    // A release still deploying (failures only block their descendants) retries its failed
    // components without changing state itself. A failed release is checked first but moved
    // last: the worker leaves a failed release alone, whereas a deploying one whose components
    // are still failed would be judged stalled and failed again before they move.
    let reopen = if release.state == MainReleaseState::Deploying {
        None
    } else {
        let transition = main_release::decide(release.state, &MainReleaseEvent::Retry)?;
        // Reopening it must not make a second active release of its app and ref: refuse
        // before any component moves (the unique index of migration 0006 decides a race).
        store
            .refuse_a_second_active_release(&release.app_project, &release.app_ref, Some(id))
            .await?;
        Some(transition)
    };
    move_components(&store, &components, &ComponentEvent::Retry, &actor).await?;
    if let Some(transition) = reopen {
        move_release(&store, &release, transition, &actor).await?;
    }
    nudge(jobs.get_ref(), Job::AdvanceRelease { release_id: id }).await;
    fresh_detail(&store, &settings, id).await
}

/// `POST /api/v1/releases/{id}/cancel`: cancels the release and every unfinished component.
#[utoipa::path(
    post,
    path = "/api/v1/releases/{id}/cancel",
    summary = "Cancel a release",
    tag = "releases",
    params(("id" = i64, Path, description = "The release's id")),
    responses(
        (status = 200, description = "The release as it is now", body = crate::views::ReleaseDetail),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::NotFound,
        crate::api::openapi::Conflict,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn cancel_release(
    request: HttpRequest,
    path: web::Path<i64>,
    store: web::Data<Store>,
    jobs: web::Data<dyn Jobs>,
    settings: web::Data<ServerSettings>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ActionError> {
    let who = crate::auth::signed_in(&request)?;
    let id = path.into_inner();
    let actor = who.actor();
    let release = load_release(&store, id).await?;
    require_manager(
        &permissions,
        &who,
        &release,
        format!("canceling release {id}"),
    )
    .await?;
    let transition = main_release::decide(release.state, &MainReleaseEvent::Cancel)?;
    // The release and its unfinished components in one transaction: no component moves
    // between the two (issue 14 point 4).
    let change = Change {
        actor: actor.clone(),
        reason: transition.reason,
        mention: None,
    };
    if !store.cancel_main_release(id, &change).await? {
        return Err(ActionError::ChangedMeanwhile);
    }
    nudge(jobs.get_ref(), Job::AdvanceRelease { release_id: id }).await;
    fresh_detail(&store, &settings, id).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyPermissions {
    /// May start, deploy, edit, cancel, mark released and retry anything in this release.
    pub release_manager: bool,
    /// Components whose owner the caller is (they may mark them reviewed and retry them).
    pub owns: Vec<String>,
}

/// `GET /api/v1/releases/{id}/permissions`: what the caller may do in this release, so the
/// dashboard shows only those actions (every change is checked again when it is made).
#[utoipa::path(
    get,
    path = "/api/v1/releases/{id}/permissions",
    summary = "What the caller may do in a release",
    tag = "releases",
    params(("id" = i64, Path, description = "The release's id")),
    responses(
        (status = 200, description = "What the caller may do in this release", body = MyPermissions),
        crate::api::openapi::Refusals,
        crate::api::openapi::NotFound,
    ),
    security(("bearer" = []), ("session" = []), ())
)]
pub async fn my_permissions(
    request: HttpRequest,
    path: web::Path<i64>,
    store: web::Data<Store>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ReadError> {
    let id = path.into_inner();
    let release = store
        .main_release(id)
        .await?
        .ok_or(ReadError::NotFound(id))?;
    require_reader(&request, &permissions, &release.app_project).await?;
    let mut mine = MyPermissions {
        release_manager: false,
        owns: Vec::new(),
    };
    if let Some(who) = crate::auth::caller(&request) {
        let manager = Need::ReleaseManager {
            app_project: release.app_project.clone(),
            action: String::new(),
        };
        mine.release_manager = permissions.may(&who, &manager).await;
        for component in store.components(id).await? {
            let owner = Need::ComponentOwner {
                component_project: component.project_path.clone(),
                app_project: release.app_project.clone(),
                action: String::new(),
            };
            if permissions.may(&who, &owner).await {
                mine.owns.push(component.name);
            }
        }
    }
    Ok(HttpResponse::Ok().json(mine))
}

/// Refuses unless the caller is the release manager of the release's app.
async fn require_manager(
    permissions: &Permissions,
    who: &crate::auth::Identity,
    release: &convoy_store::MainRelease,
    action: String,
) -> Result<(), ActionError> {
    let need = Need::ReleaseManager {
        app_project: release.app_project.clone(),
        action,
    };
    Ok(permissions.require(who, &need).await?)
}
