//! People who signed in with GitLab, their sessions and personal API tokens, and sign-ins in
//! progress. The store never sees a secret: callers pass SHA-256 digests of cookies and tokens.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Store, flag, now, parse_flag, parse_optional_time, parse_time, time_text};
use crate::error::StoreError;

/// A GitLab user as Convoy last saw them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRecord {
    /// GitLab's user id.
    pub id: i64,
    pub username: String,
    pub name: String,
}

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: i64,
    pub user: UserRecord,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A personal API token (its secret is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiTokenRecord {
    pub id: i64,
    pub user: UserRecord,
    pub name: String,
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last authenticated a request (kept to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A new personal API token.
#[derive(Debug, Clone)]
pub struct NewApiToken<'a> {
    pub secret_hash: &'a str,
    pub user_id: i64,
    pub name: &'a str,
    pub read_only: bool,
    pub expires_at: DateTime<Utc>,
}

/// How long a sign-in may take between leaving for GitLab and coming back.
const SIGN_IN_LIFETIME_MINUTES: i64 = 10;

impl Store {
    /// Records (or refreshes) a user's username and name.
    pub async fn upsert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, username, name, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET username = excluded.username, name = excluded.name, \
             updated_at = excluded.updated_at",
        )
        .bind(user.id)
        .bind(&user.username)
        .bind(&user.name)
        .bind(time_text(now()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Remembers the PKCE verifier of a sign-in that left for GitLab with state `state_hash`.
    pub async fn add_pending_sign_in(
        &self,
        state_hash: &str,
        pkce_verifier: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pending_sign_ins (state_hash, pkce_verifier, created_at) VALUES ($1, $2, $3)",
        )
        .bind(state_hash)
        .bind(pkce_verifier)
        .bind(time_text(now()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Takes (once) the verifier of a recent sign-in; also forgets sign-ins nobody finished.
    pub async fn take_pending_sign_in(
        &self,
        state_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let oldest = time_text(now() - Duration::minutes(SIGN_IN_LIFETIME_MINUTES));
        sqlx::query("DELETE FROM pending_sign_ins WHERE created_at < $1")
            .bind(&oldest)
            .execute(&self.writer)
            .await?;
        Ok(sqlx::query_scalar(
            "DELETE FROM pending_sign_ins WHERE state_hash = $1 RETURNING pkce_verifier",
        )
        .bind(state_hash)
        .fetch_optional(&self.writer)
        .await?)
    }

    /// Starts a session for a user who signed in; returns its id.
    pub async fn create_session(
        &self,
        secret_hash: &str,
        user_id: i64,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO sessions (secret_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(secret_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(time_text(now()))
        .bind(time_text(expires_at))
        .fetch_one(&self.writer)
        .await?)
    }

    /// The live session with this cookie digest (not ended, not expired).
    pub async fn session(&self, secret_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT s.id, s.csrf_token, s.expires_at, u.id AS user_id, u.username, u.name \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.secret_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2",
        )
        .bind(secret_hash)
        .bind(time_text(now()))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SessionRecord {
                id: row.try_get("id")?,
                user: user_from_row(&row)?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at: parse_time(&row.try_get::<String, _>("expires_at")?)?,
            })
        })
        .transpose()
    }

    /// Signs a session out.
    pub async fn end_session(&self, secret_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET ended_at = $2 WHERE secret_hash = $1 AND ended_at IS NULL",
        )
        .bind(secret_hash)
        .bind(time_text(now()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Records a personal API token; returns its id.
    pub async fn create_api_token(&self, token: &NewApiToken<'_>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO api_tokens (secret_hash, user_id, name, read_only, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(token.secret_hash)
        .bind(token.user_id)
        .bind(token.name)
        .bind(flag(token.read_only))
        .bind(time_text(now()))
        .bind(time_text(token.expires_at))
        .fetch_one(&self.writer)
        .await?)
    }

    /// The token with this digest, whatever its state (the caller tells expired from revoked).
    pub async fn api_token_by_hash(
        &self,
        secret_hash: &str,
    ) -> Result<Option<ApiTokenRecord>, StoreError> {
        let row = sqlx::query(TOKEN_SELECT_BY_HASH)
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// A user's tokens, newest first.
    pub async fn api_tokens_of(&self, user_id: i64) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let rows = sqlx::query(TOKEN_SELECT_BY_USER)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Every person's tokens, newest first, at most `limit` (for the admins' list).
    pub async fn all_api_tokens(&self, limit: u32) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let rows = sqlx::query(TOKEN_SELECT_ALL)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes token `id` whoever owns it (an admin's doing); false when there is no such live
    /// token.
    pub async fn revoke_any_api_token(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(time_text(now()))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Notes that token `id` was just used. Written at most once a minute per token, so that a
    /// busy script does not turn every read into a write.
    pub async fn note_api_token_used(&self, id: i64) -> Result<(), StoreError> {
        let now = now();
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(id)
        .bind(time_text(now))
        .bind(time_text(now - Duration::minutes(1)))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Revokes token `id` of `user_id`; false when the user has no such live token.
    pub async fn revoke_api_token(&self, id: i64, user_id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(user_id)
        .bind(time_text(now()))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

const TOKEN_SELECT_BY_HASH: &str = "SELECT t.*, u.username, u.name AS user_name \
     FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.secret_hash = $1";
const TOKEN_SELECT_ALL: &str = "SELECT t.*, u.username, u.name AS user_name \
     FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id DESC LIMIT $1";
const TOKEN_SELECT_BY_USER: &str = "SELECT t.*, u.username, u.name AS user_name \
     FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.user_id = $1 ORDER BY t.id DESC";

fn user_from_row(row: &AnyRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        name: row.try_get("name")?,
    })
}

fn token_from_row(row: &AnyRow) -> Result<ApiTokenRecord, StoreError> {
    Ok(ApiTokenRecord {
        id: row.try_get("id")?,
        user: UserRecord {
            id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            name: row.try_get("user_name")?,
        },
        name: row.try_get("name")?,
        read_only: parse_flag(row.try_get("read_only")?),
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        expires_at: parse_time(&row.try_get::<String, _>("expires_at")?)?,
        revoked_at: parse_optional_time(row.try_get("revoked_at")?)?,
        last_used_at: parse_optional_time(row.try_get("last_used_at")?)?,
    })
}
