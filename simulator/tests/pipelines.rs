//! Pipelines: the CocoaPods dependency rule, `[ci skip]`, tags and their pipelines, retry.

mod common;

use std::time::Duration;

use common::{Api, start};
use convoy_simulator::{FileContains, JobFailure, Scenario};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

async fn finished(api: &Api, project: &str, pipeline: &serde_json::Value) -> serde_json::Value {
    let path = format!("/projects/{project}/pipelines/{}", pipeline["id"]);
    api.wait_for(&path, 10, |p| {
        matches!(
            p["status"].as_str(),
            Some("success" | "failed" | "canceled")
        )
    })
    .await
}

#[tokio::test]
async fn lint_fails_until_the_dependency_is_released_then_passes_on_retry() {
    let simulator = start().await;
    let api = Api::new(&simulator);

    let (status, pipeline) = api
        .post(
            "/projects/group%2Fnet/pipeline",
            json!({ "ref": "release/1.0.0" }),
        )
        .await;
    assert_eq!(status, 201, "{pipeline}");
    assert_eq!(pipeline["ref"], "release/1.0.0");
    let failed = finished(&api, "group%2Fnet", &pipeline).await;
    assert_eq!(failed["status"], "failed");

    let (_, jobs) = api
        .get(&format!(
            "/projects/group%2Fnet/pipelines/{}/jobs",
            pipeline["id"]
        ))
        .await;
    assert_eq!(jobs[0]["name"], "lint");
    assert_eq!(jobs[0]["status"], "failed");
    let trace = api
        .request(
            reqwest::Method::GET,
            &format!("/projects/group%2Fnet/jobs/{}/trace", jobs[0]["id"]),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        trace.contains("CoreKit (~> 1.0)") && trace.contains("NetworkKit did not pass validation"),
        "{trace}"
    );
    assert!(
        !trace.contains("Alamofire"),
        "pods outside the world are not checked: {trace}"
    );

    // Release CoreKit 1.0.0: tag, and its tag pipeline (lint + publish) succeeds.
    let (status, _) = api
        .post(
            "/projects/group%2Fcore/repository/tags",
            json!({ "tag_name": "1.0.0", "ref": "main" }),
        )
        .await;
    assert_eq!(status, 201);
    let world = simulator.world();
    assert!(
        world
            .eventually(WAIT, |w| w.is_released("group/core", "1.0.0"))
            .await
    );
    let tag_pipeline = world.latest_pipeline("group/core", "1.0.0").unwrap();
    let job_names: Vec<&str> = tag_pipeline.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(job_names, ["lint", "publish"]);
    assert!(tag_pipeline.tag);

    let (status, retried) = api
        .post(
            &format!("/projects/group%2Fnet/pipelines/{}/retry", pipeline["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(retried["id"], pipeline["id"]);
    let passed = finished(&api, "group%2Fnet", &pipeline).await;
    assert_eq!(passed["status"], "success");
    let (_, all_jobs) = api
        .get(&format!(
            "/projects/group%2Fnet/pipelines/{}/jobs?include_retried=true",
            pipeline["id"]
        ))
        .await;
    assert_eq!(
        all_jobs.as_array().unwrap().len(),
        2,
        "the failed lint job is kept as retried"
    );
}

#[tokio::test]
async fn creating_a_tag_twice_is_refused_with_gitlabs_message() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let (status, tag) = api
        .post(
            "/projects/group%2Fcore/repository/tags?tag_name=1.0.0&ref=main",
            json!({}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(tag["name"], "1.0.0");
    let main = simulator.world().branch_head("group/core", "main").unwrap();
    assert_eq!(tag["commit"]["id"], main);
    assert_eq!(tag["target"], main);

    let (status, body) = api
        .post(
            "/projects/group%2Fcore/repository/tags",
            json!({ "tag_name": "1.0.0", "ref": "main" }),
        )
        .await;
    assert_eq!(
        (status, body),
        (400, json!({ "message": "Tag 1.0.0 already exists" }))
    );
    let tags = simulator.world().tags("group/core");
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].commit, main);

    let (status, got) = api
        .get("/projects/group%2Fcore/repository/tags/1.0.0")
        .await;
    assert_eq!((status, got["name"].as_str()), (200, Some("1.0.0")));
    let (status, body) = api
        .get("/projects/group%2Fcore/repository/tags/9.9.9")
        .await;
    assert_eq!(
        (status, body),
        (404, json!({ "message": "404 Tag Not Found" }))
    );
    let (status, body) = api
        .post(
            "/projects/group%2Fcore/repository/tags",
            json!({ "tag_name": "2.0.0", "ref": "nope" }),
        )
        .await;
    assert_eq!(
        (status, body),
        (400, json!({ "message": "Target nope is invalid" }))
    );
}

#[tokio::test]
async fn a_failing_publish_job_leaves_the_version_unreleased() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    simulator.set_fail_tag_pipeline("group/core", true).unwrap();
    let (_, _) = api
        .post(
            "/projects/group%2Fcore/repository/tags",
            json!({ "tag_name": "1.0.0", "ref": "main" }),
        )
        .await;
    let world = simulator.world();
    assert!(
        world
            .eventually(WAIT, |w| w
                .latest_pipeline("group/core", "1.0.0")
                .is_some_and(|p| p.status == "failed"))
            .await
    );
    let pipeline = world.latest_pipeline("group/core", "1.0.0").unwrap();
    assert_eq!(pipeline.jobs[1].name, "publish");
    assert!(
        pipeline.jobs[1].log.contains("publishing failed"),
        "{}",
        pipeline.jobs[1].log
    );
    assert!(!world.is_released("group/core", "1.0.0"));
}

#[tokio::test]
async fn a_job_failure_rule_holds_until_the_owner_pushes_a_fix() {
    let simulator = start().await;
    let rule = JobFailure {
        job: "lint".to_string(),
        log: "error: Core.swift:1: missing return".to_string(),
        when_file_contains: Some(FileContains {
            path: "Sources/Core.swift".to_string(),
            text: "BUG".to_string(),
        }),
    };
    simulator
        .set_job_failures("group/core", vec![rule])
        .unwrap();
    let world = simulator.world();
    simulator
        .push_commit(
            "group/core",
            "release/1.0.0",
            &[("Sources/Core.swift", "BUG\n")],
            "Break it",
        )
        .unwrap();
    assert!(
        world
            .eventually(WAIT, |w| w
                .latest_pipeline("group/core", "release/1.0.0")
                .is_some_and(|p| p.status == "failed"))
            .await
    );
    let failed = world
        .latest_pipeline("group/core", "release/1.0.0")
        .unwrap();
    assert!(
        failed.jobs[0].log.contains("missing return"),
        "{}",
        failed.jobs[0].log
    );

    simulator
        .push_commit(
            "group/core",
            "release/1.0.0",
            &[("Sources/Core.swift", "fixed\n")],
            "Fix it",
        )
        .unwrap();
    assert!(
        world
            .eventually(WAIT, |w| w
                .latest_pipeline("group/core", "release/1.0.0")
                .is_some_and(|p| p.status == "success"))
            .await
    );
}

#[tokio::test]
async fn a_pipeline_for_a_project_without_ci_config_is_refused_like_gitlab() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let (status, body) = api
        .post("/projects/group%2Fplain/pipeline?ref=main", json!({}))
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({ "message": { "base": ["Missing CI config file"] } })
        )
    );
}

#[tokio::test]
async fn pipelines_list_filters_by_ref_and_sha_and_cancel_stops_one() {
    // Slow pipelines, so the one canceled is surely still running.
    let mut scenario = Scenario::from_yaml(common::SCENARIO).unwrap();
    scenario.pipeline_duration_ms = 60_000;
    let simulator = common::start_with(scenario).await;
    let api = Api::new(&simulator);
    let (_, first) = api
        .post("/projects/group%2Fcore/pipeline?ref=main", json!({}))
        .await;
    let (_, second) = api
        .post(
            "/projects/group%2Fcore/pipeline?ref=release%2F1.0.0",
            json!({}),
        )
        .await;
    let (_, list) = api.get("/projects/group%2Fcore/pipelines?ref=main").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], first["id"]);
    let (_, by_sha) = api
        .get(&format!(
            "/projects/group%2Fcore/pipelines?sha={}",
            second["sha"].as_str().unwrap()
        ))
        .await;
    assert_eq!(by_sha[0]["id"], second["id"]);

    let (status, canceled) = api
        .post(
            &format!("/projects/group%2Fcore/pipelines/{}/cancel", second["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(canceled["status"], "canceled");
}

#[tokio::test]
async fn with_ci_capacity_one_pipeline_waits_for_the_other() {
    let mut scenario = Scenario::from_yaml(common::SCENARIO).unwrap();
    scenario.ci_capacity = Some(1);
    scenario.pipeline_duration_ms = 60_000;
    let simulator = common::start_with(scenario).await;
    let api = Api::new(&simulator);
    let (_, first) = api
        .post("/projects/group%2Fcore/pipeline?ref=main", json!({}))
        .await;
    let (_, second) = api
        .post("/projects/group%2Fnet/pipeline?ref=main", json!({}))
        .await;
    let world = simulator.world();
    assert!(
        world
            .eventually(WAIT, |w| w.pipelines("group/core")[0].status == "running")
            .await
    );
    // Long enough for the ticker to have tried to start the second many times.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(world.pipelines("group/net")[0].status, "created");

    api.post(
        &format!("/projects/group%2Fcore/pipelines/{}/cancel", first["id"]),
        json!({}),
    )
    .await;
    assert!(
        world
            .eventually(WAIT, |w| w.pipelines("group/net")[0].status == "running")
            .await,
        "{second}"
    );
}

/// The older model stays available: `skipped_pipelines: false` gives a `[ci skip]` push no
/// pipeline at all.
#[tokio::test]
async fn without_skipped_pipelines_a_ci_skip_push_starts_no_pipeline() {
    let mut scenario = Scenario::from_yaml(common::SCENARIO).unwrap();
    scenario.skipped_pipelines = false;
    let simulator = common::start_with(scenario).await;
    simulator
        .push_commit(
            "group/core",
            "release/1.0.0",
            &[("R", "x")],
            "Bump [ci skip]",
        )
        .unwrap();
    assert!(
        simulator
            .world()
            .pipelines_for_ref("group/core", "release/1.0.0")
            .is_empty()
    );
}
