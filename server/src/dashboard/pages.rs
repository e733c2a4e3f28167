//! The dashboard's HTML pages.

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use convoy_store::{Store, StoreError};
use serde::Deserialize;

use super::view::{EventRow, ReleaseRow, ReleaseView};
use crate::auth::reading::{Readable, readable_apps, require_reader};
use crate::auth::{AuthError, Permissions};
use crate::settings::ServerSettings;
use crate::views;

/// Releases per page of the list.
const PER_PAGE: u32 = 25;
/// Events read per query when rendering a timeline.
const EVENTS_BATCH: u32 = 500;
/// Every state a badge can show, in the order a release goes through them, for the legend.
const STATES: [&str; 11] = [
    "created",
    "analyzing",
    "waiting",
    "preparing",
    "pending",
    "skipped",
    "merged",
    "deploying",
    "success",
    "failed",
    "canceled",
];

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in (sent to sign in), or not allowed to read this (the sentence says why).
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{0}")]
    NotFound(String),
    #[error("the dashboard cannot read the database")]
    Store(#[from] StoreError),
    #[error("the page could not be rendered")]
    Render(#[from] askama::Error),
    #[error("the release could not be read")]
    Json(#[from] serde_json::Error),
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    message: &'a str,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Auth(auth) => auth.status_code(),
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let PageError::Auth(AuthError::NotSignedIn) = self {
            return crate::auth::guard::sign_in_page();
        }
        let sentence;
        let message = match self {
            PageError::NotFound(message) => message.as_str(),
            PageError::Auth(refusal) => {
                sentence = refusal.to_string();
                sentence.as_str()
            }
            other => {
                tracing::error!(error = ?other, "dashboard page failed");
                "Convoy could not show this page. Try again in a moment."
            }
        };
        let body = NotFoundPage { message }
            .render()
            .unwrap_or_else(|_| message.to_owned());
        HttpResponse::build(self.status_code())
            .content_type(ContentType::html())
            .body(body)
    }
}

pub(super) fn html(page: &impl Template) -> Result<HttpResponse, PageError> {
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(("Cache-Control", "no-store"))
        .body(page.render()?))
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "releases.html")]
struct ReleasesPage {
    rows: Vec<ReleaseRow>,
    page: u32,
    pages: u64,
    total: u64,
    newer_page: Option<u32>,
    older_page: Option<u32>,
    last_event_id: i64,
}

/// `GET /`: every release, newest first, paginated with `?page=`.
pub async fn releases(
    request: HttpRequest,
    store: web::Data<Store>,
    permissions: web::Data<Permissions>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, PageError> {
    let page = query.page.unwrap_or(1).max(1);
    // Read before the rows: a change recorded in between is pushed again, never lost.
    let last_event_id = store.last_event_id().await?;
    // Only the releases of apps the person may read (one role lookup per app, not per row).
    let apps = store.release_app_projects().await?;
    let (summaries, total) = match readable_apps(&request, &permissions, apps).await? {
        Readable::Everything => store.list_main_releases(page, PER_PAGE).await?,
        Readable::Apps(apps) => store.list_main_releases_of(&apps, page, PER_PAGE).await?,
    };
    let pages = total.div_ceil(u64::from(PER_PAGE)).max(1);
    html(&ReleasesPage {
        rows: summaries.iter().map(ReleaseRow::from).collect(),
        page,
        pages,
        total,
        newer_page: (page > 1).then(|| page - 1),
        older_page: (u64::from(page) < pages).then(|| page + 1),
        last_event_id,
    })
}

#[derive(Template)]
#[template(path = "new_release.html")]
struct NewReleasePage;

/// `GET /releases/new`: the form that starts a release (it posts to the JSON API).
pub async fn new_release() -> Result<HttpResponse, PageError> {
    html(&NewReleasePage)
}

#[derive(Template)]
#[template(path = "release.html")]
struct ReleasePage {
    release: ReleaseView,
    /// The release detail JSON for the page's script, safe inside a `<script>` element.
    release_json: String,
    events: Vec<EventRow>,
    notifications: views::NotificationLog,
    states: [&'static str; 11],
    last_event_id: i64,
}

/// `GET /releases/{id}`: the plan, the components, the actions and the timeline.
pub async fn release(
    request: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<ServerSettings>,
    permissions: web::Data<Permissions>,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    // Read before the release: the websocket sends everything after it, so nothing recorded
    // while this page renders is missed (some may be shown twice in the data, never in the log).
    let last_event_id = store.last_event_id().await?;
    let Some(detail) = views::release_detail(&store, &settings.forge_web_url, id).await? else {
        return Err(PageError::NotFound(format!("There is no release #{id}.")));
    };
    require_reader(&request, &permissions, &detail.app_project).await?;
    let json = serde_json::to_value(&detail)?;
    let release_json = serde_json::to_string(&json)?.replace('<', "\\u003c");
    let release: ReleaseView = serde_json::from_value(json)?;
    let events = timeline(&store, id, last_event_id).await?;
    let notifications = views::notification_log(&store, id).await?;
    html(&ReleasePage {
        release,
        release_json,
        events,
        notifications,
        states: STATES,
        last_event_id,
    })
}

/// The events of release `id` up to `last_event_id`, newest first.
async fn timeline(store: &Store, id: i64, last_event_id: i64) -> Result<Vec<EventRow>, PageError> {
    let mut rows = Vec::new();
    let mut after = 0;
    loop {
        let batch = store.events(id, after, EVENTS_BATCH).await?;
        let full = batch.len() == EVENTS_BATCH as usize;
        for event in batch.iter().filter(|event| event.id <= last_event_id) {
            rows.push(EventRow::from(event));
        }
        match batch.last() {
            Some(last) if full && last.id < last_event_id => after = last.id,
            _ => break,
        }
    }
    rows.reverse();
    Ok(rows)
}
