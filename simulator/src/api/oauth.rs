//! GitLab as an OAuth 2 provider (Doorkeeper, configured in GitLab's
//! `config/initializers/doorkeeper.rb`; documented in `doc/api/oauth2.md`):
//!
//! - `GET /oauth/authorize` checks the client and redirect URI, then shows a sign-in page listing
//!   the scenario's users; each is a button (a form POST) that signs in and approves at once, as
//!   GitLab does for a trusted application (`skip_authorization { client.application.trusted? }`).
//! - `POST /oauth/authorize` records the grant and redirects to the client with `code` and `state`.
//! - `POST /oauth/token` exchanges a code (with PKCE) or a refresh token for an access token.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde_json::json;

use crate::shared::Shared;
use crate::world::users::{TokenError, User};

/// Registers the OAuth routes (outside `/api/v4`, as in GitLab's `config/routes.rb`).
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth/authorize", web::get().to(authorize_page))
        .route("/oauth/authorize", web::post().to(approve))
        .route("/oauth/token", web::post().to(token));
}

/// The scopes GitLab knows (`Gitlab::Auth::API_SCOPES` and friends, `lib/gitlab/auth.rb`).
const KNOWN_SCOPES: &[&str] = &[
    "api",
    "read_api",
    "read_user",
    "read_repository",
    "openid",
    "profile",
    "email",
];

/// An authorization request's parameters, as Doorkeeper's `PreAuthorization` reads them.
struct AuthorizeParams {
    client_id: String,
    redirect_uri: String,
    response_type: String,
    state: Option<String>,
    scope: String,
    code_challenge: Option<String>,
    code_challenge_method: String,
}

impl AuthorizeParams {
    fn from_pairs(pairs: &[(String, String)]) -> AuthorizeParams {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        AuthorizeParams {
            client_id: get("client_id").unwrap_or_default(),
            redirect_uri: get("redirect_uri").unwrap_or_default(),
            response_type: get("response_type").unwrap_or_default(),
            state: get("state"),
            // Doorkeeper falls back to the default scopes (`read_user`... GitLab: `api`); the
            // simulator asks clients to say what they want.
            scope: get("scope").unwrap_or_else(|| "read_user".to_string()),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method")
                .unwrap_or_else(|| "plain".to_string()),
        }
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("client_id", self.client_id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("response_type", self.response_type.clone()),
            ("scope", self.scope.clone()),
            ("code_challenge_method", self.code_challenge_method.clone()),
        ];
        if let Some(state) = &self.state {
            pairs.push(("state", state.clone()));
        }
        if let Some(challenge) = &self.code_challenge {
            pairs.push(("code_challenge", challenge.clone()));
        }
        pairs
    }
}

/// What is wrong with an authorization request. Doorkeeper shows an error page (no redirect)
/// when the client or the redirect URI cannot be trusted, and otherwise redirects back with
/// `error=…` (`Doorkeeper::OAuth::PreAuthorization#validate_*`).
enum AuthorizeProblem {
    Page(&'static str),
    Redirect(&'static str, &'static str),
}

fn check(shared: &Shared, params: &AuthorizeParams) -> Result<(), AuthorizeProblem> {
    let users = shared.users.lock().unwrap_or_else(|p| p.into_inner());
    let Some(application) = users.application(&params.client_id) else {
        return Err(AuthorizeProblem::Page(
            "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
        ));
    };
    if application.redirect_uri != params.redirect_uri {
        return Err(AuthorizeProblem::Page(
            "The redirect URI included is not valid.",
        ));
    }
    if params.response_type != "code" {
        return Err(AuthorizeProblem::Redirect(
            "unsupported_response_type",
            "The authorization server does not support this response type.",
        ));
    }
    if !params.scope.split(' ').all(|s| KNOWN_SCOPES.contains(&s)) {
        return Err(AuthorizeProblem::Redirect(
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed.",
        ));
    }
    if !matches!(params.code_challenge_method.as_str(), "S256" | "plain") {
        return Err(AuthorizeProblem::Redirect(
            "invalid_request",
            "The code_challenge_method must be one of S256, plain.",
        ));
    }
    Ok(())
}

fn problem_response(params: &AuthorizeParams, problem: AuthorizeProblem) -> HttpResponse {
    match problem {
        AuthorizeProblem::Page(message) => HttpResponse::BadRequest()
            .content_type("text/html; charset=utf-8")
            .body(page(
                "An error has occurred",
                &format!("<p>{}</p>", escape(message)),
            )),
        AuthorizeProblem::Redirect(error, description) => {
            let mut extra = vec![("error", error.to_string())];
            extra.push(("error_description", description.to_string()));
            if let Some(state) = &params.state {
                extra.push(("state", state.clone()));
            }
            redirect(&params.redirect_uri, &extra)
        }
    }
}

async fn authorize_page(request: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(request.query_string().as_bytes())
            .into_owned()
            .collect();
    let params = AuthorizeParams::from_pairs(&pairs);
    if let Err(problem) = check(&shared, &params) {
        return problem_response(&params, problem);
    }
    let users = shared.users.lock().unwrap_or_else(|p| p.into_inner());
    let hidden: String = params
        .pairs()
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(value)
            )
        })
        .collect();
    let buttons: String = users
        .users
        .iter()
        .map(|user| sign_in_button(user, &hidden))
        .collect();
    let body = format!(
        "<p>An application asks to use your account (scopes: {}). Sign in as:</p><ul>{buttons}</ul>",
        escape(&params.scope)
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page("Sign in to the GitLab simulator", &body))
}

fn sign_in_button(user: &User, hidden: &str) -> String {
    format!(
        "<li><form method=\"post\" action=\"/oauth/authorize\">{hidden}\
         <button type=\"submit\" name=\"username\" value=\"{username}\">{name} (@{username})</button>\
         </form></li>",
        username = escape(&user.username),
        name = escape(&user.name),
    )
}

/// The "Authorize" button: signs the chosen user in and approves the request.
async fn approve(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let params = AuthorizeParams::from_pairs(&pairs);
    if let Err(problem) = check(&shared, &params) {
        return problem_response(&params, problem);
    }
    let username = pairs
        .iter()
        .find(|(k, _)| k == "username")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let mut users = shared.users.lock().unwrap_or_else(|p| p.into_inner());
    let Some(user_id) = users.by_username(username).map(|u| u.id) else {
        return HttpResponse::UnprocessableEntity()
            .content_type("text/html; charset=utf-8")
            .body(page("Invalid login", "<p>Invalid login or password.</p>"));
    };
    let challenge = params
        .code_challenge
        .as_deref()
        .map(|c| (c, params.code_challenge_method.as_str()));
    let code = users.grant(
        &params.client_id,
        user_id,
        &params.redirect_uri,
        &params.scope,
        challenge,
    );
    let mut extra = vec![("code", code)];
    if let Some(state) = &params.state {
        extra.push(("state", state.clone()));
    }
    redirect(&params.redirect_uri, &extra)
}

/// `POST /oauth/token` (Doorkeeper's `TokensController#create`). Client credentials come from
/// HTTP Basic first, then from the parameters (Doorkeeper's default `client_credentials
/// :from_basic, :from_params`).
async fn token(request: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (client_id, client_secret) = basic_credentials(&request).unwrap_or_else(|| {
        (
            param("client_id").unwrap_or("").to_string(),
            param("client_secret").unwrap_or("").to_string(),
        )
    });
    let mut users = shared.users.lock().unwrap_or_else(|p| p.into_inner());
    let result = match param("grant_type") {
        Some("authorization_code") => users.exchange_code(
            &client_id,
            &client_secret,
            param("code").unwrap_or(""),
            param("redirect_uri").unwrap_or(""),
            param("code_verifier"),
        ),
        Some("refresh_token") => users.refresh(
            &client_id,
            &client_secret,
            param("refresh_token").unwrap_or(""),
        ),
        _ => {
            return HttpResponse::BadRequest().json(json!({
                "error": "unsupported_grant_type",
                "error_description": "The authorization grant type is not supported by the authorization server."
            }));
        }
    };
    match result {
        Ok(issued) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "refresh_token": issued.refresh_token,
                "scope": issued.scopes,
                "created_at": chrono::Utc::now().timestamp(),
            })),
        Err(TokenError::InvalidClient) => HttpResponse::Unauthorized().json(json!({
            "error": "invalid_client",
            "error_description": "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."
        })),
        Err(TokenError::InvalidGrant) => HttpResponse::BadRequest().json(json!({
            "error": "invalid_grant",
            "error_description": "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
        })),
    }
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 section 2.3.1).
fn basic_credentials(request: &HttpRequest) -> Option<(String, String)> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |part: &str| {
        url::form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

fn redirect(target: &str, params: &[(&str, String)]) -> HttpResponse {
    let mut url = match url::Url::parse(target) {
        Ok(url) => url,
        Err(_) => {
            return HttpResponse::BadRequest().body("The redirect URI included is not valid.");
        }
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.to_string()))
        .finish()
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    )
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
