//! Repository reads: tree, branches, commits and compare.

use actix_web::http::Method;
use serde_json::{Value, json};

use super::{ApiRequest, Reply, paginate};
use crate::error::ApiError;
use crate::world::{World, api_time};

pub(super) fn route(
    world: &mut World,
    request: &ApiRequest,
    project: u64,
    rest: &[&str],
) -> Result<Reply, ApiError> {
    if request.method == Method::POST && rest == ["branches"] {
        return create_branch(world, request, project);
    }
    if request.method != Method::GET && request.method != Method::HEAD {
        return Err(ApiError::no_route());
    }
    match rest {
        ["tree"] => tree(world, request, project),
        ["branches"] => branches(world, request, project),
        // Branch names may come encoded (`release%2F1.0`) or not (`release/1.0`).
        ["branches", name @ ..] => branch(world, project, &name.join("/")),
        ["commits"] => commits(world, request, project),
        ["commits", sha] => commit(world, project, sha),
        ["compare"] => compare(world, request, project),
        _ => Err(ApiError::no_route()),
    }
}

fn tree(world: &World, request: &ApiRequest, project: u64) -> Result<Reply, ApiError> {
    let default = world.project(project).default_branch.clone();
    let reference = request.param("ref").unwrap_or(&default);
    let sha = world
        .resolve_ref(project, reference)
        .ok_or_else(|| ApiError::not_found("Tree"))?;
    let path = request.param("path").unwrap_or("");
    let entries = world
        .tree(&sha, path, request.flag("recursive"))
        .ok_or_else(|| ApiError::not_found("Tree"))?;
    let items = entries.into_iter().map(|e| json!({ "id": e.id, "name": e.name, "type": e.kind, "path": e.path, "mode": e.mode })).collect();
    Ok(paginate(request, items))
}

fn branches(world: &World, request: &ApiRequest, project: u64) -> Result<Reply, ApiError> {
    let search = request.param("search");
    let names: Vec<String> = world
        .project(project)
        .branches
        .keys()
        .filter(|name| search.is_none_or(|s| name.contains(s)))
        .cloned()
        .collect();
    let items = names
        .iter()
        .map(|name| branch_json(world, project, name))
        .collect();
    Ok(paginate(request, items))
}

/// `POST /projects/:id/repository/branches` (`lib/api/branches.rb`): `branch` and `ref`;
/// `Branches::CreateService` errors are 400 with its message.
fn create_branch(world: &mut World, request: &ApiRequest, project: u64) -> Result<Reply, ApiError> {
    let name = request.required("branch")?.to_string();
    let reference = request.required("ref")?.to_string();
    world.create_branch(project, &name, &reference)?;
    Ok(Reply::created(branch_json(world, project, &name)))
}

fn branch(world: &World, project: u64, name: &str) -> Result<Reply, ApiError> {
    if !world.project(project).branches.contains_key(name) {
        return Err(ApiError::not_found("Branch"));
    }
    Ok(Reply::ok(branch_json(world, project, name)))
}

fn branch_json(world: &World, project: u64, name: &str) -> Value {
    let p = world.project(project);
    let head = &p.branches[name];
    let default_head = &p.branches[&p.default_branch];
    let merged = name != p.default_branch && world.ancestors(default_head).contains(head);
    json!({
        "name": name,
        "merged": merged,
        "protected": name == p.default_branch,
        "default": name == p.default_branch,
        "developers_can_push": false,
        "developers_can_merge": false,
        "can_push": true,
        "web_url": format!("{}/-/tree/{name}", world.web_url(project)),
        "commit": commit_json(world, project, head),
    })
}

pub(crate) fn commit_json(world: &World, project: u64, sha: &str) -> Value {
    let commit = &world.commits[sha];
    let time = api_time(&commit.created_at);
    json!({
        "id": commit.sha,
        "short_id": &commit.sha[..8],
        "title": commit.title(),
        "message": commit.message,
        "parent_ids": commit.parents,
        "created_at": time,
        "author_name": commit.author_name,
        "author_email": commit.author_email,
        "authored_date": time,
        "committer_name": commit.author_name,
        "committer_email": commit.author_email,
        "committed_date": time,
        "trailers": {},
        "web_url": format!("{}/-/commit/{}", world.web_url(project), commit.sha),
    })
}

fn commits(world: &World, request: &ApiRequest, project: u64) -> Result<Reply, ApiError> {
    let default = world.project(project).default_branch.clone();
    let reference = request.param("ref_name").unwrap_or(&default);
    let sha = world
        .resolve_ref(project, reference)
        .ok_or_else(|| ApiError::not_found("Ref"))?;
    let items = world
        .history(&sha)
        .iter()
        .map(|c| commit_json(world, project, &c.sha))
        .collect();
    Ok(paginate(request, items))
}

fn commit(world: &World, project: u64, reference: &str) -> Result<Reply, ApiError> {
    let sha = world
        .resolve_ref(project, reference)
        .ok_or_else(|| ApiError::not_found("Commit"))?;
    let mut json = commit_json(world, project, &sha);
    let last_pipeline = world
        .latest_pipeline_for_sha(project, &sha)
        .map(|p| super::pipelines::pipeline_summary(world, p.id));
    json["last_pipeline"] = last_pipeline.unwrap_or(Value::Null);
    json["status"] = json["last_pipeline"]["status"].clone();
    Ok(Reply::ok(json))
}

/// `GET .../compare?from=&to=`: commits in `to` that `from` lacks, and the file diffs.
fn compare(world: &World, request: &ApiRequest, project: u64) -> Result<Reply, ApiError> {
    let from_ref = request.required("from")?;
    let to_ref = request.required("to")?;
    let from = world
        .resolve_ref(project, from_ref)
        .ok_or_else(|| ApiError::not_found("Ref"))?;
    let to = world
        .resolve_ref(project, to_ref)
        .ok_or_else(|| ApiError::not_found("Ref"))?;
    // Like GitLab's default (straight=false): diff from the merge base.
    let base = if request.flag("straight") {
        Some(from.clone())
    } else {
        world.merge_base(&from, &to)
    };
    let commits: Vec<Value> = world
        .commits_between(&from, &to)
        .iter()
        .rev()
        .map(|c| commit_json(world, project, &c.sha))
        .collect();
    let empty = std::collections::BTreeMap::new();
    let old = base
        .as_ref()
        .map(|b| &world.commits[b].files)
        .unwrap_or(&empty);
    let new = &world.commits[&to].files;
    let paths: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let diffs: Vec<Value> = paths
        .into_iter()
        .filter(|p| old.get(*p) != new.get(*p))
        .map(|path| {
            json!({
                "old_path": path,
                "new_path": path,
                "a_mode": if old.contains_key(path) { "100644" } else { "0" },
                "b_mode": if new.contains_key(path) { "100644" } else { "0" },
                "diff": simple_diff(old.get(path).map(String::as_str), new.get(path).map(String::as_str)),
                "new_file": !old.contains_key(path),
                "renamed_file": false,
                "deleted_file": !new.contains_key(path),
            })
        })
        .collect();
    let latest = commits.last().cloned().unwrap_or(Value::Null);
    Ok(Reply::ok(json!({
        "commit": latest,
        "commits": commits,
        "diffs": diffs,
        "compare_timeout": false,
        "compare_same_ref": from == to,
        "web_url": format!("{}/-/compare/{}...{}", world.web_url(project), from, to),
    })))
}

/// A whole-file unified diff: every old line removed, every new line added.
fn simple_diff(old: Option<&str>, new: Option<&str>) -> String {
    let old_lines: Vec<&str> = old.map(|t| t.lines().collect()).unwrap_or_default();
    let new_lines: Vec<&str> = new.map(|t| t.lines().collect()).unwrap_or_default();
    let mut diff = format!("@@ -1,{} +1,{} @@\n", old_lines.len(), new_lines.len());
    for line in old_lines {
        diff.push_str(&format!("-{line}\n"));
    }
    for line in new_lines {
        diff.push_str(&format!("+{line}\n"));
    }
    diff
}
