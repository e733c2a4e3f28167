//! Pipelines and jobs: create for a ref, list, get, retry, cancel, jobs and job traces.

use actix_web::http::Method;
use serde_json::{Value, json};

use super::projects::user_json;
use super::repository::commit_json;
use super::{ApiRequest, Reply, number, paginate};
use crate::error::ApiError;
use crate::world::{PipelineSource, World, api_time};

pub(super) fn route(
    world: &mut World,
    request: &ApiRequest,
    project: u64,
    rest: &[&str],
) -> Result<Reply, ApiError> {
    match (&request.method, rest) {
        (&Method::POST, ["pipeline"]) => create(world, request, project),
        (&Method::GET, ["pipelines"]) => Ok(list(world, request, project)),
        (&Method::GET, ["pipelines", id]) => {
            let id = find(world, project, id)?;
            Ok(Reply::ok(pipeline_json(world, id)))
        }
        (&Method::POST, ["pipelines", id, "retry"]) => {
            let id = find(world, project, id)?;
            world.retry_pipeline(id)?;
            Ok(Reply::created(pipeline_json(world, id)))
        }
        (&Method::POST, ["pipelines", id, "cancel"]) => {
            let id = find(world, project, id)?;
            world.cancel_pipeline(id);
            Ok(Reply::ok(pipeline_json(world, id)))
        }
        (&Method::GET, ["pipelines", id, "jobs"]) => {
            let id = find(world, project, id)?;
            Ok(jobs(world, request, id))
        }
        (&Method::GET, ["jobs", id]) => {
            let id = find_job(world, project, id)?;
            Ok(Reply::ok(job_json(world, id)))
        }
        (&Method::GET, ["jobs", id, "trace"]) => {
            let id = find_job(world, project, id)?;
            Ok(Reply::text(world.job(id).log.clone()))
        }
        _ => Err(ApiError::no_route()),
    }
}

fn find(world: &World, project: u64, id: &str) -> Result<u64, ApiError> {
    let id = number(id, "Pipeline")?;
    match world.pipelines.get((id as usize).wrapping_sub(1)) {
        Some(p) if p.project_id == project => Ok(id),
        _ => Err(ApiError::message(404, "404 Not found")),
    }
}

fn find_job(world: &World, project: u64, id: &str) -> Result<u64, ApiError> {
    let id = number(id, "Job")?;
    match world.jobs.get((id as usize).wrapping_sub(1)) {
        Some(j) if j.project_id == project => Ok(id),
        _ => Err(ApiError::message(404, "404 Not found")),
    }
}

fn create(world: &mut World, request: &ApiRequest, project: u64) -> Result<Reply, ApiError> {
    let reference = request.required("ref")?.to_string();
    let id = world.create_pipeline(project, &reference, PipelineSource::Api, None)?;
    Ok(Reply::created(pipeline_json(world, id)))
}

fn list(world: &World, request: &ApiRequest, project: u64) -> Reply {
    let mut pipelines: Vec<&crate::world::Pipeline> = world
        .pipelines
        .iter()
        .filter(|p| p.project_id == project)
        .filter(|p| request.param("ref").is_none_or(|r| p.ref_ == r))
        .filter(|p| request.param("sha").is_none_or(|s| p.sha == s))
        .filter(|p| {
            request
                .param("status")
                .is_none_or(|s| p.status.as_str() == s)
        })
        .filter(|p| request.param("source").is_none_or(|s| p.source == s))
        .collect();
    // Default order: id descending; `sort=asc` reverses. Other `order_by` keys follow id here.
    pipelines.sort_by_key(|p| std::cmp::Reverse(p.id));
    if request.param("sort") == Some("asc") {
        pipelines.reverse();
    }
    let items = pipelines
        .iter()
        .map(|p| pipeline_summary(world, p.id))
        .collect();
    paginate(request, items)
}

fn jobs(world: &World, request: &ApiRequest, pipeline: u64) -> Reply {
    let scopes: Vec<&str> = request
        .params
        .iter()
        .filter(|(k, _)| k.as_str() == "scope" || k.starts_with("scope["))
        .map(|(_, v)| v.as_str())
        .collect();
    let include_retried = request.flag("include_retried");
    let items = world
        .jobs
        .iter()
        .filter(|j| j.pipeline_id == pipeline && (include_retried || !j.retried))
        .filter(|j| scopes.is_empty() || scopes.contains(&j.status.as_str()))
        .map(|j| job_json(world, j.id))
        .collect();
    paginate(request, items)
}

/// The short pipeline shape of lists.
pub(crate) fn pipeline_summary(world: &World, id: u64) -> Value {
    let p = world.pipeline(id);
    json!({
        "id": p.id,
        "iid": p.iid,
        "project_id": p.project_id,
        "sha": p.sha,
        "ref": p.ref_,
        "status": p.status.as_str(),
        "source": p.source,
        "created_at": api_time(&p.created_at),
        "updated_at": api_time(&p.updated_at),
        "web_url": format!("{}/-/pipelines/{}", world.web_url(p.project_id), p.id),
    })
}

/// The full pipeline shape of `GET /pipelines/:id`.
pub(crate) fn pipeline_json(world: &World, id: u64) -> Value {
    let p = world.pipeline(id);
    let status = p.status.as_str();
    let duration =
        crate::world::seconds_between(p.started_at, p.finished_at).map(|d| d.round() as i64);
    json!({
        "id": p.id,
        "iid": p.iid,
        "project_id": p.project_id,
        "name": null,
        "sha": p.sha,
        "ref": p.ref_,
        "status": status,
        "source": p.source,
        "created_at": api_time(&p.created_at),
        "updated_at": api_time(&p.updated_at),
        "web_url": format!("{}/-/pipelines/{}", world.web_url(p.project_id), p.id),
        "before_sha": p.before_sha,
        "tag": p.tag,
        "yaml_errors": null,
        "user": user_json(world),
        "started_at": p.started_at.as_ref().map(api_time),
        "finished_at": p.finished_at.as_ref().map(api_time),
        "committed_at": null,
        "duration": duration,
        "queued_duration": null,
        "coverage": null,
        "archived": false,
        "detailed_status": {
            "icon": format!("status_{status}"),
            "text": status,
            "label": status,
            "group": status,
            "tooltip": status,
            "has_details": true,
            "details_path": format!("/{}/-/pipelines/{}", world.project(p.project_id).path, p.id),
            "illustration": null,
            "favicon": format!("/assets/ci_favicons/favicon_status_{status}.png"),
        },
    })
}

pub(crate) fn job_json(world: &World, id: u64) -> Value {
    let job = world.job(id);
    let pipeline = world.pipeline(job.pipeline_id);
    json!({
        "id": job.id,
        "status": job.status.as_str(),
        "stage": job.stage,
        "name": job.name,
        "ref": pipeline.ref_,
        "tag": pipeline.tag,
        "coverage": null,
        "allow_failure": false,
        "created_at": api_time(&job.created_at),
        "started_at": job.started_at.as_ref().map(api_time),
        "finished_at": job.finished_at.as_ref().map(api_time),
        "erased_at": null,
        "duration": crate::world::seconds_between(job.started_at, job.finished_at),
        "queued_duration": null,
        "user": user_json(world),
        "commit": commit_json(world, job.project_id, &pipeline.sha),
        "pipeline": {
            "id": pipeline.id,
            "iid": pipeline.iid,
            "project_id": pipeline.project_id,
            "ref": pipeline.ref_,
            "sha": pipeline.sha,
            "status": pipeline.status.as_str(),
            "source": pipeline.source,
        },
        "web_url": format!("{}/-/jobs/{}", world.web_url(job.project_id), job.id),
        "project": { "ci_job_token_scope_enabled": false },
        "artifacts": [],
        "runner": null,
        "artifacts_expire_at": null,
        "failure_reason": job.failure_reason,
        "retried": job.retried,
        "tag_list": [],
    })
}
