//! Who is calling and what they may do.
//!
//! - `identity`: the caller, from a session cookie, a personal API token or the bootstrap admin
//!   token; never from anything else the request says about itself.
//! - `guard`: the middleware that resolves the caller, checks the Host header and the CSRF
//!   token, adds security headers, and writes the audit log of every attempted change.
//! - `roles`: viewer, component owner, release manager and admin, from GitLab's own
//!   permissions (looked up with Convoy's service token, cached briefly).
//! - `reading`: who may read which releases and which part of the audit log.
//! - `sign_in`: signing in with GitLab (OAuth 2 authorization code flow with PKCE and `state`).
//! - `gitlab`: the two GitLab calls all this needs.
//! - `secrets`: random secrets and their digests.

pub mod gitlab;
pub mod guard;
pub mod identity;
pub mod reading;
pub mod roles;
pub mod secrets;
pub mod sign_in;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

pub use identity::{Identity, Via, caller, signed_in};
pub use roles::{Need, Permissions};

/// Why a caller may not do what they asked.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "sign in first: open Convoy in a browser and sign in with GitLab, or send a personal API token as `Authorization: Bearer <token>`"
    )]
    NotSignedIn,
    /// The sentence names the role needed.
    #[error("{0}")]
    Forbidden(String),
    #[error("Convoy could not check your role at GitLab: try again in a moment")]
    LookupFailed,
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            AuthError::NotSignedIn => StatusCode::UNAUTHORIZED,
            AuthError::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthError::LookupFailed => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        crate::api::errors::error_response(self.status_code(), self.to_string())
    }
}
