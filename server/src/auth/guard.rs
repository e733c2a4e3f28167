//! The middleware every request passes through:
//!
//! 1. the Host header must name this Convoy (its public URL, or a loopback address when none is
//!    configured), against DNS rebinding;
//! 2. the caller is resolved from a bearer token or the session cookie (a bad token is 401);
//! 3. a change made with the session cookie must carry the session's CSRF token in
//!    `X-CSRF-Token` (a cross-site form cannot set a header), body-less POSTs included;
//! 4. without sign-in, only the bootstrap token changes anything, and reads are open only when
//!    anonymous access was allowed;
//! 5. every attempted change under `/api/v1` is written to the audit log with its outcome;
//! 6. security headers go on every answer.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use convoy_store::{NewAuditEntry, Store};

use super::identity::{self, Caller, Identity, SESSION_COOKIE, Via};
use super::secrets::same;
use crate::api::errors::error_response;
use crate::settings::ServerSettings;

/// The Content-Security-Policy of every page: scripts and styles only from Convoy itself (no
/// inline script), no framing, forms only to Convoy.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The middleware (see the module's doc).
pub async fn guard(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let settings = request
        .app_data::<web::Data<ServerSettings>>()
        .cloned()
        .expect("the settings are registered");
    let store = request
        .app_data::<web::Data<Store>>()
        .cloned()
        .expect("the store is registered");
    let response = match check(&request, &settings, &store).await {
        Ok(caller) => {
            request.extensions_mut().insert(Caller(caller.clone()));
            let audited = is_audited(&request);
            let response = next.call(request).await?.map_into_boxed_body();
            if audited {
                audit(&store, caller.as_ref(), response).await
            } else {
                response
            }
        }
        Err(refusal) => {
            let caller = refusal.caller.clone().map(|boxed| *boxed);
            let audited = is_audited(&request) && refusal.status == StatusCode::FORBIDDEN;
            let page = request.method() == Method::GET && !request.path().starts_with("/api/");
            let answer = if page && refusal.status == StatusCode::UNAUTHORIZED {
                sign_in_page()
            } else {
                error_response(refusal.status, refusal.sentence)
            };
            let response = request.into_response(answer);
            if audited {
                audit(&store, caller.as_ref(), response).await
            } else {
                response
            }
        }
    };
    Ok(with_security_headers(response))
}

/// A request stopped before any handler.
struct Refusal {
    status: StatusCode,
    sentence: String,
    /// Boxed: a refusal is rare, and keeps `Result<_, Refusal>` small.
    caller: Option<Box<Identity>>,
}

impl Refusal {
    fn new(status: StatusCode, sentence: impl Into<String>) -> Refusal {
        Refusal {
            status,
            sentence: sentence.into(),
            caller: None,
        }
    }
}

fn is_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn is_audited(request: &ServiceRequest) -> bool {
    is_change(request.method()) && request.path().starts_with("/api/v1/")
}

/// Steps 1 to 4.
async fn check(
    request: &ServiceRequest,
    settings: &ServerSettings,
    store: &Store,
) -> Result<Option<Identity>, Refusal> {
    // Probes (`/health_check`, `/ready`) and `/metrics` answer anyone at any host name, as load
    // balancers, container health checks and Prometheus need; they change nothing.
    if matches!(request.path(), "/health_check" | "/ready" | "/metrics") {
        return Ok(None);
    }
    check_host(request, settings)?;
    // GitLab's webhooks prove themselves with `X-Gitlab-Token`, checked by their handler.
    if request.path().starts_with("/webhooks/") {
        return Ok(None);
    }
    let caller = resolve(request, settings, store).await?;
    if let Some(Identity {
        via: Via::Session { csrf_token, .. },
        ..
    }) = &caller
        && is_change(request.method())
    {
        let given = request
            .headers()
            .get("X-CSRF-Token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !same(given, csrf_token) {
            return Err(Refusal {
                status: StatusCode::FORBIDDEN,
                sentence: "this change did not carry the page's CSRF token (a form on another site cannot make changes here): reload the Convoy page and try again".to_string(),
                caller: caller.clone().map(Box::new),
            });
        }
    }
    let open_read = settings.auth.allow_anonymous_reads || is_sign_in_path(request.path());
    if caller.is_none() && !is_change(request.method()) && !open_read {
        return Err(sign_in_required());
    }
    Ok(caller)
}

/// Paths anyone may reach: the sign-in flow itself and the assets its pages use, and the API's
/// description (it tells how to call Convoy, nothing about its releases).
fn is_sign_in_path(path: &str) -> bool {
    use crate::api::openapi::{DOCUMENT_PATH, PAGE_PATH};
    path.starts_with("/auth/")
        || path.starts_with("/assets/")
        || path == DOCUMENT_PATH
        || path == PAGE_PATH
}

/// The API answers 401 (pages are sent to sign in by `guard`).
fn sign_in_required() -> Refusal {
    Refusal::new(
        StatusCode::UNAUTHORIZED,
        super::AuthError::NotSignedIn.to_string(),
    )
}

async fn resolve(
    request: &ServiceRequest,
    settings: &ServerSettings,
    store: &Store,
) -> Result<Option<Identity>, Refusal> {
    if let Some(token) = identity::bearer(request) {
        return match identity::from_bearer(&token, store, settings).await {
            Ok(found) => Ok(Some(found)),
            Err(identity::BadToken::Store(error)) => {
                tracing::error!(%error, "could not look an API token up");
                Err(Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    crate::api::errors::INTERNAL_ERROR,
                ))
            }
            Err(bad) => Err(Refusal::new(StatusCode::UNAUTHORIZED, bad.to_string())),
        };
    }
    let Some(cookie) = request.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    identity::from_session(cookie.value(), store)
        .await
        .map_err(|error| {
            tracing::error!(%error, "could not look a session up");
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                crate::api::errors::INTERNAL_ERROR,
            )
        })
}

/// Step 1: the Host header must be this Convoy's (DNS rebinding sends a foreign one).
fn check_host(request: &ServiceRequest, settings: &ServerSettings) -> Result<(), Refusal> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let allowed = match &settings.auth.public_url {
        Some(public) => url::Url::parse(public)
            .ok()
            .and_then(|url| {
                let name = url.host_str()?.to_string();
                Some(match url.port() {
                    Some(port) => format!("{name}:{port}"),
                    None => name,
                })
            })
            .is_some_and(|expected| host.eq_ignore_ascii_case(&expected)),
        None => is_loopback_host(host),
    };
    if allowed {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this Convoy does not answer to the host \"{host}\": open it at its public URL (CONVOY_PUBLIC_URL)"
            ),
        ))
    }
}

/// A websocket upgrade from a browser must come from a Convoy page: its `Origin` must be this
/// server's own (browsers do not apply the same-origin policy to websockets, so a page on any
/// site could otherwise read the live feed with the visitor's cookie). Clients that are not
/// browsers send no `Origin`.
pub fn check_origin(request: &actix_web::HttpRequest) -> Result<(), actix_web::Error> {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    let info = request.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host());
    let public = request
        .app_data::<web::Data<ServerSettings>>()
        .and_then(|settings| settings.auth.public_url.clone())
        .map(|url| url.trim_end_matches('/').to_string());
    if origin == own || public.as_deref() == Some(origin) {
        Ok(())
    } else {
        Err(actix_web::error::InternalError::from_response(
            "foreign origin",
            error_response(
                StatusCode::FORBIDDEN,
                format!("the live feed only answers Convoy's own pages, not {origin}"),
            ),
        )
        .into())
    }
}

/// `localhost`, `127.x.x.x` or `[::1]`, with any port.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map(|(name, _)| name).unwrap_or(host)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Step 5: records the attempt and its outcome (the error's sentence when refused).
async fn audit(
    store: &Store,
    caller: Option<&Identity>,
    response: ServiceResponse<BoxBody>,
) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let (request, response) = response.into_parts();
    let (response, message) = if status.is_success() {
        (response, None)
    } else {
        let (head, body) = response.into_parts();
        let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
        let message = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string));
        (head.set_body(BoxBody::new(bytes)), message)
    };
    let (action, release_id, component) = describe(request.method(), request.path());
    let entry = NewAuditEntry {
        user_id: caller.and_then(|c| c.user.as_ref().map(|u| u.id)),
        actor: caller
            .map(Identity::actor)
            .unwrap_or_else(|| "anonymous".to_string()),
        via: caller
            .map(Identity::via_text)
            .unwrap_or_else(|| "anonymous".to_string()),
        action,
        method: request.method().to_string(),
        path: request.path().to_string(),
        release_id,
        component,
        status: status.as_u16(),
        message,
    };
    if let Err(error) = store.record_audit(&entry).await {
        tracing::error!(%error, "could not write the audit log");
    }
    ServiceResponse::new(request, response)
}

/// The action a change under `/api/v1` names, with its release and component.
pub fn describe(method: &Method, path: &str) -> (String, Option<i64>, Option<String>) {
    let segments: Vec<&str> = path
        .trim_start_matches("/api/v1/")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let release = |s: &str| s.parse::<i64>().ok();
    match segments.as_slice() {
        ["releases"] => ("start release".to_string(), None, None),
        ["releases", id, verb] => (format!("{verb} release"), release(id), None),
        ["releases", id, "components", name, verb] => {
            let action = match *verb {
                "version" => "set version",
                "reviewed" => "mark reviewed",
                "released" => "mark released",
                "deploy" => "deploy component",
                "retry" => "retry component",
                "cancel" => "cancel component",
                other => other,
            };
            (action.to_string(), release(id), Some((*name).to_string()))
        }
        ["tokens"] => ("create token".to_string(), None, None),
        ["tokens", _] if method == Method::DELETE => ("revoke token".to_string(), None, None),
        ["admin", "tokens", _] if method == Method::DELETE => {
            ("revoke someone's token".to_string(), None, None)
        }
        _ => (format!("{method} {path}"), None, None),
    }
}

/// Step 6.
fn with_security_headers(mut response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let headers = response.headers_mut();
    // A page that needs another policy sets its own, with its reason (the API's page:
    // `api::openapi::PAGE_CONTENT_SECURITY_POLICY`).
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

/// Where a page request that needs sign-in is sent.
pub fn sign_in_page() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/auth/sign-in"))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_pass_and_others_do_not() {
        for host in ["127.0.0.1:8080", "localhost", "[::1]:3000", "LOCALHOST:1"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:8080",
            "192.168.1.2",
            "",
            "127.0.0.1.evil.example",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn changes_are_named_by_their_path() {
        let (action, release, component) = describe(
            &Method::POST,
            "/api/v1/releases/4/components/StorageKit/released",
        );
        assert_eq!(action, "mark released");
        assert_eq!(release, Some(4));
        assert_eq!(component.as_deref(), Some("StorageKit"));
        assert_eq!(
            describe(&Method::POST, "/api/v1/releases/4/cancel").0,
            "cancel release"
        );
    }
}
