//! The dashboard's trust pages: personal API tokens (`/tokens`) and the audit log (`/audit`).

use actix_web::{HttpResponse, web};
use askama::Template;
use convoy_store::{AuditEntry, AuditFilter, Store};
use serde::Deserialize;

use super::pages::{PageError, html};

/// Entries per page of the audit page.
const PER_PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage;

/// `GET /tokens`: the page's script lists, creates and revokes through the API.
pub async fn tokens() -> Result<HttpResponse, PageError> {
    html(&TokensPage)
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

/// `GET /audit?person=&action=&release=&page=`: newest first.
pub async fn audit(
    store: web::Data<Store>,
    query: web::Query<AuditPageQuery>,
) -> Result<HttpResponse, PageError> {
    let text = |value: &Option<String>| value.as_deref().unwrap_or("").trim().to_string();
    let (person, action, release) = (
        text(&query.person),
        text(&query.action),
        text(&query.release),
    );
    let page = query.page.unwrap_or(1).max(1);
    let filter = AuditFilter {
        release_id: release.parse().ok(),
        person: (!person.is_empty()).then(|| person.trim_start_matches('@').to_string()),
        action: (!action.is_empty()).then(|| action.clone()),
        page,
        per_page: PER_PAGE,
    };
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
