//! GitLab REST v4 over HTTP. One actix handler takes every request, applies faults and
//! authentication, then routes on the raw path segments: project ids, file paths and branch
//! names arrive URL-encoded (`group%2Fapp`), so each segment is decoded after splitting.

mod files;
mod hooks;
mod members;
mod merge_requests;
mod notes;
pub(crate) mod oauth;
mod pipelines;
mod projects;
mod repository;
mod tags;
mod tokens;

use std::collections::BTreeMap;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde_json::Value;

use crate::error::ApiError;
use crate::faults::Roll;
use crate::shared::Shared;
use crate::world::World;

/// A request, decoded: method, path segments after `/api/v4`, and parameters from the query
/// string and the body (form or JSON; GitLab reads both, and the `gitlab` crate sends some GET
/// parameters as a body).
pub(crate) struct ApiRequest {
    pub method: Method,
    pub segments: Vec<String>,
    pub params: BTreeMap<String, String>,
    /// `http://host:port` as the client reached us, for `Link` headers.
    pub origin: String,
    /// The raw path, for `Link` headers.
    pub raw_path: String,
    pub query: Vec<(String, String)>,
}

impl ApiRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ApiError::missing(name))
    }

    pub fn flag(&self, name: &str) -> bool {
        self.param(name).is_some_and(truthy)
    }
}

/// Grape's boolean coercion: `true`, `True`, `1`, `yes`, `on`.
pub(crate) fn truthy(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on" | "t"
    )
}

/// An answer: status, body and extra headers.
pub(crate) struct Reply {
    pub status: u16,
    pub body: ReplyBody,
    pub headers: Vec<(String, String)>,
}

pub(crate) enum ReplyBody {
    Json(Value),
    Text(String),
    Empty,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: ReplyBody::Json(body),
            headers: Vec::new(),
        }
    }

    pub fn ok(body: Value) -> Reply {
        Reply::json(200, body)
    }

    pub fn created(body: Value) -> Reply {
        Reply::json(201, body)
    }

    pub fn text(body: String) -> Reply {
        Reply {
            status: 200,
            body: ReplyBody::Text(body),
            headers: Vec::new(),
        }
    }

    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            body: ReplyBody::Empty,
            headers: Vec::new(),
        }
    }

    fn into_response(self) -> HttpResponse {
        let status = actix_web::http::StatusCode::from_u16(self.status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut builder = HttpResponse::build(status);
        for (name, value) in self.headers {
            builder.insert_header((name, value));
        }
        match self.body {
            ReplyBody::Json(value) => builder
                .content_type("application/json")
                .body(value.to_string()),
            ReplyBody::Text(text) => builder.content_type("text/plain; charset=utf-8").body(text),
            ReplyBody::Empty => builder.finish(),
        }
    }
}

impl From<ApiError> for Reply {
    fn from(error: ApiError) -> Reply {
        Reply::json(error.status, error.body)
    }
}

/// `Gitlab::Throttle.rate_limiting_response_text` when no custom text is set
/// (`DEFAULT_RATE_LIMITING_RESPONSE_TEXT` plus a newline).
const GITLAB_RATE_LIMITING_RESPONSE_TEXT: &str = "Retry later\n";

/// The one actix handler.
pub(crate) async fn dispatch(
    request: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let path = request.uri().path().to_string();
    let rest = if let Some(rest) = path.strip_prefix("/api/v4/") {
        rest.to_string()
    } else if path == "/version" || path == "/api/v4/version" {
        "version".to_string()
    } else {
        return Reply::from(ApiError::no_route()).into_response();
    };
    if let Some(reply) = injected_fault(&shared, &rest).await {
        return reply.into_response();
    }
    // OAuth access tokens (sign-in with GitLab) reach only the user's own profile.
    if let Some(reply) = members::oauth_request(&request, &rest, &shared) {
        return reply.into_response();
    }
    if !authenticated(&request, &shared.token) {
        return Reply::from(ApiError::unauthorized()).into_response();
    }
    // `Gitlab::RackAttack` answers before the API sees the request.
    if let Some(headers) = shared.throttle.count() {
        let mut reply = Reply::text(GITLAB_RATE_LIMITING_RESPONSE_TEXT.to_string());
        reply.status = 429;
        reply.headers = headers;
        return reply.into_response();
    }
    let api_request = match parse_request(&request, &body, &rest) {
        Ok(api_request) => api_request,
        Err(error) => return Reply::from(error).into_response(),
    };
    shared.with_world(|world| count_request(world, &api_request));
    if let Some(reply) = members::member_request(&shared, &api_request) {
        return reply.into_response();
    }
    let reply = match shared.with_world(|world| route(world, &api_request)) {
        Ok(reply) => reply,
        Err(error) => Reply::from(error),
    };
    tracing::debug!(method = %api_request.method, path = %api_request.raw_path, status = reply.status, "GitLab API request");
    reply.into_response()
}

/// Counts an authenticated request for `WorldView::api_requests` (an observation of the
/// client, not a GitLab rule).
fn count_request(world: &mut World, request: &ApiRequest) {
    let method = &request.method;
    if method == Method::GET || method == Method::HEAD {
        world.api_requests.reads += 1;
    } else {
        world.api_requests.writes += 1;
    }
    *world
        .api_requests
        .by_endpoint
        .entry(format!("{method} /{}", endpoint(&request.segments)))
        .or_default() += 1;
}

/// The path with the project, ids and names replaced: `projects/:project/hooks/:n`.
fn endpoint(segments: &[String]) -> String {
    let mut shown: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let after = i.checked_sub(1).map(|j| segments[j].as_str());
        shown.push(match after {
            Some("projects") => ":project",
            Some("files" | "branches" | "tags" | "users") => ":name",
            _ if segment.chars().all(|c| c.is_ascii_digit()) => ":n",
            _ => segment,
        });
        if after == Some("files") {
            break;
        }
    }
    shown.join("/")
}

/// Latency, 429 and 500 faults, in that order.
async fn injected_fault(shared: &Shared, rest: &str) -> Option<Reply> {
    let latency = shared.faults.latency_ms();
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    if shared.faults.get().notes_unavailable && rest.contains("/notes") {
        return Some(Reply::from(ApiError::message(
            503,
            "503 Service Unavailable",
        )));
    }
    if shared.faults.roll(Roll::RateLimit) {
        let mut reply = Reply::from(ApiError::message(429, "429 Too Many Requests"));
        reply
            .headers
            .push(("Retry-After".to_string(), "1".to_string()));
        return Some(reply);
    }
    if shared.faults.roll(Roll::ServerError) {
        return Some(Reply::from(ApiError::message(
            500,
            "500 Internal Server Error",
        )));
    }
    None
}

fn authenticated(request: &HttpRequest, token: &str) -> bool {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    if header("PRIVATE-TOKEN") == Some(token) {
        return true;
    }
    header("Authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| given.trim() == token)
}

fn parse_request(request: &HttpRequest, body: &[u8], rest: &str) -> Result<ApiRequest, ApiError> {
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(request.query_string().as_bytes())
            .into_owned()
            .collect();
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in query.iter().cloned().chain(body_params(request, body)?) {
        // Rack reads `key[]=a&key[]=b` as an array: kept here comma-separated.
        match params.get_mut(&key) {
            Some(values) if key.ends_with("[]") => {
                values.push(',');
                values.push_str(&value);
            }
            _ => {
                params.insert(key, value);
            }
        }
    }
    let info = request.connection_info();
    Ok(ApiRequest {
        method: request.method().clone(),
        segments,
        params,
        origin: format!("{}://{}", info.scheme(), info.host()),
        raw_path: request.uri().path().to_string(),
        query,
    })
}

/// Form or JSON body parameters, flattened to strings.
fn body_params(request: &HttpRequest, body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let content_type = request
        .headers()
        .get("Content-Type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let looks_like_json = content_type.contains("json") || body.first() == Some(&b'{');
    if !looks_like_json {
        return Ok(url::form_urlencoded::parse(body).into_owned().collect());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request("400 Bad request - body is not valid JSON"))?;
    let Value::Object(map) = value else {
        return Ok(Vec::new());
    };
    Ok(map
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect())
}

/// Decodes `%XX` escapes (not `+`, which is literal in a path).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if bytes[i] == b'%'
            && let Some(byte) = escaped
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Routes a decoded request to its resource.
fn route(world: &mut World, request: &ApiRequest) -> Result<Reply, ApiError> {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    match segments.as_slice() {
        ["user"] => Ok(projects::user(world)),
        ["version"] => Ok(projects::version()),
        ["personal_access_tokens", "self"] => tokens::route(world, request),
        ["projects"] => projects::list(world, request),
        ["projects", id, rest @ ..] => {
            let project_id = world.find_project(id)?;
            route_project(world, request, project_id, rest)
        }
        _ => Err(ApiError::no_route()),
    }
}

fn route_project(
    world: &mut World,
    request: &ApiRequest,
    project: u64,
    rest: &[&str],
) -> Result<Reply, ApiError> {
    match rest {
        [] => projects::get(world, request, project),
        ["repository", "files", ..] => files::route(world, request, project, &rest[2..]),
        ["repository", "tags", ..] => tags::route(world, request, project, &rest[2..]),
        ["repository", ..] => repository::route(world, request, project, &rest[1..]),
        ["merge_requests", ..] => merge_requests::route(world, request, project, &rest[1..]),
        ["pipeline"] | ["pipelines", ..] | ["jobs", ..] => {
            pipelines::route(world, request, project, rest)
        }
        ["hooks", ..] => hooks::route(world, request, project, &rest[1..]),
        _ => Err(ApiError::no_route()),
    }
}

/// A numeric path segment, or 404 for `what`.
pub(crate) fn number(segment: &str, what: &str) -> Result<u64, ApiError> {
    segment.parse().map_err(|_| ApiError::not_found(what))
}

/// One page of a list, with GitLab's pagination headers (`X-Total`, `X-Next-Page`, `Link`...).
pub(crate) fn paginate(request: &ApiRequest, items: Vec<Value>) -> Reply {
    let per_page = request
        .param("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let page = request
        .param("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let total = items.len();
    let total_pages = total.div_ceil(per_page).max(1);
    let page_items: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut reply = Reply::ok(Value::Array(page_items));
    let next = (page < total_pages).then(|| page + 1);
    let prev = (page > 1).then(|| page - 1);
    let show = |p: Option<usize>| p.map(|p| p.to_string()).unwrap_or_default();
    reply.headers.extend([
        ("X-Total".to_string(), total.to_string()),
        ("X-Total-Pages".to_string(), total_pages.to_string()),
        ("X-Page".to_string(), page.to_string()),
        ("X-Per-Page".to_string(), per_page.to_string()),
        ("X-Next-Page".to_string(), show(next)),
        ("X-Prev-Page".to_string(), show(prev)),
    ]);
    let mut links = Vec::new();
    for (rel, target) in [
        ("prev", prev),
        ("next", next),
        ("first", Some(1)),
        ("last", Some(total_pages)),
    ] {
        if let Some(target) = target {
            links.push(format!(
                "<{}>; rel=\"{rel}\"",
                page_url(request, target, per_page)
            ));
        }
    }
    reply.headers.push(("Link".to_string(), links.join(", ")));
    reply
}

fn page_url(request: &ApiRequest, page: usize, per_page: usize) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in request
        .query
        .iter()
        .filter(|(k, _)| k != "page" && k != "per_page")
    {
        query.append_pair(key, value);
    }
    query.append_pair("page", &page.to_string());
    query.append_pair("per_page", &per_page.to_string());
    format!("{}{}?{}", request.origin, request.raw_path, query.finish())
}

/// Text content from the `content` parameter, honouring `encoding=base64`.
pub(crate) fn content_param(request: &ApiRequest) -> Result<String, ApiError> {
    let content = request.required("content")?;
    if request.param("encoding") == Some("base64") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(content.trim())
            .map_err(|_| ApiError::bad_request("content is not valid base64"))?;
        return String::from_utf8(bytes)
            .map_err(|_| ApiError::bad_request("the simulator stores text files only"));
    }
    Ok(content.to_string())
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn segments_are_decoded_after_splitting() {
        assert_eq!(percent_decode("group%2Fapp"), "group/app");
        assert_eq!(percent_decode("release%2F0.1.0"), "release/0.1.0");
        assert_eq!(percent_decode("a+b%20c"), "a+b c");
        assert_eq!(percent_decode("broken%2"), "broken%2");
    }
}
