//! Personal API tokens, for scripts and CI: `POST /api/v1/tokens` creates one and shows its
//! secret once; `GET /api/v1/tokens` lists the caller's tokens (never a secret);
//! `DELETE /api/v1/tokens/{id}` revokes one. A token acts as its owner, with the owner's roles
//! (or only reads, when `read_only`). Only its SHA-256 digest is stored.
//!
//! Admins see every person's tokens (`GET /api/v1/admin/tokens`: never a secret nor a digest)
//! and revoke any of them (`DELETE /api/v1/admin/tokens/{id}`, in the audit log as "revoke
//! someone's token").

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::{DateTime, Utc};
use convoy_store::{ApiTokenRecord, NewApiToken, Store, StoreError, UserRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::errors::{INTERNAL_ERROR, error_response, log_internal};
use crate::auth::identity::TOKEN_PREFIX;
use crate::auth::secrets::{digest, random_secret};
use crate::auth::{AuthError, Identity, Need, Permissions, signed_in};

/// Tokens live at most this many days.
pub const MAX_DAYS: u32 = 366;
/// Names are at most this many characters.
const MAX_NAME_CHARS: usize = 100;

/// Why a token could not be created, listed or revoked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{0}")]
    InvalidInput(String),
    #[error("you have no live token {0}: list your tokens with GET /api/v1/tokens")]
    NotFound(i64),
    #[error("there is no live token {0}: list every token with GET /api/v1/admin/tokens")]
    NoLiveToken(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ResponseError for TokenError {
    fn status_code(&self) -> StatusCode {
        match self {
            TokenError::Auth(auth) => auth.status_code(),
            TokenError::InvalidInput(_) => StatusCode::BAD_REQUEST,
            TokenError::NotFound(_) | TokenError::NoLiveToken(_) => StatusCode::NOT_FOUND,
            TokenError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            TokenError::Store(cause) => {
                log_internal(cause);
                error_response(self.status_code(), INTERNAL_ERROR)
            }
            other => error_response(other.status_code(), other.to_string()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "release CI", "expires_in_days": 30, "read_only": false}))]
pub struct CreateTokenRequest {
    /// What uses the token, e.g. `release CI` (1 to 100 characters, not only spaces).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// Days until it expires (1 to 366, default 30).
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 366)]
    pub expires_in_days: Option<u32>,
    #[serde(default)]
    pub read_only: bool,
}

/// `expires_in_days` as a whole number. JSON has no integer type, so `30.0` is thirty, as JSON
/// Schema's `integer` says.
fn whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    use serde::de::Error;
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return Ok(None);
    };
    let whole = match (value.as_u64(), value.as_f64()) {
        (Some(whole), _) => u32::try_from(whole).ok(),
        (None, Some(float))
            if float.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&float) =>
        {
            Some(float as u32)
        }
        _ => None,
    };
    whole.map(Some).ok_or_else(|| {
        D::Error::custom(format!(
            "expires_in_days must be a whole number of days from 1 to {MAX_DAYS}, not {value}"
        ))
    })
}

/// A token as listed: everything but its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiTokenRecord> for TokenView {
    fn from(record: ApiTokenRecord) -> TokenView {
        TokenView {
            id: record.id,
            name: record.name,
            read_only: record.read_only,
            created_at: record.created_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
        }
    }
}

/// The answer to a creation: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub view: TokenView,
    pub token: String,
}

/// The person behind the caller; tokens belong to people, so the bootstrap token has none.
fn owner(request: &HttpRequest) -> Result<(Identity, UserRecord), TokenError> {
    let who = signed_in(request)?;
    let Some(user) = who.user.clone() else {
        return Err(AuthError::Forbidden(
            "personal API tokens belong to a person: sign in with GitLab to manage yours"
                .to_string(),
        )
        .into());
    };
    Ok((who, user))
}

/// `POST /api/v1/tokens`.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    summary = "Create a personal API token",
    tag = "tokens",
    request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "The token, with its secret: the only time it is shown", body = CreatedToken),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::BadBody,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn create_token(
    request: HttpRequest,
    body: web::Json<CreateTokenRequest>,
    store: web::Data<Store>,
) -> Result<HttpResponse, TokenError> {
    let (who, user) = owner(&request)?;
    if who.read_only {
        return Err(AuthError::Forbidden(
            "creating a token needs a token that may make changes: this token is read-only"
                .to_string(),
        )
        .into());
    }
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(TokenError::InvalidInput(format!(
            "a token needs a name of 1 to {MAX_NAME_CHARS} characters saying what uses it, for example \"release CI\""
        )));
    }
    let days = body.expires_in_days.unwrap_or(30);
    if days == 0 || days > MAX_DAYS {
        return Err(TokenError::InvalidInput(format!(
            "expires_in_days must be between 1 and {MAX_DAYS}: tokens always expire"
        )));
    }
    let secret = format!("{TOKEN_PREFIX}{}", random_secret());
    let expires_at = Utc::now() + chrono::Duration::days(i64::from(days));
    let id = store
        .create_api_token(&NewApiToken {
            secret_hash: &digest(&secret),
            user_id: user.id,
            name,
            read_only: body.read_only,
            expires_at,
        })
        .await?;
    let record = store
        .api_tokens_of(user.id)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| StoreError::NotFound(format!("api token {id}")))?;
    tracing::info!(username = %user.username, token_id = id, "personal API token created");
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(CreatedToken {
            view: TokenView::from(record),
            token: secret,
        }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

/// `GET /api/v1/tokens`: the caller's tokens, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    summary = "List the caller's tokens",
    tag = "tokens",
    responses(
        (status = 200, description = "The caller's tokens, newest first, without secrets", body = TokenList),
        crate::api::openapi::Refusals,
    ),
    security(("bearer" = []), ("session" = []), ())
)]
pub async fn list_tokens(
    request: HttpRequest,
    store: web::Data<Store>,
) -> Result<HttpResponse, TokenError> {
    let (_, user) = owner(&request)?;
    let tokens = store
        .api_tokens_of(user.id)
        .await?
        .into_iter()
        .map(TokenView::from)
        .collect();
    Ok(HttpResponse::Ok().json(TokenList { tokens }))
}

/// `DELETE /api/v1/tokens/{id}`: revokes one of the caller's tokens.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    summary = "Revoke a token",
    tag = "tokens",
    params(("id" = i64, Path, description = "The token's id, as listed")),
    responses(
        (status = 204, description = "Revoked"),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::NotFound,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn revoke_token(
    request: HttpRequest,
    path: web::Path<i64>,
    store: web::Data<Store>,
) -> Result<HttpResponse, TokenError> {
    let (who, user) = owner(&request)?;
    if who.read_only {
        return Err(AuthError::Forbidden(
            "revoking a token needs a token that may make changes: this token is read-only"
                .to_string(),
        )
        .into());
    }
    let id = path.into_inner();
    if !store.revoke_api_token(id, user.id).await? {
        return Err(TokenError::NotFound(id));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// At most this many tokens are listed for admins (newest first).
pub const MAX_LISTED: u32 = 1000;

/// A token as an admin sees it: whose it is and how it is used, never its secret or digest.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnedTokenView {
    pub id: i64,
    pub name: String,
    /// The person it acts as.
    pub owner: UserRecord,
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When it last authenticated a request (to the minute); `null` if never.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiTokenRecord> for OwnedTokenView {
    fn from(record: ApiTokenRecord) -> OwnedTokenView {
        OwnedTokenView {
            id: record.id,
            name: record.name,
            owner: record.user,
            read_only: record.read_only,
            created_at: record.created_at,
            expires_at: record.expires_at,
            last_used_at: record.last_used_at,
            revoked_at: record.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnedTokenList {
    pub tokens: Vec<OwnedTokenView>,
}

/// `GET /api/v1/admin/tokens`: every person's tokens, newest first (admins only).
#[utoipa::path(
    get,
    path = "/api/v1/admin/tokens",
    summary = "List every person's tokens (admins)",
    tag = "tokens",
    responses(
        (status = 200, description = "Every person's tokens, newest first (at most 1000), without secrets", body = OwnedTokenList),
        crate::api::openapi::Refusals,
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list_every_token(
    request: HttpRequest,
    store: web::Data<Store>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, TokenError> {
    let who = signed_in(&request)?;
    permissions.require_admin_to_read(&who, "listing every person's API tokens")?;
    let tokens = store
        .all_api_tokens(MAX_LISTED)
        .await?
        .into_iter()
        .map(OwnedTokenView::from)
        .collect();
    Ok(HttpResponse::Ok().json(OwnedTokenList { tokens }))
}

/// `DELETE /api/v1/admin/tokens/{id}`: revokes anyone's token (admins only).
#[utoipa::path(
    delete,
    path = "/api/v1/admin/tokens/{id}",
    summary = "Revoke anyone's token (admins)",
    tag = "tokens",
    params(("id" = i64, Path, description = "The token's id, as listed")),
    responses(
        (status = 204, description = "Revoked"),
        crate::api::openapi::Refusals,
        crate::api::openapi::TooManyChanges,
        crate::api::openapi::NotFound,
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn revoke_any_token(
    request: HttpRequest,
    path: web::Path<i64>,
    store: web::Data<Store>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, TokenError> {
    let who = signed_in(&request)?;
    let id = path.into_inner();
    permissions
        .require(
            &who,
            &Need::Admin {
                action: format!("revoking token {id} of another person"),
            },
        )
        .await?;
    if !store.revoke_any_api_token(id).await? {
        return Err(TokenError::NoLiveToken(id));
    }
    tracing::info!(token_id = id, by = %who.actor(), "API token revoked by an admin");
    Ok(HttpResponse::NoContent().finish())
}
