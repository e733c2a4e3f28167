//! The API's OpenAPI 3.1 document (`GET /api/v1/openapi.json`) and the page that shows it
//! (`GET /api/v1/docs`).
//!
//! Every handler carries its own `#[utoipa::path]`; [`ApiDoc`] lists them. A test checks that
//! every route in [`super::ROUTES`] is in the document with the same method, so a new route
//! without a description fails it.
//!
//! The page is `utoipa-scalar`'s, with one change: its HTML loads Scalar's script from a CDN,
//! which Convoy's `script-src 'self'` forbids (and which may be unreachable), so the page loads
//! the copy embedded in the binary (`frontend/vendor/scalar/`), served by `/assets/`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderValue};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder, Server};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};
use utoipa_scalar::Scalar;

use super::errors::ErrorBody;
use crate::auth::identity::SESSION_COOKIE;

/// Where the document is served, and where the page that shows it is.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";
pub const PAGE_PATH: &str = "/api/v1/docs";

/// The names of the security schemes, as operations refer to them.
pub const BEARER: &str = "bearer";
pub const SESSION: &str = "session";
pub const CSRF: &str = "csrf";
pub const WEBHOOK_TOKEN: &str = "gitlab_token";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Convoy",
        description = "Release many components of one app together, in dependency order, through GitLab.\n\nEvery error answer is `{\"error\": \"…\"}` with a sentence that says what to do. Reads need a signed-in session or a personal API token (or an anonymous-read Convoy); a change made with the session cookie must carry the session's CSRF token in `X-CSRF-Token`."
    ),
    paths(
        super::releases::create_release,
        super::releases::list_releases,
        super::releases::get_release,
        super::releases::release_events,
        super::releases::release_notifications,
        super::releases::my_permissions,
        super::releases::deploy_release,
        super::releases::retry_release,
        super::releases::cancel_release,
        super::components::set_version,
        super::components::deploy_component,
        super::components::mark_reviewed,
        super::components::mark_released,
        super::components::retry_component,
        super::components::cancel_component,
        super::tokens::create_token,
        super::tokens::list_tokens,
        super::tokens::revoke_token,
        super::tokens::list_every_token,
        super::tokens::revoke_any_token,
        super::audit::list_audit,
        crate::webhooks::gitlab_webhook,
        crate::health::health_check,
        crate::health::ready,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "releases", description = "Main releases: start, list, follow, deploy, retry, cancel"),
        (name = "components", description = "One component release inside a main release"),
        (name = "tokens", description = "Personal API tokens of the signed-in person"),
        (name = "audit", description = "Every change attempted through the API, refused or not"),
        (name = "webhooks", description = "GitLab's webhook deliveries"),
        (name = "probes", description = "Liveness and readiness, for load balancers and containers"),
    )
)]
pub struct ApiDoc;

/// The security schemes: the dashboard's session cookie with its CSRF header, personal API
/// tokens (and the bootstrap token) as bearer tokens, and GitLab's webhook secret.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A personal API token (`convoy_…`, dashboard > API tokens) or the bootstrap admin token",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The session cookie set by signing in with GitLab (`/auth/sign-in`)",
            ))),
        );
        components.add_security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's CSRF token (in the `csrf-token` meta tag of every page): needed with the session cookie on every change",
            ))),
        );
        components.add_security_scheme(
            WEBHOOK_TOKEN,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Gitlab-Token",
                "The webhook secret Convoy was configured with (CONVOY_WEBHOOK_SECRET), sent by GitLab",
            ))),
        );
        openapi.servers = Some(vec![Server::new("/")]);
    }
}

/// The document, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);
    &DOCUMENT
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// The page's HTML: `utoipa-scalar`'s, with Scalar's script taken from Convoy itself.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    Scalar::new(document().clone())
        .custom_html(PAGE_HTML)
        .to_html()
});

/// Like `utoipa-scalar`'s own HTML (`res/scalar.html`), but without the CDN: the document goes
/// into a JSON data block, which is not a script and so passes `script-src 'self'`.
const PAGE_HTML: &str = r#"<!doctype html>
<html>
<head>
    <title>Convoy API</title>
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1"/>
    <link rel="icon" href="data:,"/>
</head>
<body>
<script id="api-reference" type="application/json" data-configuration="{&quot;withDefaultFonts&quot;:false}">
$spec
</script>
<script src="/assets/vendor/scalar/standalone.js"></script>
</body>
</html>
"#;

/// The Content-Security-Policy of the page. As strict as every other page's but for styles:
/// Scalar (a Vue application) puts its styles into `<style>` elements and `style` attributes
/// at run time, which `style-src 'self'` blocks and would leave the page unreadable (a nonce,
/// which Scalar reads from `<meta property="csp-nonce">`, covers only its first `<style>`
/// element: Chromium still blocked its `style` attributes). Scripts stay `'self'` only; the
/// page holds nothing secret and makes no change.
pub const PAGE_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `GET /api/v1/docs`: the browsable page.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CONTENT_SECURITY_POLICY),
        ))
        .body(PAGE.as_str())
}

/// An error answer: `{"error": "…"}`.
fn error(description: &str) -> RefOr<Response> {
    error_answer(description).into()
}

fn error_answer(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                ErrorBody::name(),
            ))))
            .build(),
    )
}

fn responses(list: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    list.iter()
        .map(|(status, description)| (status.to_string(), error(description)))
        .collect()
}

/// What any API request may be answered before it reaches its handler.
pub struct Refusals;

impl IntoResponses for Refusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[
            (
                "401",
                "Not signed in, or the bearer token is unknown, expired or revoked",
            ),
            (
                "403",
                "The caller may not do this (role, read-only token, missing CSRF token)",
            ),
            (
                "421",
                "The Host header is not this Convoy's (CONVOY_PUBLIC_URL, or loopback)",
            ),
            ("500", "Convoy failed inside; the cause is in its log"),
        ])
    }
}

/// What a change may be answered before it reaches its handler (`crate::limits`).
pub struct TooManyChanges;

impl IntoResponses for TooManyChanges {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let retry_after = HeaderBuilder::new()
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1)),
            ))
            .description(Some("Seconds until the caller may change something again"))
            .build();
        let answer = error_answer(
            "The caller asked for more changes than its allowance (CONVOY_CHANGES_PER_MINUTE)",
        )
        .header("Retry-After", retry_after);
        BTreeMap::from([("429".to_string(), answer.into())])
    }
}

/// A path naming no release, token or component (ids are whole numbers).
pub struct NotFound;

impl IntoResponses for NotFound {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[("404", "No such release, component or token")])
    }
}

/// Query parameters out of range or of the wrong type.
pub struct BadQuery;

impl IntoResponses for BadQuery {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[(
            "400",
            "A query parameter is not valid; the sentence names it",
        )])
    }
}

/// A JSON body that is not what the endpoint expects.
pub struct BadBody;

impl IntoResponses for BadBody {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[
            (
                "400",
                "The body is not the JSON this endpoint expects, or a field breaks a rule",
            ),
            ("408", "The body did not arrive within 10 s of the headers"),
            ("413", "The body is larger than 1 MB"),
            ("415", "The body is not sent as `application/json`"),
        ])
    }
}

/// The action is not allowed in the release's or component's state now.
pub struct Conflict;

impl IntoResponses for Conflict {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[(
            "409",
            "Not allowed in the current state, nothing to do, the release changed meanwhile, or (retry) another release of its app and ref is active",
        )])
    }
}
