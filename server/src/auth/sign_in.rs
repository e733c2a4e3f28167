//! Sign in with GitLab: the OAuth 2 authorization code flow with PKCE (S256) and `state`, on
//! the `oauth2` crate. Its HTTP goes through our own reqwest client (rustls on aws-lc-rs), so
//! the crate's default reqwest 0.12 stays out of the build.
//!
//! `GET /auth/sign-in` leaves for GitLab; `GET /auth/callback` comes back, exchanges the code,
//! asks GitLab who the token belongs to and starts a session; `POST /auth/sign-out` ends it;
//! `GET /auth/me` tells the dashboard who is signed in and its CSRF token.

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use convoy_store::{Store, UserRecord};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::gitlab::{GitLabPeople, http_client};
use super::identity::{SESSION_COOKIE, Via, caller};
use super::secrets::{digest, random_secret, same};
use crate::settings::{ServerSettings, SignInSettings};

/// The cookie that ties a sign-in's `state` to the browser that started it (login CSRF).
const STATE_COOKIE: &str = "convoy_sign_in";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

type GitLabClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Registers the sign-in routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/sign-in", web::get().to(start))
        .route("/auth/callback", web::get().to(callback))
        .route("/auth/sign-out", web::post().to(sign_out))
        .route("/auth/me", web::get().to(me));
}

/// The address GitLab sends the browser back to.
fn redirect_uri(settings: &ServerSettings, request: &HttpRequest) -> String {
    match &settings.auth.public_url {
        Some(public) => format!("{}/auth/callback", public.trim_end_matches('/')),
        // Without a public URL the guard only lets loopback hosts in, so the Host header names
        // this server.
        None => {
            let info = request.connection_info();
            format!("{}://{}/auth/callback", info.scheme(), info.host())
        }
    }
}

fn oauth_client(sign_in: &SignInSettings, redirect: String) -> anyhow::Result<GitLabClient> {
    let base = sign_in.gitlab_url.trim_end_matches('/');
    Ok(BasicClient::new(ClientId::new(sign_in.client_id.clone()))
        .set_client_secret(ClientSecret::new(
            sign_in.client_secret.expose_secret().to_string(),
        ))
        .set_auth_uri(AuthUrl::new(format!("{base}/oauth/authorize"))?)
        .set_token_uri(TokenUrl::new(format!("{base}/oauth/token"))?)
        .set_redirect_uri(RedirectUrl::new(redirect)?))
}

fn page_error(status: actix_web::http::StatusCode, sentence: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(sentence.to_string())
}

fn not_configured() -> HttpResponse {
    page_error(
        actix_web::http::StatusCode::NOT_FOUND,
        "Sign-in with GitLab is not configured on this Convoy: set CONVOY_OAUTH_CLIENT_ID and CONVOY_OAUTH_CLIENT_SECRET (see the README)",
    )
}

/// `GET /auth/sign-in`: leaves for GitLab's authorization page.
async fn start(
    request: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<ServerSettings>,
) -> HttpResponse {
    let Some(sign_in) = &settings.auth.sign_in else {
        return not_configured();
    };
    let client = match oauth_client(sign_in, redirect_uri(&settings, &request)) {
        Ok(client) => client,
        Err(error) => return internal(&error),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read_user".to_string()))
        .set_pkce_challenge(challenge)
        .url();
    if let Err(error) = store
        .add_pending_sign_in(&digest(state.secret()), verifier.secret())
        .await
    {
        return internal(&error);
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.to_string()))
        .cookie(cookie(
            &settings,
            STATE_COOKIE,
            state.secret(),
            600,
            "/auth",
        ))
        .finish()
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback`: GitLab sent the browser back with a code.
async fn callback(
    request: HttpRequest,
    query: web::Query<CallbackQuery>,
    store: web::Data<Store>,
    settings: web::Data<ServerSettings>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let Some(sign_in) = &settings.auth.sign_in else {
        return not_configured();
    };
    if let Some(error) = &query.error {
        let detail = query.error_description.as_deref().unwrap_or(error);
        return page_error(
            StatusCode::BAD_REQUEST,
            &format!("GitLab did not sign you in ({detail}): go back to Convoy and sign in again"),
        );
    }
    let (Some(code), Some(state)) = (&query.code, &query.state) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            "This sign-in link is incomplete: start again from Convoy's Sign in link",
        );
    };
    let from_this_browser = request
        .cookie(STATE_COOKIE)
        .is_some_and(|c| same(c.value(), state));
    let verifier = match store.take_pending_sign_in(&digest(state)).await {
        Ok(found) => found,
        Err(error) => return internal(&error),
    };
    let (true, Some(verifier)) = (from_this_browser, verifier) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started in this browser or took too long: start again from Convoy's Sign in link",
        );
    };
    let user = match finish(sign_in, &settings, &request, code, verifier).await {
        Ok(user) => user,
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "sign-in with GitLab failed");
            return page_error(
                StatusCode::BAD_GATEWAY,
                "GitLab did not confirm who you are: sign in again, and if it keeps failing ask your Convoy admin to check the OAuth application",
            );
        }
    };
    let secret = random_secret();
    let expires = Utc::now() + chrono::Duration::hours(SESSION_HOURS);
    let created = async {
        store.upsert_user(&user).await?;
        store
            .create_session(&digest(&secret), user.id, &random_secret(), expires)
            .await
    };
    if let Err(error) = created.await {
        return internal(&error);
    }
    tracing::info!(username = %user.username, "signed in with GitLab");
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/"))
        .cookie(cookie(
            &settings,
            SESSION_COOKIE,
            &secret,
            SESSION_HOURS * 3600,
            "/",
        ))
        .cookie(cookie(&settings, STATE_COOKIE, "", 0, "/auth"))
        .finish()
}

/// Exchanges the code (with the PKCE verifier) and asks GitLab whose token it is.
async fn finish(
    sign_in: &SignInSettings,
    settings: &ServerSettings,
    request: &HttpRequest,
    code: &str,
    verifier: String,
) -> anyhow::Result<UserRecord> {
    let client = oauth_client(sign_in, redirect_uri(settings, request))?;
    let http = http_client()?;
    let send = |request: oauth2::HttpRequest| send_oauth_request(&http, request);
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&send)
        .await
        .map_err(|error| anyhow::anyhow!("the code exchange failed: {error}"))?;
    let people = GitLabPeople::new(&sign_in.gitlab_url, sign_in.service_token.clone())?;
    let user = people.user(token.access_token().secret()).await?;
    Ok(UserRecord {
        id: user.id,
        username: user.username,
        name: user.name,
    })
}

/// The error of our HTTP function for the `oauth2` crate.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct OauthHttpError(String);

/// Sends one of the `oauth2` crate's requests with reqwest.
async fn send_oauth_request(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, OauthHttpError> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| OauthHttpError(e.to_string()))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|e| OauthHttpError(e.to_string()))?;
    let mut answer = http::Response::builder()
        .status(status)
        .body(body.to_vec())
        .map_err(|e| OauthHttpError(e.to_string()))?;
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// `POST /auth/sign-out` (the guard checked its CSRF token): ends the session.
async fn sign_out(
    request: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<ServerSettings>,
) -> HttpResponse {
    if let Some(session) = request.cookie(SESSION_COOKIE)
        && let Err(error) = store.end_session(&digest(session.value())).await
    {
        return internal(&error);
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .cookie(cookie(&settings, SESSION_COOKIE, "", 0, "/"))
        .finish()
}

#[derive(Debug, Serialize)]
struct Me {
    signed_in: bool,
    sign_in_available: bool,
    username: Option<String>,
    name: Option<String>,
    /// Send it as `X-CSRF-Token` with every change made with the session cookie.
    csrf_token: Option<String>,
}

/// `GET /auth/me`: who this browser is signed in as.
async fn me(request: HttpRequest, settings: web::Data<ServerSettings>) -> HttpResponse {
    let identity = caller(&request);
    let csrf_token = identity.as_ref().and_then(|i| match &i.via {
        Via::Session { csrf_token, .. } => Some(csrf_token.clone()),
        _ => None,
    });
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Me {
            signed_in: identity.is_some(),
            sign_in_available: settings.auth.sign_in.is_some(),
            username: identity
                .as_ref()
                .and_then(|i| i.username().map(str::to_string)),
            name: identity
                .as_ref()
                .and_then(|i| i.user.as_ref().map(|u| u.name.clone())),
            csrf_token,
        })
}

/// An `HttpOnly`, `SameSite=Lax` cookie, `Secure` when Convoy is served over https.
fn cookie(
    settings: &ServerSettings,
    name: &'static str,
    value: &str,
    max_age_seconds: i64,
    path: &'static str,
) -> Cookie<'static> {
    let secure = settings
        .auth
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    Cookie::build(name, value.to_string())
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(time::Duration::seconds(max_age_seconds))
        .finish()
}

fn internal(error: &dyn std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %error, "sign-in failed inside Convoy");
    page_error(
        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
        crate::api::errors::INTERNAL_ERROR,
    )
}
