//! The audit log: every change attempted through the API, who tried it (the authenticated
//! identity, never a name the caller chose), through which session or token, and what came of
//! it, refusals included.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Store, now, parse_time, time_text, unsigned};
use crate::error::StoreError;

/// One attempt to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub user_id: Option<i64>,
    pub actor: String,
    pub via: String,
    pub action: String,
    pub method: String,
    pub path: String,
    pub release_id: Option<i64>,
    pub component: Option<String>,
    pub status: u16,
    pub message: Option<String>,
}

/// One recorded attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub actor: String,
    pub via: String,
    pub action: String,
    pub method: String,
    pub path: String,
    pub release_id: Option<i64>,
    pub component: Option<String>,
    pub status: u16,
    pub message: Option<String>,
}

/// Which entries to list; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub release_id: Option<i64>,
    /// A GitLab username.
    pub person: Option<String>,
    pub action: Option<String>,
    pub page: u32,
    pub per_page: u32,
}

impl Store {
    pub async fn record_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO audit_log (created_at, user_id, actor, via, action, method, path, \
             release_id, component, status, message) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(time_text(now()))
        .bind(entry.user_id)
        .bind(&entry.actor)
        .bind(&entry.via)
        .bind(&entry.action)
        .bind(&entry.method)
        .bind(&entry.path)
        .bind(entry.release_id)
        .bind(entry.component.as_deref())
        .bind(i64::from(entry.status))
        .bind(entry.message.as_deref())
        .fetch_one(&self.writer)
        .await?)
    }

    /// One page of matching entries, newest first, and how many match in all.
    pub async fn audit_entries(
        &self,
        filter: &AuditFilter,
    ) -> Result<(Vec<AuditEntry>, u64), StoreError> {
        // Only the conditions asked for are added, each with its own placeholder.
        let mut conditions = Vec::new();
        let mut next = 1;
        if filter.release_id.is_some() {
            conditions.push(format!("release_id = ${next}"));
            next += 1;
        }
        if filter.person.is_some() {
            conditions.push(format!(
                "user_id IN (SELECT id FROM users WHERE username = ${next})"
            ));
            next += 1;
        }
        if filter.action.is_some() {
            conditions.push(format!("action = ${next}"));
            next += 1;
        }
        let clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let list_sql = format!(
            "SELECT * FROM audit_log{clause} ORDER BY id DESC LIMIT ${next} OFFSET ${}",
            next + 1
        );
        let count_sql = format!("SELECT COUNT(*) FROM audit_log{clause}");

        let mut list = sqlx::query(sqlx::AssertSqlSafe(list_sql));
        let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql));
        if let Some(release_id) = filter.release_id {
            list = list.bind(release_id);
            count = count.bind(release_id);
        }
        if let Some(person) = &filter.person {
            list = list.bind(person.clone());
            count = count.bind(person.clone());
        }
        if let Some(action) = &filter.action {
            list = list.bind(action.clone());
            count = count.bind(action.clone());
        }
        let per_page = i64::from(filter.per_page.max(1));
        let offset = i64::from(filter.page.max(1) - 1) * per_page;
        let rows = list
            .bind(per_page)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let total = count.fetch_one(&self.pool).await?;
        Ok((entries, unsigned(total, "count")?))
    }
}

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let status: i64 = row.try_get("status")?;
    Ok(AuditEntry {
        id: row.try_get("id")?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        user_id: row.try_get("user_id")?,
        actor: row.try_get("actor")?,
        via: row.try_get("via")?,
        action: row.try_get("action")?,
        method: row.try_get("method")?,
        path: row.try_get("path")?,
        release_id: row.try_get("release_id")?,
        component: row.try_get("component")?,
        status: u16::try_from(status)
            .map_err(|_| StoreError::Corrupt(format!("audit status {status}")))?,
        message: row.try_get("message")?,
    })
}
