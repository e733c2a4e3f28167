//! Merge requests: list, create, get, merge (now or when the pipeline succeeds) and their
//! pipelines.

use actix_web::http::Method;
use serde_json::{Value, json};

use super::pipelines::pipeline_summary;
use super::projects::user_json;
use super::{ApiRequest, Reply, number, paginate};
use crate::error::ApiError;
use crate::world::{MergeOptions, MrState, World, api_time};

pub(super) fn route(
    world: &mut World,
    request: &ApiRequest,
    project: u64,
    rest: &[&str],
) -> Result<Reply, ApiError> {
    match (&request.method, rest) {
        (&Method::GET, []) => Ok(list(world, request, project)),
        (&Method::POST, []) => create(world, request, project),
        (&Method::GET, [iid]) => {
            let id = world.find_merge_request(project, number(iid, "Merge Request")?)?;
            Ok(Reply::ok(merge_request_json(world, id)))
        }
        (&Method::PUT, [iid]) => {
            let id = world.find_merge_request(project, number(iid, "Merge Request")?)?;
            world.update_merge_request(
                id,
                request.param("title"),
                request.param("description"),
                request.param("state_event"),
            )?;
            Ok(Reply::ok(merge_request_json(world, id)))
        }
        (&Method::PUT, [iid, "merge"]) => merge(world, request, project, iid),
        (&Method::POST, [iid, "cancel_merge_when_pipeline_succeeds"]) => {
            let id = world.find_merge_request(project, number(iid, "Merge Request")?)?;
            world.cancel_auto_merge(id)?;
            Ok(Reply::created(merge_request_json(world, id)))
        }
        (_, [iid, "notes", rest @ ..]) => {
            let id = world.find_merge_request(project, number(iid, "Merge Request")?)?;
            super::notes::route(world, request, id, rest)
        }
        (&Method::GET, [iid, "pipelines"]) => {
            let id = world.find_merge_request(project, number(iid, "Merge Request")?)?;
            Ok(pipelines(world, request, id))
        }
        (&Method::POST, [iid, "pipelines"]) => {
            let id = world.find_merge_request(project, number(iid, "Merge Request")?)?;
            // lib/api/merge_requests.rb: `allow_duplicate: true`, and `status :ok` (200).
            let pipeline = world.create_merge_request_pipeline(id, true)?;
            Ok(Reply::ok(super::pipelines::pipeline_json(world, pipeline)))
        }
        _ => Err(ApiError::no_route()),
    }
}

fn list(world: &World, request: &ApiRequest, project: u64) -> Reply {
    let state = request.param("state").unwrap_or("all");
    let items = world
        .merge_requests
        .iter()
        .rev()
        .filter(|mr| mr.project_id == project)
        .filter(|mr| state == "all" || mr.state.as_str() == state)
        .filter(|mr| {
            request
                .param("source_branch")
                .is_none_or(|b| mr.source_branch == b)
        })
        .filter(|mr| {
            request
                .param("target_branch")
                .is_none_or(|b| mr.target_branch == b)
        })
        .map(|mr| merge_request_json(world, mr.id))
        .collect();
    paginate(request, items)
}

fn create(world: &mut World, request: &ApiRequest, project: u64) -> Result<Reply, ApiError> {
    let source = request.required("source_branch")?.to_string();
    let target = request.required("target_branch")?.to_string();
    let title = request.required("title")?.to_string();
    let description = request.param("description").unwrap_or("").to_string();
    let remove_source_branch = request
        .param("remove_source_branch")
        .map(|_| request.flag("remove_source_branch"));
    let iid = world.create_merge_request(
        project,
        &source,
        &target,
        &title,
        &description,
        remove_source_branch,
    )?;
    let id = world.find_merge_request(project, iid)?;
    world.set_assignees(id, assignee_ids(request)?);
    Ok(Reply::created(merge_request_json(world, id)))
}

/// `assignee_ids` (`lib/api/merge_requests.rb`: `optional :assignee_ids, type: Array[Integer],
/// coerce_with: CommaSeparatedToIntegerArray`), sent as `assignee_ids[]=2&assignee_ids[]=3`, a JSON array, or comma-separated). `0` means
/// nobody (`IssuableBaseService`'s `assignee_ids: [0]` unassigns).
fn assignee_ids(request: &ApiRequest) -> Result<Vec<u64>, ApiError> {
    let Some(text) = request
        .param("assignee_ids[]")
        .or_else(|| request.param("assignee_ids"))
    else {
        return Ok(Vec::new());
    };
    let mut ids = Vec::new();
    for part in text.trim_matches(|c| c == '[' || c == ']').split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let id: u64 = part
            .parse()
            .map_err(|_| ApiError::bad_request("400 Bad request - assignee_ids is invalid"))?;
        if id != 0 && !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn merge(
    world: &mut World,
    request: &ApiRequest,
    project: u64,
    iid: &str,
) -> Result<Reply, ApiError> {
    let id = world.find_merge_request(project, number(iid, "Merge Request")?)?;
    // GitLab ORs the deprecated parameter and its replacement.
    let options = MergeOptions {
        auto_merge: request.flag("auto_merge") || request.flag("merge_when_pipeline_succeeds"),
        sha: request.param("sha").map(str::to_string),
        merge_commit_message: request.param("merge_commit_message").map(str::to_string),
        should_remove_source_branch: request
            .param("should_remove_source_branch")
            .map(|_| request.flag("should_remove_source_branch")),
    };
    world.merge(id, options)?;
    Ok(Reply::ok(merge_request_json(world, id)))
}

fn pipelines(world: &World, request: &ApiRequest, mr_id: u64) -> Reply {
    let items = world
        .merge_request_pipelines(mr_id)
        .into_iter()
        .map(|p| pipeline_summary(world, p.id))
        .collect();
    paginate(request, items)
}

pub(crate) fn merge_request_json(world: &World, id: u64) -> Value {
    let mr = world.merge_request(id);
    let project = world.project(mr.project_id);
    let web_url = format!(
        "{}/-/merge_requests/{}",
        world.web_url(mr.project_id),
        mr.iid
    );
    let sha = world.merge_request_sha(id);
    let head_pipeline = world
        .head_pipeline(id)
        .map(|p| super::pipelines::pipeline_json(world, p));
    let pipeline = world.head_pipeline(id).map(|p| pipeline_summary(world, p));
    let base_sha = sha.as_ref().and_then(|s| {
        project
            .branches
            .get(&mr.target_branch)
            .and_then(|t| world.merge_base(t, s))
    });
    let merged = mr.state == MrState::Merged;
    let conflict = mr.state == MrState::Opened && world.has_conflict(id);
    json!({
        "id": mr.id,
        "iid": mr.iid,
        "project_id": mr.project_id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state.as_str(),
        "imported": false,
        "imported_from": "none",
        "created_at": api_time(&mr.created_at),
        "updated_at": api_time(&mr.updated_at),
        "merged_at": mr.merged_at.as_ref().map(api_time),
        "merged_by": if merged { user_json(world) } else { Value::Null },
        "merge_user": if merged { user_json(world) } else { Value::Null },
        "closed_at": null,
        "closed_by": null,
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "upvotes": 0,
        "downvotes": 0,
        "author": user_json(world),
        // The simulator knows assignees by id only (its users live outside the world).
        "assignee": mr.assignee_ids.first().map(|id| json!({ "id": id })),
        "assignees": mr.assignee_ids.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>(),
        "reviewers": [],
        "source_project_id": mr.project_id,
        "target_project_id": mr.project_id,
        "labels": [],
        "draft": false,
        "work_in_progress": false,
        "milestone": null,
        "merge_when_pipeline_succeeds": mr.auto_merge,
        "merge_status": if conflict { "cannot_be_merged" } else { "can_be_merged" },
        "detailed_merge_status": world.detailed_merge_status(id),
        "has_conflicts": conflict,
        "merge_error": null,
        "sha": sha,
        "merge_commit_sha": mr.merge_commit_sha,
        "squash_commit_sha": null,
        "user_notes_count": world.notes_of(id).iter().filter(|n| !n.system).count(),
        "discussion_locked": null,
        "should_remove_source_branch": null,
        "force_remove_source_branch": mr.force_remove_source_branch,
        "allow_collaboration": false,
        "allow_maintainer_to_push": false,
        "web_url": web_url,
        "references": { "short": format!("!{}", mr.iid), "relative": format!("!{}", mr.iid), "full": format!("{}!{}", project.path, mr.iid) },
        "time_stats": { "time_estimate": 0, "total_time_spent": 0, "human_time_estimate": null, "human_total_time_spent": null },
        "squash": false,
        "subscribed": false,
        "changes_count": null,
        "pipeline": pipeline,
        "head_pipeline": head_pipeline,
        "diff_refs": { "base_sha": base_sha, "head_sha": sha, "start_sha": project.branches.get(&mr.target_branch) },
        "diverged_commits_count": 0,
        "task_completion_status": { "count": 0, "completed_count": 0 },
    })
}
