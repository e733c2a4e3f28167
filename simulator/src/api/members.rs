//! People in the REST API: `GET /user` for an OAuth access token (`lib/api/users.rb`, guarded by
//! `lib/api/api_guard.rb`), and `GET /projects/:id/members/all/:user_id` (`lib/api/members.rb`,
//! `Entities::Member`), which counts memberships inherited from groups too, and
//! `GET /groups/:id/members/all/:user_id` (the same `lib/api/members.rb` route for a group source,
//! counting memberships inherited from parent groups). The simulator finds groups by full path.

use actix_web::HttpRequest;
use serde_json::{Value, json};

use super::{ApiRequest, Reply, number};
use crate::error::ApiError;
use crate::shared::Shared;
use crate::world::users::User;

/// Answers a request made with an OAuth access token, or `None` when the bearer token is not
/// one (the service token is checked by the caller as before).
pub(crate) fn oauth_request(request: &HttpRequest, rest: &str, shared: &Shared) -> Option<Reply> {
    let token = request
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?
        .trim();
    let users = shared.users.lock().unwrap_or_else(|p| p.into_inner());
    let (user, scopes) = users.token_owner(token)?;
    let scopes: Vec<&str> = scopes.split(' ').collect();
    // `read_user` opens `GET /user` only (`lib/api/users.rb`: `allow_access_with_scope :read_user`);
    // anything else needs `api` or `read_api` (`lib/api/api_guard.rb` answers 403
    // `insufficient_scope`). The simulator answers only `/user` to OAuth tokens.
    if rest.trim_end_matches('/') == "user" && request.method() == actix_web::http::Method::GET {
        return Some(Reply::ok(user_json(user, &shared.base_url)));
    }
    Some(Reply::json(
        403,
        json!({
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": if scopes.contains(&"api") { "api" } else { "api read_api" },
        }),
    ))
}

/// `GET /users`, `GET /projects/:id/members/all/:user_id` and
/// `GET /groups/:id/members/all/:user_id`; `None` for any other path.
pub(crate) fn member_request(shared: &Shared, request: &ApiRequest) -> Option<Reply> {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    if segments == ["users"] && request.method == actix_web::http::Method::GET {
        return Some(users(shared, request));
    }
    if let (["users", id], &actix_web::http::Method::GET) = (segments.as_slice(), &request.method) {
        return Some(one_user(shared, id));
    }
    let (source, id, user_id) = match segments.as_slice() {
        ["projects", project, "members", "all", user_id] => ("projects", *project, *user_id),
        ["groups", group, "members", "all", user_id] => ("groups", *group, *user_id),
        _ => return None,
    };
    if request.method != actix_web::http::Method::GET {
        return Some(Reply::from(ApiError::method_not_allowed()));
    }
    let path = if source == "projects" {
        shared.with_world(|world| {
            world
                .find_project(id)
                .map(|id| world.project(id).path.clone())
        })
    } else {
        // `find_group!` answers `404 Group Not Found` (`lib/api/helpers.rb`).
        let users = shared.users.lock().unwrap_or_else(|p| p.into_inner());
        users
            .group(id)
            .map(str::to_string)
            .ok_or_else(|| ApiError::not_found("Group"))
    };
    let path = match path {
        Ok(path) => path,
        Err(error) => return Some(Reply::from(error)),
    };
    let user_id = match number(user_id, "User") {
        Ok(id) => id,
        Err(error) => return Some(Reply::from(error)),
    };
    let users = shared.users.lock().unwrap_or_else(|p| p.into_inner());
    let member = users
        .by_id(user_id)
        .and_then(|user| Some((user, users.access_level(&path, user_id)?)));
    // GitLab's `find_member` answers `404 Not found` (lowercase) when the user is no member.
    Some(match member {
        Some((user, level)) => {
            let mut body = user_json(user, &shared.base_url);
            body["access_level"] = json!(level.number());
            body["expires_at"] = Value::Null;
            body["membership_state"] = json!("active");
            Reply::ok(body)
        }
        None => Reply::from(ApiError::message(404, "404 Not found")),
    })
}

/// `GET /users` (`lib/api/users.rb`, `UsersFinder`): `username` matches one user exactly and
/// case-insensitively (`by_username`); `search` matches a username or name containing it, or
/// a whole public email (`User.search`: `search_with_public_emails`); neither lists everyone.
/// The administrator every API token acts as is not among the scenario's users.
fn users(shared: &Shared, request: &ApiRequest) -> Reply {
    let users = shared.users.lock().unwrap_or_else(|p| p.into_inner());
    let username = request.param("username").map(str::to_lowercase);
    let search = request.param("search").map(str::to_lowercase);
    let found: Vec<Value> = users
        .users
        .iter()
        .filter(|u| {
            username
                .as_ref()
                .is_none_or(|name| u.username.to_lowercase() == *name)
        })
        .filter(|u| {
            search.as_ref().is_none_or(|query| {
                u.username.to_lowercase().contains(query.as_str())
                    || u.name.to_lowercase().contains(query.as_str())
                    || u.public_email.as_ref().map(|e| e.to_lowercase()) == Some(query.clone())
            })
        })
        .map(|u| user_json(u, &shared.base_url))
        .collect();
    super::paginate(request, found)
}

/// `GET /users/:id` (`lib/api/users.rb`): `Entities::User`, which adds the profile to the
/// basic fields, `public_email` among them (`null` when the user shows none);
/// `not_found!('User')` for an unknown id.
fn one_user(shared: &Shared, id: &str) -> Reply {
    let id = match number(id, "User") {
        Ok(id) => id,
        Err(error) => return Reply::from(error),
    };
    let users = shared.users.lock().unwrap_or_else(|p| p.into_inner());
    match users.by_id(id) {
        Some(user) => {
            let mut body = user_json(user, &shared.base_url);
            body["public_email"] = json!(user.public_email);
            body["bio"] = json!("");
            body["location"] = json!("");
            body["created_at"] = json!("2024-01-01T00:00:00.000Z");
            Reply::ok(body)
        }
        None => Reply::from(ApiError::not_found("User")),
    }
}

/// `Entities::UserBasic`, the fields Convoy and most clients read.
fn user_json(user: &User, base_url: &str) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": "active",
        "locked": false,
        "avatar_url": Value::Null,
        "web_url": format!("{base_url}/{}", user.username),
    })
}
