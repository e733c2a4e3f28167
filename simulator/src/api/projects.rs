//! `GET /user`, `GET /version`, `GET /projects` and `GET /projects/:id`.

use serde_json::{Value, json};

use super::{ApiRequest, Reply, paginate};
use crate::error::ApiError;
use crate::world::{USER_EMAIL, USER_ID, USER_NAME, USER_USERNAME, World, api_time};

pub(super) fn user(world: &World) -> Reply {
    Reply::ok(json!({
        "id": USER_ID,
        "username": USER_USERNAME,
        "name": USER_NAME,
        "state": "active",
        "locked": false,
        "avatar_url": null,
        "web_url": format!("{}/{USER_USERNAME}", world.base_url),
        "email": USER_EMAIL,
        "public_email": USER_EMAIL,
        "is_admin": true,
        "bot": false,
        "created_at": "2024-01-01T00:00:00.000Z",
    }))
}

/// The user as other objects embed it (author, merged_by...).
pub(crate) fn user_json(world: &World) -> Value {
    json!({
        "id": USER_ID,
        "username": USER_USERNAME,
        "name": USER_NAME,
        "state": "active",
        "avatar_url": null,
        "web_url": format!("{}/{USER_USERNAME}", world.base_url),
    })
}

pub(super) fn version() -> Reply {
    Reply::ok(
        json!({ "version": "17.8.0-sim", "revision": "convoy-simulator", "kas": { "enabled": false }, "enterprise": false }),
    )
}

pub(super) fn list(world: &mut World, request: &ApiRequest) -> Result<Reply, ApiError> {
    let search = request.param("search").map(str::to_ascii_lowercase);
    let items: Vec<Value> = world
        .projects
        .iter()
        .filter(|p| {
            search
                .as_ref()
                .is_none_or(|s| p.path.to_ascii_lowercase().contains(s))
        })
        .map(|p| project_json(world, p.id))
        .collect();
    Ok(paginate(request, items))
}

pub(super) fn get(
    world: &mut World,
    request: &ApiRequest,
    project: u64,
) -> Result<Reply, ApiError> {
    if request.method != actix_web::http::Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    Ok(Reply::ok(project_json(world, project)))
}

pub(crate) fn project_json(world: &World, id: u64) -> Value {
    let project = world.project(id);
    let web_url = world.web_url(id);
    let namespace = project.namespace();
    json!({
        "id": project.id,
        "description": "",
        "name": project.name(),
        "name_with_namespace": format!("{} / {}", namespace, project.name()),
        "path": project.name(),
        "path_with_namespace": project.path,
        "created_at": api_time(&project.created_at),
        "last_activity_at": api_time(&project.created_at),
        "default_branch": project.default_branch,
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": format!("git@simulator:{}.git", project.path),
        "http_url_to_repo": format!("{web_url}.git"),
        "web_url": web_url,
        "readme_url": null,
        "avatar_url": null,
        "forks_count": 0,
        "star_count": 0,
        "namespace": {
            "id": id + 1000,
            "name": namespace,
            "path": namespace,
            "kind": "group",
            "full_path": namespace,
            "parent_id": null,
            "avatar_url": null,
            "web_url": format!("{}/groups/{namespace}", world.base_url),
        },
        "visibility": project.visibility.as_str(),
        "archived": false,
        "empty_repo": false,
        "issues_enabled": true,
        "merge_requests_enabled": true,
        "jobs_enabled": true,
        "builds_access_level": "enabled",
        "repository_access_level": "enabled",
        "merge_requests_access_level": "enabled",
        "merge_method": project.merge_method.as_str(),
        "only_allow_merge_if_pipeline_succeeds": project.only_allow_merge_if_pipeline_succeeds,
        "allow_merge_on_skipped_pipeline": project.allow_merge_on_skipped_pipeline,
        "remove_source_branch_after_merge": project.remove_source_branch_after_merge,
        "ci_config_path": "",
        "creator_id": USER_ID,
        "permissions": { "project_access": { "access_level": 40, "notification_level": 3 }, "group_access": null },
    })
}
