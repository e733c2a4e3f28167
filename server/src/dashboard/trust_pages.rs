//! The dashboard's trust pages: personal API tokens (`/tokens`) and the audit log (`/audit`).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use convoy_store::{AuditEntry, AuditFilter, Store};
use serde::Deserialize;

use super::pages::{PageError, html};
use crate::auth::reading::{AuditAsk, require_audit_reader};
use crate::auth::{Permissions, caller};

/// Entries per page of the audit page.
const PER_PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage;

/// `GET /tokens`: the page's script lists, creates and revokes through the API.
pub async fn tokens() -> Result<HttpResponse, PageError> {
    html(&TokensPage)
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct EveryTokenPage;

/// `GET /admin/tokens`: every person's tokens, for admins (the page's script lists and revokes
/// through the API); 403 with the sentence for anyone else.
pub async fn every_token(
    request: HttpRequest,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, PageError> {
    let who = crate::auth::signed_in(&request)?;
    permissions.require_admin_to_read(&who, "listing every person's API tokens")?;
    html(&EveryTokenPage)
}

#[derive(Deserialize)]
pub struct AuditPageQuery {
    person: Option<String>,
    action: Option<String>,
    release: Option<String>,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    entries: Vec<AuditEntry>,
    total: u64,
    person: String,
    action: String,
    release: String,
    page_link: String,
    newer_page: Option<u32>,
    older_page: Option<u32>,
}

/// `GET /audit?person=&action=&release=&page=`: newest first. Who may read which part is
/// `auth::reading::require_audit_reader`; someone who is not an admin and names neither a
/// release nor a person sees their own attempts.
pub async fn audit(
    request: HttpRequest,
    store: web::Data<Store>,
    permissions: web::Data<Permissions>,
    query: web::Query<AuditPageQuery>,
) -> Result<HttpResponse, PageError> {
    let text = |value: &Option<String>| value.as_deref().unwrap_or("").trim().to_string();
    let (mut person, action, release) = (
        text(&query.person),
        text(&query.action),
        text(&query.release),
    );
    let who = caller(&request);
    if person.is_empty()
        && release.is_empty()
        && let Some(who) = &who
        && !permissions.is_admin(who)
    {
        person = who.username().unwrap_or_default().to_string();
    }
    let page = query.page.unwrap_or(1).max(1);
    let filter = AuditFilter {
        release_id: release.parse().ok(),
        person: (!person.is_empty()).then(|| person.trim_start_matches('@').to_string()),
        action: (!action.is_empty()).then(|| action.clone()),
        page,
        per_page: PER_PAGE,
    };
    let release_app = match filter.release_id {
        Some(id) => store.release_app_project(id).await?,
        None => None,
    };
    let ask = AuditAsk {
        release_app: release_app.as_deref(),
        person: filter.person.as_deref(),
    };
    require_audit_reader(&request, &permissions, &ask).await?;
    let (entries, total) = store.audit_entries(&filter).await?;
    let pages = total.div_ceil(u64::from(PER_PAGE)).max(1);
    let mut link = url::form_urlencoded::Serializer::new(String::new());
    link.append_pair("person", &person)
        .append_pair("action", &action)
        .append_pair("release", &release);
    html(&AuditPage {
        entries,
        total,
        person,
        action,
        release,
        page_link: format!("/audit?{}", link.finish()),
        newer_page: (page > 1).then(|| page - 1),
        older_page: (u64::from(page) < pages).then(|| page + 1),
    })
}
