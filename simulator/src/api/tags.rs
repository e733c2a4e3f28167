//! Tags: create (400 `Tag X already exists` on a second try), get and list.

use actix_web::http::Method;
use serde_json::{Value, json};

use super::repository::commit_json;
use super::{ApiRequest, Reply, paginate};
use crate::error::ApiError;
use crate::world::{World, api_time};

pub(super) fn route(
    world: &mut World,
    request: &ApiRequest,
    project: u64,
    rest: &[&str],
) -> Result<Reply, ApiError> {
    match (&request.method, rest) {
        (&Method::GET, []) => Ok(list(world, request, project)),
        (&Method::POST, []) => create(world, request, project),
        // Tag names may come encoded (`release%2F1.0`) or not.
        (&Method::GET, name) => get(world, project, &name.join("/")),
        _ => Err(ApiError::no_route()),
    }
}

fn create(world: &mut World, request: &ApiRequest, project: u64) -> Result<Reply, ApiError> {
    let name = request.required("tag_name")?.to_string();
    let reference = request.required("ref")?.to_string();
    world.create_tag(
        project,
        &name,
        &reference,
        request.param("message").map(str::to_string),
    )?;
    Ok(Reply::created(tag_json(world, project, &name)))
}

fn get(world: &World, project: u64, name: &str) -> Result<Reply, ApiError> {
    if !world.project(project).tags.contains_key(name) {
        return Err(ApiError::not_found("Tag"));
    }
    Ok(Reply::ok(tag_json(world, project, name)))
}

fn list(world: &World, request: &ApiRequest, project: u64) -> Reply {
    let mut tags: Vec<&crate::world::Tag> = world.project(project).tags.values().collect();
    // GitLab lists the newest first by default.
    tags.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.name.cmp(&a.name))
    });
    let items = tags
        .iter()
        .map(|t| tag_json(world, project, &t.name))
        .collect();
    paginate(request, items)
}

fn tag_json(world: &World, project: u64, name: &str) -> Value {
    let tag = &world.project(project).tags[name];
    json!({
        "commit": commit_json(world, project, &tag.commit),
        "release": null,
        "name": tag.name,
        // An annotated tag's `target` is the tag object (lib/api/entities/tag.rb).
        "target": tag.object_sha.as_ref().unwrap_or(&tag.commit),
        "message": tag.message,
        "protected": false,
        "created_at": tag.message.as_ref().map(|_| api_time(&tag.created_at)),
    })
}
