//! Project hooks: add, list, get, edit, delete. The secret token is stored, never shown.

use actix_web::http::Method;
use serde_json::{Value, json};

use super::{ApiRequest, Reply, number, paginate};
use crate::error::ApiError;
use crate::world::{HookParams, World, api_time};

pub(super) fn route(
    world: &mut World,
    request: &ApiRequest,
    project: u64,
    rest: &[&str],
) -> Result<Reply, ApiError> {
    match (&request.method, rest) {
        (&Method::GET, []) => {
            let items = world
                .hooks
                .iter()
                .filter(|h| h.project_id == project)
                .map(|h| hook_json(world, h.id))
                .collect();
            Ok(paginate(request, items))
        }
        (&Method::POST, []) => {
            let params = hook_params(
                request,
                HookParams {
                    push_events: true,
                    enable_ssl_verification: true,
                    ..HookParams::default()
                },
            )?;
            let id = world.add_hook(project, params);
            Ok(Reply::created(hook_json(world, id)))
        }
        (&Method::GET, [id]) => {
            let index = world.find_hook(project, number(id, "Hook")?)?;
            Ok(Reply::ok(hook_json(world, world.hooks[index].id)))
        }
        (&Method::PUT, [id]) => {
            let index = world.find_hook(project, number(id, "Hook")?)?;
            let params = hook_params(request, world.hooks[index].params.clone())?;
            world.hooks[index].params = params;
            Ok(Reply::ok(hook_json(world, world.hooks[index].id)))
        }
        (&Method::DELETE, [id]) => {
            world.delete_hook(project, number(id, "Hook")?)?;
            Ok(Reply::no_content())
        }
        _ => Err(ApiError::no_route()),
    }
}

/// The hook settings from the request, over `base` (defaults on add, current ones on edit).
fn hook_params(request: &ApiRequest, base: HookParams) -> Result<HookParams, ApiError> {
    let flag = |name: &str, current: bool| match request.param(name) {
        Some(value) => super::truthy(value),
        None => current,
    };
    let url = match request.param("url") {
        Some(url) => url.to_string(),
        None if !base.url.is_empty() => base.url.clone(),
        None => return Err(ApiError::missing("url")),
    };
    if url::Url::parse(&url).is_err() {
        return Err(ApiError::new(
            422,
            json!({ "message": { "url": ["is blocked: Only allowed schemes are http, https"] } }),
        ));
    }
    Ok(HookParams {
        url,
        token: request.param("token").map(str::to_string).or(base.token),
        name: request.param("name").map(str::to_string).or(base.name),
        description: request
            .param("description")
            .map(str::to_string)
            .or(base.description),
        push_events: flag("push_events", base.push_events),
        tag_push_events: flag("tag_push_events", base.tag_push_events),
        merge_requests_events: flag("merge_requests_events", base.merge_requests_events),
        pipeline_events: flag("pipeline_events", base.pipeline_events),
        job_events: flag("job_events", base.job_events),
        enable_ssl_verification: flag("enable_ssl_verification", base.enable_ssl_verification),
    })
}

fn hook_json(world: &World, id: u64) -> Value {
    let hook = world
        .hooks
        .iter()
        .find(|h| h.id == id)
        .expect("hook ids come from the world");
    let p = &hook.params;
    json!({
        "id": hook.id,
        "url": p.url,
        "name": p.name,
        "description": p.description,
        "project_id": hook.project_id,
        "push_events": p.push_events,
        "push_events_branch_filter": "",
        "issues_events": false,
        "confidential_issues_events": false,
        "merge_requests_events": p.merge_requests_events,
        "tag_push_events": p.tag_push_events,
        "note_events": false,
        "confidential_note_events": false,
        "job_events": p.job_events,
        "pipeline_events": p.pipeline_events,
        "wiki_page_events": false,
        "deployment_events": false,
        "releases_events": false,
        "feature_flag_events": false,
        "enable_ssl_verification": p.enable_ssl_verification,
        "repository_update_events": false,
        "alert_status": "executable",
        "disabled_until": null,
        "url_variables": [],
        "created_at": api_time(&hook.created_at),
        "resource_access_token_events": false,
        "custom_webhook_template": null,
        "custom_headers": [],
    })
}
