//! `GET /api/v1/audit?release=3&person=jose&action=mark%20released&page=1&per_page=50`: who tried
//! to change what, when, through which session or token, and what came of it (refusals too).
//! An admin reads all of it, a release manager one release of their app (`release=`), anyone
//! signed in their own attempts (`person=` their username): `auth::reading`.

use actix_web::{HttpRequest, HttpResponse, web};
use convoy_store::{AuditEntry, AuditFilter, Store};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::releases::{MAX_PER_PAGE, ReadError};
use crate::auth::Permissions;
use crate::auth::reading::{AuditAsk, require_audit_reader};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only attempts on this release.
    pub release: Option<i64>,
    /// Only attempts by this GitLab username (`@` optional).
    pub person: Option<String>,
    /// Only this action, e.g. `mark released`.
    pub action: Option<String>,
    /// The page, from 1 (the newest entries); default 1.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 4294967295_u64)]
    pub page: Option<u32>,
    /// Entries per page, 1 to 100; default 50.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

/// Newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    summary = "Read the audit log",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of the audit log, newest first", body = AuditList),
        crate::api::openapi::Refusals,
        crate::api::openapi::BadQuery,
    ),
    security(("bearer" = []), ("session" = []), ())
)]
pub async fn list_audit(
    request: HttpRequest,
    query: web::Query<AuditQuery>,
    store: web::Data<Store>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, ReadError> {
    let page = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(50);
    if page == 0 {
        return Err(ReadError::InvalidInput(
            "page starts at 1: ask for page=1 to see the newest entries".to_string(),
        ));
    }
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(ReadError::InvalidInput(format!(
            "per_page must be between 1 and {MAX_PER_PAGE}: ask for fewer entries per page"
        )));
    }
    let filter = AuditFilter {
        release_id: query.release,
        person: query
            .person
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| p.trim_start_matches('@').to_string()),
        action: query
            .action
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string),
        page,
        per_page,
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
    Ok(HttpResponse::Ok().json(AuditList {
        entries,
        page,
        per_page,
        total,
    }))
}
