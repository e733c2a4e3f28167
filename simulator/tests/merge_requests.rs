//! Merge requests: create, merge now, auto-merge when the pipeline succeeds, and refusals.

mod common;

use common::{Api, start};
use serde_json::json;

async fn open(api: &Api, project: &str, source: &str) -> serde_json::Value {
    let body = json!({ "source_branch": source, "target_branch": "main", "title": format!("Release {source}") });
    let (status, mr) = api
        .post(&format!("/projects/{project}/merge_requests"), body)
        .await;
    assert_eq!(status, 201, "{mr}");
    mr
}

#[tokio::test]
async fn auto_merge_waits_for_the_pipeline_then_merges_exactly_once() {
    let mut scenario = convoy_simulator::Scenario::from_yaml(common::SCENARIO).unwrap();
    // Long enough to be still running once GitLab has linked it as the head pipeline.
    scenario.pipeline_duration_ms = 3_000;
    let simulator = common::start_with(scenario).await;
    let api = Api::new(&simulator);
    let mr = open(&api, "group%2Fcore", "release/1.0.0").await;
    assert_eq!(mr["state"], "opened");
    assert_eq!(mr["iid"], 1);

    let (status, pipeline) = api
        .post(
            "/projects/group%2Fcore/pipeline?ref=release%2F1.0.0",
            json!({}),
        )
        .await;
    assert_eq!(status, 201);
    // MergeRequests::UpdateHeadPipelineWorker links it a moment later.
    let mr = api
        .wait_for("/projects/group%2Fcore/merge_requests/1", 30, |mr| {
            mr["head_pipeline"]["id"] == pipeline["id"]
        })
        .await;
    assert_eq!(mr["head_pipeline"]["id"], pipeline["id"]);
    // Both parameter names, as Convoy sends them; form body like the gitlab crate.
    let form = [
        ("auto_merge", "true"),
        ("merge_when_pipeline_succeeds", "true"),
    ];
    let (status, answer) = api
        .put_form("/projects/group%2Fcore/merge_requests/1/merge", &form)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["merge_when_pipeline_succeeds"], true);
    assert_eq!(answer["state"], "opened");
    assert!(answer["head_pipeline"]["id"].is_number(), "{answer}");

    let merged = api
        .wait_for("/projects/group%2Fcore/merge_requests/1", 10, |mr| {
            mr["state"] == "merged"
        })
        .await;
    assert_eq!(merged["state"], "merged", "{merged}");
    let world = simulator.world();
    let mrs = world.merge_requests_between("group/core", "release/1.0.0", "main");
    assert_eq!(mrs.len(), 1);
    assert_eq!(mrs[0].merge_count, 1);
    assert_eq!(
        merged["merge_commit_sha"].as_str(),
        mrs[0].merge_commit_sha.as_deref()
    );
    assert_eq!(
        world.branch_head("group/core", "main").as_deref(),
        mrs[0].merge_commit_sha.as_deref()
    );
    assert_eq!(
        world
            .file("group/core", "main", "Sources/Core.swift")
            .as_deref(),
        Some("struct Core {}\n")
    );
    assert_eq!(
        world.branch_head("group/core", "release/1.0.0"),
        None,
        "the source branch is deleted on merge"
    );

    let (status, body) = api
        .put("/projects/group%2Fcore/merge_requests/1/merge", json!({}))
        .await;
    assert_eq!(
        (status, body),
        (405, json!({ "message": "405 Method Not Allowed" }))
    );
}

#[tokio::test]
async fn a_project_without_ci_merges_at_once_with_a_merge_commit() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    open(&api, "group%2Fplain", "feature").await;
    let before = simulator
        .world()
        .branch_head("group/plain", "main")
        .unwrap();
    let (status, mr) = api
        .put("/projects/group%2Fplain/merge_requests/1/merge", json!({}))
        .await;
    assert_eq!(status, 200, "{mr}");
    assert_eq!(mr["state"], "merged");
    let world = simulator.world();
    let head = world.commits("group/plain", "main").remove(0);
    assert_eq!(head.parents.len(), 2);
    assert_eq!(head.parents[0], before);
    assert!(
        head.message
            .starts_with("Merge branch 'feature' into 'main'"),
        "{}",
        head.message
    );
    assert_eq!(
        world.file("group/plain", "main", "README.md").as_deref(),
        Some("plain, improved\n")
    );
}

/// With "pipelines must succeed" on, a plain merge is 405 until CI passed
/// (`MergeRequest#mergeable_state?`, `CheckCiStatusService`).
#[tokio::test]
async fn merging_without_auto_merge_while_ci_has_not_passed_is_refused_when_pipelines_must_succeed()
{
    let mut scenario = convoy_simulator::Scenario::from_yaml(common::SCENARIO).unwrap();
    scenario.projects[0].only_allow_merge_if_pipeline_succeeds = true;
    let simulator = common::start_with(scenario).await;
    let api = Api::new(&simulator);
    open(&api, "group%2Fcore", "release/1.0.0").await;
    let (status, body) = api
        .put("/projects/group%2Fcore/merge_requests/1/merge", json!({}))
        .await;
    assert_eq!(
        (status, body),
        (405, json!({ "message": "405 Method Not Allowed" }))
    );
    assert_eq!(
        simulator.world().merge_requests("group/core")[0].state,
        "opened"
    );
}

#[tokio::test]
async fn a_second_open_merge_request_for_the_same_branches_is_409() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    open(&api, "group%2Fplain", "feature").await;
    let body = json!({ "source_branch": "feature", "target_branch": "main", "title": "again" });
    let (status, answer) = api
        .post("/projects/group%2Fplain/merge_requests", body)
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        answer["message"][0],
        "Another open merge request already exists for this source branch: !1"
    );

    let (_, list) = api.get("/projects/group%2Fplain/merge_requests?state=opened&source_branch=feature&target_branch=main").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, none) = api
        .get("/projects/group%2Fplain/merge_requests?state=merged")
        .await;
    assert_eq!(none, json!([]));
}

#[tokio::test]
/// `lib/api/merge_requests.rb`: `render_api_error!('Branch cannot be merged', 422)` (406 before
/// GitLab 17).
async fn an_injected_conflict_answers_422_until_it_is_lifted() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    open(&api, "group%2Fplain", "feature").await;
    simulator.faults().set_merge_conflict("group/plain", true);
    let (status, body) = api
        .put("/projects/group%2Fplain/merge_requests/1/merge", json!({}))
        .await;
    assert_eq!(
        (status, body),
        (422, json!({ "message": "Branch cannot be merged" }))
    );
    let mr = api
        .wait_for("/projects/group%2Fplain/merge_requests/1", 30, |mr| {
            mr["detailed_merge_status"] == "conflict"
        })
        .await;
    assert_eq!(mr["detailed_merge_status"], "conflict");

    simulator.faults().set_merge_conflict("group/plain", false);
    // One merge request by its reference.
    simulator.faults().set_merge_conflict("group/plain!1", true);
    let (status, _) = api
        .put("/projects/group%2Fplain/merge_requests/1/merge", json!({}))
        .await;
    assert_eq!(status, 422);
    simulator
        .faults()
        .set_merge_conflict("group/plain!1", false);
    let (status, _) = api
        .put("/projects/group%2Fplain/merge_requests/1/merge", json!({}))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn both_sides_changing_a_file_is_a_real_conflict() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    open(&api, "group%2Fplain", "feature").await;
    simulator
        .push_commit(
            "group/plain",
            "main",
            &[("README.md", "plain, changed on main\n")],
            "Main edit",
        )
        .unwrap();
    let (status, body) = api
        .put("/projects/group%2Fplain/merge_requests/1/merge", json!({}))
        .await;
    assert_eq!(
        (status, body),
        (422, json!({ "message": "Branch cannot be merged" }))
    );
}

#[tokio::test]
async fn a_fast_forward_project_moves_main_to_the_source_head() {
    let mut scenario = convoy_simulator::Scenario::from_yaml(common::SCENARIO).unwrap();
    scenario.projects[2].merge_method = convoy_simulator::MergeMethod::Ff;
    let simulator = common::start_with(scenario).await;
    let api = Api::new(&simulator);
    open(&api, "group%2Fplain", "feature").await;
    let feature_head = simulator.world().branch_head("group/plain", "feature");
    let (status, mr) = api
        .put("/projects/group%2Fplain/merge_requests/1/merge", json!({}))
        .await;
    assert_eq!(status, 200);
    let world = simulator.world();
    assert_eq!(world.branch_head("group/plain", "main"), feature_head);
    assert_eq!(mr["merge_commit_sha"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_strict_merge_request_pipeline_needs_jobs_that_ask_for_it() {
    let mut scenario = convoy_simulator::Scenario::from_yaml(common::SCENARIO).unwrap();
    scenario.strict_merge_request_pipelines = true;
    let simulator = common::start_with(scenario).await;
    let api = Api::new(&simulator);
    open(&api, "group%2Fcore", "release/1.0.0").await;
    let (status, body) = api
        .post(
            "/projects/group%2Fcore/merge_requests/1/pipelines",
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({ "message": { "base": ["No stages / jobs for this pipeline."] } })
        )
    );

    let ci = "stages: [lint]\nlint:\n  stage: lint\n  script: pod lib lint\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n";
    simulator
        .push_commit(
            "group/core",
            "release/1.0.0",
            &[(".gitlab-ci.yml", ci)],
            "MR pipelines",
        )
        .unwrap();
    let (status, pipeline) = api
        .post(
            "/projects/group%2Fcore/merge_requests/1/pipelines",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{pipeline}");
    assert_eq!(pipeline["ref"], "refs/merge-requests/1/head");
    assert_eq!(
        simulator
            .world()
            .latest_pipeline("group/core", "refs/merge-requests/1/head")
            .unwrap()
            .jobs[0]
            .name,
        "lint"
    );
}

#[tokio::test]
async fn a_merge_request_from_a_missing_branch_or_onto_itself_is_422() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let body = json!({ "source_branch": "nope", "target_branch": "main", "title": "x" });
    let (status, answer) = api
        .post("/projects/group%2Fplain/merge_requests", body)
        .await;
    assert_eq!(
        (status, answer),
        (
            422,
            json!({ "message": ["Source branch \"nope\" does not exist"] })
        )
    );
    let body = json!({ "source_branch": "main", "target_branch": "main", "title": "x" });
    let (status, _) = api
        .post("/projects/group%2Fplain/merge_requests", body)
        .await;
    assert_eq!(status, 422);
}
