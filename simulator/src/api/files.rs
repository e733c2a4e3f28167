//! Repository files: read (JSON with base64 content, or raw), create and update with GitLab's
//! optimistic locking by `last_commit_id`.

use actix_web::http::Method;
use base64::Engine;
use serde_json::json;

use super::{ApiRequest, Reply, content_param};
use crate::error::ApiError;
use crate::world::{FileChange, World};

pub(super) fn route(
    world: &mut World,
    request: &ApiRequest,
    project: u64,
    rest: &[&str],
) -> Result<Reply, ApiError> {
    match (&request.method, rest) {
        (&Method::GET, [path, "raw"]) => raw(world, request, project, path),
        (&Method::GET | &Method::HEAD, [path]) => get(world, request, project, path),
        (&Method::PUT, [path]) => write(world, request, project, path, false),
        (&Method::POST, [path]) => write(world, request, project, path, true),
        _ => Err(ApiError::no_route()),
    }
}

/// The file at `ref` (a branch, tag or sha): its content and the commits GitLab reports.
struct FileAt {
    content: String,
    commit_id: String,
    last_commit_id: String,
}

fn read(world: &World, project: u64, path: &str, reference: &str) -> Result<FileAt, ApiError> {
    let commit_id = world
        .resolve_ref(project, reference)
        .ok_or_else(|| ApiError::not_found("Commit"))?;
    let content = world.commits[&commit_id]
        .files
        .get(path)
        .cloned()
        .ok_or_else(|| ApiError::not_found("File"))?;
    let last_commit_id = world
        .last_commit_for_file(&commit_id, path)
        .unwrap_or_else(|| commit_id.clone());
    Ok(FileAt {
        content,
        commit_id,
        last_commit_id,
    })
}

fn get(world: &World, request: &ApiRequest, project: u64, path: &str) -> Result<Reply, ApiError> {
    let reference = request.required("ref")?;
    let file = read(world, project, path, reference)?;
    let blob_id = crate::world::blob_id(&file.content);
    let sha256 = crate::world::content_sha256(&file.content);
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let mut reply = Reply::ok(json!({
        "file_name": file_name,
        "file_path": path,
        "size": file.content.len(),
        "encoding": "base64",
        "content": base64::engine::general_purpose::STANDARD.encode(file.content.as_bytes()),
        "content_sha256": sha256,
        "ref": reference,
        "blob_id": blob_id,
        "commit_id": file.commit_id,
        "last_commit_id": file.last_commit_id,
        "execute_filemode": false,
    }));
    reply.headers.extend([
        ("X-Gitlab-Blob-Id".to_string(), blob_id),
        ("X-Gitlab-Commit-Id".to_string(), file.commit_id),
        ("X-Gitlab-Content-Sha256".to_string(), sha256),
        ("X-Gitlab-Encoding".to_string(), "base64".to_string()),
        ("X-Gitlab-File-Name".to_string(), file_name.to_string()),
        ("X-Gitlab-File-Path".to_string(), path.to_string()),
        ("X-Gitlab-Last-Commit-Id".to_string(), file.last_commit_id),
        ("X-Gitlab-Ref".to_string(), reference.to_string()),
        ("X-Gitlab-Size".to_string(), file.content.len().to_string()),
        ("X-Gitlab-Execute-Filemode".to_string(), "false".to_string()),
    ]);
    Ok(reply)
}

fn raw(world: &World, request: &ApiRequest, project: u64, path: &str) -> Result<Reply, ApiError> {
    // `ref` is optional for raw reads: the default branch.
    let default = world.project(project).default_branch.clone();
    let reference = request.param("ref").unwrap_or(&default);
    let file = read(world, project, path, reference)?;
    let mut reply = Reply::text(file.content);
    reply
        .headers
        .push(("X-Gitlab-Last-Commit-Id".to_string(), file.last_commit_id));
    Ok(reply)
}

fn write(
    world: &mut World,
    request: &ApiRequest,
    project: u64,
    path: &str,
    create: bool,
) -> Result<Reply, ApiError> {
    let change = FileChange {
        branch: request.required("branch")?.to_string(),
        start_branch: request.param("start_branch").map(str::to_string),
        path: path.to_string(),
        content: content_param(request)?,
        message: request.required("commit_message")?.to_string(),
        last_commit_id: request.param("last_commit_id").map(str::to_string),
        create,
    };
    let branch = change.branch.clone();
    world.change_file(project, change)?;
    let body = json!({ "file_path": path, "branch": branch });
    Ok(if create {
        Reply::created(body)
    } else {
        Reply::ok(body)
    })
}
