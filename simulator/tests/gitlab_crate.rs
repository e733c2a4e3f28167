//! The `gitlab` crate (the client Convoy's adapter uses) against the simulator: its endpoint
//! builders, form bodies, keyset pagination and error parsing must all work.

mod common;

use common::{TOKEN, start};
use gitlab::api::projects::hooks::{CreateHook, Hooks};
use gitlab::api::projects::merge_requests::{CreateMergeRequest, MergeMergeRequest, MergeRequest};
use gitlab::api::projects::pipelines::{CreatePipeline, Pipeline, PipelineJobs, RetryPipeline};
use gitlab::api::projects::repository::Tree;
use gitlab::api::projects::repository::files::{File, UpdateFile};
use gitlab::api::projects::repository::tags::{CreateTag, Tag};
use gitlab::api::{ApiError, AsyncQuery, Pagination, paged};
use gitlab::{AsyncGitlab, GitlabBuilder};
use serde::Deserialize;
use serde_json::Value;

async fn client(simulator: &convoy_simulator::RunningSimulator) -> AsyncGitlab {
    let host = simulator
        .base_url()
        .trim_start_matches("http://")
        .to_string();
    // Building the client calls GET /api/v4/user.
    GitlabBuilder::new(host, TOKEN)
        .insecure()
        .build_async()
        .await
        .expect("the gitlab client connects")
}

/// The status and message of a GitLab error answer.
fn gitlab_error<E: std::error::Error + Send + Sync + 'static>(error: ApiError<E>) -> (u16, String) {
    match error {
        ApiError::GitlabWithStatus { status, msg } => (status.as_u16(), msg),
        other => panic!("expected a GitLab error answer, got {other:?}"),
    }
}

#[derive(Debug, Deserialize)]
struct FileInfo {
    content: String,
    last_commit_id: String,
}

#[tokio::test]
async fn files_read_update_and_a_stale_update_through_the_gitlab_crate() {
    let simulator = start().await;
    let gl = client(&simulator).await;
    let file: FileInfo = File::builder()
        .project("group/plain")
        .file_path("README.md")
        .ref_("main")
        .build()
        .unwrap()
        .query_async(&gl)
        .await
        .unwrap();
    assert!(!file.content.is_empty());

    let update = |content: &'static str| {
        UpdateFile::builder()
            .project("group/plain")
            .file_path("README.md")
            .branch("main")
            .content(content.as_bytes())
            .commit_message("Edit")
            .last_commit_id(file.last_commit_id.clone())
            .build()
            .unwrap()
    };
    let answer: Value = update("first edit\n").query_async(&gl).await.unwrap();
    assert_eq!(answer["branch"], "main");
    let refused: Result<Value, _> = update("second edit\n").query_async(&gl).await;
    assert_eq!(
        gitlab_error(refused.unwrap_err()),
        (
            400,
            "You are attempting to update a file that has changed since you started editing it."
                .to_string()
        )
    );
    assert_eq!(
        simulator
            .world()
            .file("group/plain", "main", "README.md")
            .as_deref(),
        Some("first edit\n")
    );
}

#[derive(Debug, Deserialize)]
struct TreeEntry {
    path: String,
}

#[tokio::test]
async fn the_tree_is_followed_over_keyset_pages() {
    let simulator = start().await;
    let gl = client(&simulator).await;
    let endpoint = Tree::builder()
        .project("group/core")
        .ref_("main")
        .recursive(true)
        .build()
        .unwrap();
    let entries: Vec<TreeEntry> = paged(endpoint, Pagination::AllPerPageLimit(2))
        .query_async(&gl)
        .await
        .unwrap();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "docs",
            "docs/guide",
            ".gitlab-ci.yml",
            "CoreKit.podspec",
            "docs/guide/intro.md",
            "docs/readme.md"
        ]
    );
}

#[derive(Debug, Deserialize)]
struct Mr {
    iid: u64,
    state: String,
    merge_when_pipeline_succeeds: bool,
}

#[derive(Debug, Deserialize)]
struct PipelineInfo {
    id: u64,
    status: String,
}

#[derive(Debug, Deserialize)]
struct Job {
    id: u64,
    name: String,
    status: String,
}

#[tokio::test]
async fn merge_requests_pipelines_and_retry_through_the_gitlab_crate() {
    let simulator = common::start_slow().await;
    let gl = client(&simulator).await;
    let mr: Mr = CreateMergeRequest::builder()
        .project("group/net")
        .source_branch("release/1.0.0")
        .target_branch("main")
        .title("Release 1.0.0")
        .build()
        .unwrap()
        .query_async(&gl)
        .await
        .unwrap();
    assert_eq!(mr.state, "opened");

    let pipeline: PipelineInfo = CreatePipeline::builder()
        .project("group/net")
        .ref_("release/1.0.0")
        .build()
        .unwrap()
        .query_async(&gl)
        .await
        .unwrap();
    // GitLab links a new pipeline as the head pipeline a moment later.
    let world = simulator.world();
    assert!(
        world
            .eventually(std::time::Duration::from_secs(30), |w| w
                .merge_requests("group/net")[0]
                .head_pipeline
                == Some(pipeline.id))
            .await
    );
    let merge = MergeMergeRequest::builder()
        .project("group/net")
        .merge_request(mr.iid)
        .merge_when_pipeline_succeeds(true)
        .build()
        .unwrap();
    let waiting: Mr = merge.query_async(&gl).await.unwrap();
    assert!(waiting.merge_when_pipeline_succeeds);

    // NetworkKit's lint fails: CoreKit is not released.
    let failed = wait_pipeline(&gl, "group/net", pipeline.id).await;
    assert_eq!(failed.status, "failed");
    let jobs: Vec<Job> = PipelineJobs::builder()
        .project("group/net")
        .pipeline(pipeline.id)
        .build()
        .unwrap()
        .query_async(&gl)
        .await
        .unwrap();
    assert_eq!(
        (jobs[0].name.as_str(), jobs[0].status.as_str()),
        ("lint", "failed")
    );
    let trace = gitlab::api::raw(
        gitlab::api::projects::jobs::JobTrace::builder()
            .project("group/net")
            .job(jobs[0].id)
            .build()
            .unwrap(),
    )
    .query_async(&gl)
    .await
    .unwrap();
    assert!(
        String::from_utf8(trace)
            .unwrap()
            .contains("CoreKit (~> 1.0)")
    );

    // Release CoreKit, retry: the pipeline passes and auto-merge merges.
    let _: Value = CreateTag::builder()
        .project("group/core")
        .tag_name("1.0.0")
        .ref_("main")
        .build()
        .unwrap()
        .query_async(&gl)
        .await
        .unwrap();
    assert!(
        world
            .eventually(std::time::Duration::from_secs(10), |w| w
                .is_released("group/core", "1.0.0"))
            .await
    );
    let _: Value = RetryPipeline::builder()
        .project("group/net")
        .pipeline(pipeline.id)
        .build()
        .unwrap()
        .query_async(&gl)
        .await
        .unwrap();
    assert_eq!(
        wait_pipeline(&gl, "group/net", pipeline.id).await.status,
        "success"
    );
    assert!(
        world
            .eventually(std::time::Duration::from_secs(10), |w| w
                .merge_requests("group/net")[0]
                .state
                == "merged")
            .await
    );
    let merged: Mr = MergeRequest::builder()
        .project("group/net")
        .merge_request(mr.iid)
        .build()
        .unwrap()
        .query_async(&gl)
        .await
        .unwrap();
    assert_eq!(merged.state, "merged");

    let again = MergeMergeRequest::builder()
        .project("group/net")
        .merge_request(mr.iid)
        .build()
        .unwrap();
    let refused: Result<Value, _> = again.query_async(&gl).await;
    assert_eq!(
        gitlab_error(refused.unwrap_err()),
        (405, "405 Method Not Allowed".to_string())
    );
}

async fn wait_pipeline(gl: &AsyncGitlab, project: &str, id: u64) -> PipelineInfo {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let pipeline: PipelineInfo = Pipeline::builder()
            .project(project)
            .pipeline(id)
            .build()
            .unwrap()
            .query_async(gl)
            .await
            .unwrap();
        if matches!(pipeline.status.as_str(), "success" | "failed" | "canceled")
            || std::time::Instant::now() > deadline
        {
            return pipeline;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

#[derive(Debug, Deserialize)]
struct TagInfo {
    name: String,
    commit: Value,
}

#[tokio::test]
async fn tags_and_hooks_through_the_gitlab_crate() {
    let simulator = start().await;
    let gl = client(&simulator).await;
    let create = || {
        CreateTag::builder()
            .project("group/plain")
            .tag_name("1.0.0")
            .ref_("main")
            .build()
            .unwrap()
    };
    let tag: TagInfo = create().query_async(&gl).await.unwrap();
    assert_eq!(tag.name, "1.0.0");
    let refused: Result<Value, _> = create().query_async(&gl).await;
    assert_eq!(
        gitlab_error(refused.unwrap_err()),
        (400, "Tag 1.0.0 already exists".to_string())
    );
    let got: TagInfo = Tag::builder()
        .project("group/plain")
        .tag_name("1.0.0")
        .build()
        .unwrap()
        .query_async(&gl)
        .await
        .unwrap();
    assert_eq!(got.commit["id"], tag.commit["id"]);

    let _: Value = CreateHook::builder()
        .project("group/plain")
        .url("http://127.0.0.1:9/hook")
        .token("secret")
        .merge_requests_events(true)
        .pipeline_events(true)
        .build()
        .unwrap()
        .query_async(&gl)
        .await
        .unwrap();
    let hooks: Vec<Value> = Hooks::builder()
        .project("group/plain")
        .build()
        .unwrap()
        .query_async(&gl)
        .await
        .unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["merge_requests_events"], true);
    assert_eq!(
        simulator.world().hooks("group/plain")[0].token.as_deref(),
        Some("secret")
    );
}
