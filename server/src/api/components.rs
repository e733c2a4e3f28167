//! Component-level endpoints: edit the version, deploy one, mark reviewed, mark released, retry,
//! cancel.

use actix_web::{HttpRequest, HttpResponse, web};
use convoy_core::StateName;
use convoy_core::actions::{self, ComponentAction};
use convoy_core::validate::{MAX_NAME_CHARS, MAX_REASON_CHARS, MAX_VERSION_CHARS, bounded};
use convoy_core::version::parse_requested_version;
use convoy_core::{
    ComponentEvent, MainReleaseEvent, MainReleaseState, TransitionError, component, main_release,
};
use convoy_store::{ComponentRelease, MainRelease, Store};
use convoy_store::{Job, Jobs};
use serde::Deserialize;
use utoipa::ToSchema;

use super::errors::ActionError;
use super::{component_offers, fresh_detail, load_release, move_component, move_release, nudge};
use crate::auth::{Identity, Need, Permissions};
use crate::settings::ServerSettings;
use crate::views;

/// Who may act on a component.
#[derive(Clone, Copy)]
enum Allowed {
    /// The release manager of the app.
    ReleaseManager,
    /// Its owner (Developer+ on its project) or the release manager.
    Owner,
}

/// Who is asking, and for what (`doing` names it in a refusal: "marking StorageKit released").
struct Ask<'a> {
    who: &'a Identity,
    permissions: &'a Permissions,
    allowed: Allowed,
    doing: String,
}

/// Loads the release and its component `name`, checks the caller's role, and refuses when the
/// release is over (a component of a finished or canceled release never changes again).
async fn load_open(
    store: &Store,
    id: i64,
    name: &str,
    action: &str,
    ask: Ask<'_>,
) -> Result<(MainRelease, ComponentRelease), ActionError> {
    bounded("component name", name, MAX_NAME_CHARS)?;
    let release = load_release(store, id).await?;
    let component =
        store
            .component_by_name(id, name)
            .await?
            .ok_or_else(|| ActionError::ComponentNotFound {
                release: id,
                name: name.to_string(),
            })?;
    let need = match ask.allowed {
        Allowed::ReleaseManager => Need::ReleaseManager {
            app_project: release.app_project.clone(),
            action: ask.doing,
        },
        Allowed::Owner => Need::ComponentOwner {
            component_project: component.project_path.clone(),
            app_project: release.app_project.clone(),
            action: ask.doing,
        },
    };
    ask.permissions.require(ask.who, &need).await?;
    if !actions::release_is_open(release.state) {
        return Err(TransitionError {
            machine: "release",
            state: release.state.as_str().to_owned(),
            event: action.to_string(),
        }
        .into());
    }
    Ok((release, component))
}

/// Refuses what the component's `actions` do not offer now, so the API allows exactly what the
/// release page offers. Each handler asks the state machine first, whose refusal says more.
fn require_offered(
    release: &MainRelease,
    c: &ComponentRelease,
    action: ComponentAction,
) -> Result<(), ActionError> {
    if component_offers(release, c, action) {
        return Ok(());
    }
    Err(ActionError::NotOffered(format!(
        "{} does not offer {} now (it is {} in release {}, which is {}): the release's actions list what it offers",
        c.name,
        action.as_str(),
        c.state.as_str(),
        release.id,
        release.state.as_str()
    )))
}

/// When a component acts again in a release that failed or has not started deploying, the
/// release moves to deploying too (`event` is `Deploy` or `Retry`).
async fn reopen_release(
    store: &Store,
    release: &MainRelease,
    event: MainReleaseEvent,
    actor: &str,
) -> Result<(), ActionError> {
    if release.state == MainReleaseState::Deploying {
        return Ok(());
    }
    let transition = main_release::decide(release.state, &event)?;
    move_release(store, release, transition, actor).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"version": "2.1.0"}))]
pub struct VersionRequest {
    /// The version to release (semantic version, up to 100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub version: String,
}

/// `PUT /api/v1/releases/{id}/components/{name}/version`: sets the version to release.
#[utoipa::path(
    put,
    path = "/api/v1/releases/{id}/components/{name}/version",
    summary = "Set a component's version",
    tag = "components",
    params(("id" = i64, Path, description = "The release's id"), ("name" = String, Path, description = "The component's name, as in the Podfile")),
    request_body = VersionRequest,
    responses(
        (status = 200, description = "The release as it is now", body = crate::views::ReleaseDetail),
        (status = 422, description = "The version is not a semantic version", body = crate::api::errors::ErrorBody),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::NotFound,
        crate::api::openapi::Conflict,
        crate::api::openapi::BadBody,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn set_version(
    request: HttpRequest,
    path: web::Path<(i64, String)>,
    body: web::Json<VersionRequest>,
    store: web::Data<Store>,
    jobs: web::Data<dyn Jobs>,
    settings: web::Data<ServerSettings>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ActionError> {
    let who = crate::auth::signed_in(&request)?;
    let (id, name) = path.into_inner();
    let actor = who.actor();
    let requested = bounded("version", &body.version, MAX_VERSION_CHARS)?;
    let (release, component) = load_open(
        &store,
        id,
        &name,
        "change the version",
        Ask {
            who: &who,
            permissions: &permissions,
            allowed: Allowed::ReleaseManager,
            doing: format!("changing the version of {name}"),
        },
    )
    .await?;
    let event = ComponentEvent::VersionChanged {
        version: requested.to_string(),
    };
    let transition = component::decide(component.state, &event)?;
    require_offered(&release, &component, ComponentAction::EditVersion)?;
    let version = parse_requested_version(requested, None)?;

    store
        .set_component_version(component.id, &version.to_string(), &actor)
        .await?;
    if transition.state != component.state {
        move_component(&store, &component, transition, &actor).await?;
    }
    nudge(jobs.get_ref(), Job::AdvanceRelease { release_id: id }).await;
    fresh_detail(&store, &settings, id).await
}

/// `POST /api/v1/releases/{id}/components/{name}/deploy`: deploys one component.
#[utoipa::path(
    post,
    path = "/api/v1/releases/{id}/components/{name}/deploy",
    summary = "Deploy one component",
    tag = "components",
    params(("id" = i64, Path, description = "The release's id"), ("name" = String, Path, description = "The component's name, as in the Podfile")),
    responses(
        (status = 200, description = "The release as it is now", body = crate::views::ReleaseDetail),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::NotFound,
        crate::api::openapi::Conflict,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn deploy_component(
    request: HttpRequest,
    path: web::Path<(i64, String)>,
    store: web::Data<Store>,
    jobs: web::Data<dyn Jobs>,
    settings: web::Data<ServerSettings>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ActionError> {
    let who = crate::auth::signed_in(&request)?;
    let (id, name) = path.into_inner();
    let actor = who.actor();
    let (release, component) = load_open(
        &store,
        id,
        &name,
        "deploy",
        Ask {
            who: &who,
            permissions: &permissions,
            allowed: Allowed::ReleaseManager,
            doing: format!("deploying {name}"),
        },
    )
    .await?;
    let transition = component::decide(component.state, &ComponentEvent::Deploy)?;
    require_offered(&release, &component, ComponentAction::Deploy)?;

    reopen_release(&store, &release, MainReleaseEvent::Deploy, &actor).await?;
    move_component(&store, &component, transition, &actor).await?;
    nudge(jobs.get_ref(), Job::AdvanceRelease { release_id: id }).await;
    fresh_detail(&store, &settings, id).await
}

/// `POST /api/v1/releases/{id}/components/{name}/reviewed`: opens the review gate of the
/// component's merge request.
#[utoipa::path(
    post,
    path = "/api/v1/releases/{id}/components/{name}/reviewed",
    summary = "Mark a component's merge request reviewed",
    tag = "components",
    params(("id" = i64, Path, description = "The release's id"), ("name" = String, Path, description = "The component's name, as in the Podfile")),
    responses(
        (status = 200, description = "The release as it is now", body = crate::views::ReleaseDetail),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::NotFound,
        crate::api::openapi::Conflict,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn mark_reviewed(
    request: HttpRequest,
    path: web::Path<(i64, String)>,
    store: web::Data<Store>,
    jobs: web::Data<dyn Jobs>,
    settings: web::Data<ServerSettings>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ActionError> {
    let who = crate::auth::signed_in(&request)?;
    let (id, name) = path.into_inner();
    let actor = who.actor();
    let (release, component) = load_open(
        &store,
        id,
        &name,
        "mark reviewed",
        Ask {
            who: &who,
            permissions: &permissions,
            allowed: Allowed::Owner,
            doing: format!("marking {name} reviewed"),
        },
    )
    .await?;
    if !release.require_review {
        return Err(ActionError::NotOffered(format!(
            "release {id} has no review gate: its merge requests merge without a review"
        )));
    }
    // Marking it again changes nothing and is no error (a second click, a retried request).
    if component.reviewed {
        return fresh_detail(&store, &settings, id).await;
    }
    if !actions::awaits_review(
        views::release_facts(&release),
        views::component_facts(&component),
    ) {
        return Err(ActionError::NotOffered(format!(
            "{name} has no merge request waiting for review: it is {}",
            component.state.as_str()
        )));
    }
    store
        .set_component_reviewed(component.id, true, &actor)
        .await?;
    nudge(jobs.get_ref(), Job::AdvanceRelease { release_id: id }).await;
    fresh_detail(&store, &settings, id).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"reason": "released by hand by the network team"}))]
pub struct ReleasedRequest {
    /// How the component was released, in a sentence (required; up to 1000 characters).
    #[serde(default)]
    #[schema(required = true, min_length = 1, max_length = 1000, pattern = r"\S")]
    pub reason: String,
}

/// `POST /api/v1/releases/{id}/components/{name}/released`: records that a person released the
/// component by hand.
#[utoipa::path(
    post,
    path = "/api/v1/releases/{id}/components/{name}/released",
    summary = "Mark a component released by hand",
    tag = "components",
    params(("id" = i64, Path, description = "The release's id"), ("name" = String, Path, description = "The component's name, as in the Podfile")),
    request_body = ReleasedRequest,
    responses(
        (status = 200, description = "The release as it is now", body = crate::views::ReleaseDetail),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::NotFound,
        crate::api::openapi::Conflict,
        crate::api::openapi::BadBody,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn mark_released(
    request: HttpRequest,
    path: web::Path<(i64, String)>,
    body: web::Json<ReleasedRequest>,
    store: web::Data<Store>,
    jobs: web::Data<dyn Jobs>,
    settings: web::Data<ServerSettings>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ActionError> {
    let who = crate::auth::signed_in(&request)?;
    let (id, name) = path.into_inner();
    let actor = who.actor();
    let (release, component) = load_open(
        &store,
        id,
        &name,
        "mark as released",
        Ask {
            who: &who,
            permissions: &permissions,
            allowed: Allowed::ReleaseManager,
            doing: format!("marking {name} released"),
        },
    )
    .await?;
    let reason = bounded("reason", &body.reason, MAX_REASON_CHARS)?;
    if reason.is_empty() {
        return Err(ActionError::InvalidInput(format!(
            "a reason is required to mark {name} as released: say how it was released, for example \"tagged 1.2.0 by hand\""
        )));
    }
    let event = ComponentEvent::MarkedReleased {
        reason: reason.to_string(),
    };
    let transition = component::decide(component.state, &event)?;
    require_offered(&release, &component, ComponentAction::MarkReleased)?;

    // Checked before anything changes, moved after the component: the worker leaves a failed
    // release alone, whereas a deploying one whose component is still failed would be judged
    // stalled and failed again.
    if release.state == MainReleaseState::Failed {
        main_release::decide(release.state, &MainReleaseEvent::Retry)?;
    }
    move_component(&store, &component, transition, &actor).await?;
    store
        .set_component_released_by(component.id, &actor)
        .await?;
    // A failed release goes on once the component that stopped it is released.
    if release.state == MainReleaseState::Failed {
        reopen_release(&store, &release, MainReleaseEvent::Retry, &actor).await?;
    }
    nudge(jobs.get_ref(), Job::AdvanceRelease { release_id: id }).await;
    fresh_detail(&store, &settings, id).await
}

/// `POST /api/v1/releases/{id}/components/{name}/retry`: tries a failed component again.
#[utoipa::path(
    post,
    path = "/api/v1/releases/{id}/components/{name}/retry",
    summary = "Retry a failed component",
    tag = "components",
    params(("id" = i64, Path, description = "The release's id"), ("name" = String, Path, description = "The component's name, as in the Podfile")),
    responses(
        (status = 200, description = "The release as it is now", body = crate::views::ReleaseDetail),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::NotFound,
        crate::api::openapi::Conflict,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn retry_component(
    request: HttpRequest,
    path: web::Path<(i64, String)>,
    store: web::Data<Store>,
    jobs: web::Data<dyn Jobs>,
    settings: web::Data<ServerSettings>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ActionError> {
    let who = crate::auth::signed_in(&request)?;
    let (id, name) = path.into_inner();
    let actor = who.actor();
    let (release, component) = load_open(
        &store,
        id,
        &name,
        "retry",
        Ask {
            who: &who,
            permissions: &permissions,
            allowed: Allowed::Owner,
            doing: format!("retrying {name}"),
        },
    )
    .await?;
    let transition = component::decide(component.state, &ComponentEvent::Retry)?;
    require_offered(&release, &component, ComponentAction::Retry)?;

    // Checked before anything changes, moved after the component (see mark_released).
    if release.state == MainReleaseState::Failed {
        main_release::decide(release.state, &MainReleaseEvent::Retry)?;
    }
    move_component(&store, &component, transition, &actor).await?;
    if release.state == MainReleaseState::Failed {
        reopen_release(&store, &release, MainReleaseEvent::Retry, &actor).await?;
    }
    nudge(jobs.get_ref(), Job::AdvanceRelease { release_id: id }).await;
    fresh_detail(&store, &settings, id).await
}

/// `POST /api/v1/releases/{id}/components/{name}/cancel`: cancels one component (what depends
/// on it is then blocked).
#[utoipa::path(
    post,
    path = "/api/v1/releases/{id}/components/{name}/cancel",
    summary = "Cancel one component",
    tag = "components",
    params(("id" = i64, Path, description = "The release's id"), ("name" = String, Path, description = "The component's name, as in the Podfile")),
    responses(
        (status = 200, description = "The release as it is now", body = crate::views::ReleaseDetail),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::NotFound,
        crate::api::openapi::Conflict,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn cancel_component(
    request: HttpRequest,
    path: web::Path<(i64, String)>,
    store: web::Data<Store>,
    jobs: web::Data<dyn Jobs>,
    settings: web::Data<ServerSettings>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ActionError> {
    let who = crate::auth::signed_in(&request)?;
    let (id, name) = path.into_inner();
    let actor = who.actor();
    let (release, component) = load_open(
        &store,
        id,
        &name,
        "cancel",
        Ask {
            who: &who,
            permissions: &permissions,
            allowed: Allowed::ReleaseManager,
            doing: format!("canceling {name}"),
        },
    )
    .await?;
    let transition = component::decide(component.state, &ComponentEvent::Cancel)?;
    require_offered(&release, &component, ComponentAction::Cancel)?;
    move_component(&store, &component, transition, &actor).await?;
    nudge(jobs.get_ref(), Job::AdvanceRelease { release_id: id }).await;
    fresh_detail(&store, &settings, id).await
}
