//! The caller of a request. It comes from exactly one of: a personal API token or the bootstrap
//! admin token (`Authorization: Bearer`), or a session cookie set when the person signed in with
//! GitLab. Nothing the request says about itself (a header naming an actor) counts.

use actix_web::{HttpMessage, HttpRequest};
use chrono::Utc;
use convoy_store::{Store, StoreError, UserRecord};
use secrecy::ExposeSecret;

use super::AuthError;
use super::secrets::{digest, same};
use crate::settings::ServerSettings;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "convoy_session";
/// Personal API tokens start with this, so a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "convoy_";

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Session {
        id: i64,
        csrf_token: String,
    },
    Token {
        id: i64,
        name: String,
    },
    /// `CONVOY_API_TOKEN`: the documented bootstrap admin token.
    Bootstrap,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The GitLab user; `None` for the bootstrap token.
    pub user: Option<UserRecord>,
    pub via: Via,
    /// A read-only personal token: may read, never change.
    pub read_only: bool,
}

impl Identity {
    /// The name recorded in the release event log: `José Núñez (@jose)`. A person's actor
    /// always ends in `(@username)`, so no person can pass for the worker (`convoy`).
    pub fn actor(&self) -> String {
        match &self.user {
            Some(user) => format!("{} (@{})", user.name, user.username),
            None => "bootstrap admin token".to_string(),
        }
    }

    /// How the identity was proven, for the audit log.
    pub fn via_text(&self) -> String {
        match &self.via {
            Via::Session { id, .. } => format!("session {id}"),
            Via::Token { id, name } => format!("token {id} ({name})"),
            Via::Bootstrap => "bootstrap token".to_string(),
        }
    }

    pub fn username(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.username.as_str())
    }
}

/// What the guard found out about the caller, kept in the request's extensions.
#[derive(Debug, Clone)]
pub struct Caller(pub Option<Identity>);

/// The caller of `request`, if authenticated.
pub fn caller(request: &HttpRequest) -> Option<Identity> {
    request
        .extensions()
        .get::<Caller>()
        .and_then(|caller| caller.0.clone())
}

/// The caller, or 401.
pub fn signed_in(request: &HttpRequest) -> Result<Identity, AuthError> {
    caller(request).ok_or(AuthError::NotSignedIn)
}

/// A bearer token that proves nothing: answered 401 with this sentence.
#[derive(Debug, thiserror::Error)]
pub enum BadToken {
    #[error(
        "this API token is not known to Convoy: create a personal API token on the Tokens page and send it as `Authorization: Bearer <token>`"
    )]
    Unknown,
    #[error("this API token was revoked: create a new one on the Tokens page")]
    Revoked,
    #[error("this API token has expired: create a new one on the Tokens page")]
    Expired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolves a bearer token: the bootstrap admin token or a personal API token.
pub async fn from_bearer(
    token: &str,
    store: &Store,
    settings: &ServerSettings,
) -> Result<Identity, BadToken> {
    if let Some(bootstrap) = &settings.auth.bootstrap_token
        && same(token, bootstrap.expose_secret())
    {
        return Ok(Identity {
            user: None,
            via: Via::Bootstrap,
            read_only: false,
        });
    }
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(BadToken::Unknown);
    }
    let record = store
        .api_token_by_hash(&digest(token))
        .await?
        .ok_or(BadToken::Unknown)?;
    if record.revoked_at.is_some() {
        return Err(BadToken::Revoked);
    }
    if record.expires_at <= Utc::now() {
        return Err(BadToken::Expired);
    }
    // Only for the admins' token list: a failure here must not refuse the request.
    if let Err(error) = store.note_api_token_used(record.id).await {
        tracing::warn!(%error, token_id = record.id, "could not note that a token was used");
    }
    Ok(Identity {
        user: Some(record.user),
        via: Via::Token {
            id: record.id,
            name: record.name,
        },
        read_only: record.read_only,
    })
}

/// Resolves a session cookie; `None` when it names no live session (expired, signed out).
pub async fn from_session(secret: &str, store: &Store) -> Result<Option<Identity>, StoreError> {
    Ok(store
        .session(&digest(secret))
        .await?
        .map(|session| Identity {
            user: Some(session.user),
            via: Via::Session {
                id: session.id,
                csrf_token: session.csrf_token,
            },
            read_only: false,
        }))
}

/// The bearer token of a request, if any.
pub fn bearer(request: &actix_web::dev::ServiceRequest) -> Option<String> {
    request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_string())
}
