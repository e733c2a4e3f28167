//! The simulator behaves like GitLab 17/18 by default. One test per behaviour Convoy depends
//! on; each names the GitLab code it follows, and fails if the simulator stops doing it.

mod common;

use std::time::Duration;

use common::{Api, Receiver, start, start_with};
use convoy_simulator::{MergeMethod, Scenario};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// A project whose CI config is GitLab's documented "merge request pipelines, and branch
/// pipelines only without an open merge request" template (doc/ci/yaml/workflow.md), with a
/// tag rule so tags still publish.
const TEMPLATE_PROJECT: &str = r#"
  - path: group/mr
    branches:
      - name: main
        files:
          .gitlab-ci.yml: |
            workflow:
              rules:
                - if: $CI_PIPELINE_SOURCE == "merge_request_event"
                - if: $CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS
                  when: never
                - if: $CI_COMMIT_BRANCH
                - if: $CI_COMMIT_TAG
            stages: [lint, publish]
            lint:
              stage: lint
              script: pod lib lint
            publish:
              stage: publish
              script: pod repo push
              rules:
                - if: $CI_COMMIT_TAG
      - name: feature
        from: main
        files:
          Sources/A.swift: "struct A {}\n"
"#;

fn scenario(extra_projects: &str, tweak: impl FnOnce(&mut Scenario)) -> Scenario {
    let text = format!("{}{extra_projects}", common::SCENARIO);
    let mut scenario = Scenario::from_yaml(&text).expect("the test scenario parses");
    tweak(&mut scenario);
    scenario
}

fn project_mut<'a>(
    scenario: &'a mut Scenario,
    path: &str,
) -> &'a mut convoy_simulator::ProjectSpec {
    scenario
        .projects
        .iter_mut()
        .find(|p| p.path == path)
        .expect("the project is in the scenario")
}

async fn open(api: &Api, project: &str, source: &str) -> Value {
    let body = json!({ "source_branch": source, "target_branch": "main", "title": "R" });
    let (status, mr) = api
        .post(&format!("/projects/{project}/merge_requests"), body)
        .await;
    assert_eq!(status, 201, "{mr}");
    mr
}

/// Waits until GitLab shows `pipeline` as the merge request's head pipeline.
async fn linked(api: &Api, project: &str, iid: u64, pipeline: &Value) -> Value {
    let path = format!("/projects/{project}/merge_requests/{iid}");
    let mr = api
        .wait_for(&path, WAIT.as_secs(), |mr| {
            mr["head_pipeline"]["id"] == pipeline["id"]
        })
        .await;
    assert_eq!(mr["head_pipeline"]["id"], pipeline["id"], "{mr}");
    mr
}

async fn finished(api: &Api, project: &str, pipeline: &Value) -> Value {
    let path = format!("/projects/{project}/pipelines/{}", pipeline["id"]);
    api.wait_for(&path, WAIT.as_secs(), |p| {
        ["success", "failed", "canceled"].contains(&p["status"].as_str().unwrap_or(""))
    })
    .await
}

/// The merge request once its mergeability check ran (no longer `preparing`/`checking`).
async fn settled(api: &Api, path: &str) -> Value {
    api.wait_for(path, WAIT.as_secs(), |mr| {
        !["preparing", "checking"].contains(&mr["detailed_merge_status"].as_str().unwrap_or(""))
    })
    .await
}

async fn merge(api: &Api, project: &str, iid: u64, body: Value) -> (u16, Value) {
    api.put(
        &format!("/projects/{project}/merge_requests/{iid}/merge"),
        body,
    )
    .await
}

/// `Gitlab::Ci::Pipeline::Chain::Skip` persists a `skipped` pipeline for a `[ci skip]` head
/// when pushing, for the automatic merge request pipeline (`MergeRequests::AfterCreateService`)
/// and for `POST /merge_requests/:iid/pipelines` (`MergeRequests::CreatePipelineService` does
/// not pass `ignore_skip_ci`); only `POST /projects/:id/pipeline` ignores it
/// (`lib/api/ci/pipelines.rb`). Retrying a skipped pipeline does nothing.
#[tokio::test]
async fn ci_skip_heads_get_skipped_pipelines_except_from_the_pipeline_api() {
    let simulator = start_with(scenario(TEMPLATE_PROJECT, |_| {})).await;
    let api = Api::new(&simulator);
    let world = simulator.world();
    simulator
        .push_commit(
            "group/mr",
            "feature",
            &[("README.md", "x\n")],
            "Bump [skip ci]",
        )
        .unwrap();
    let push = world.latest_pipeline("group/mr", "feature").unwrap();
    assert_eq!((push.status.as_str(), push.jobs.len()), ("skipped", 0));

    open(&api, "group%2Fmr", "feature").await;
    let automatic = world
        .latest_pipeline("group/mr", "refs/merge-requests/1/head")
        .expect("the automatic merge request pipeline");
    assert_eq!(automatic.status, "skipped");
    assert_eq!(automatic.source, "merge_request_event");

    let (status, asked) = api
        .post("/projects/group%2Fmr/merge_requests/1/pipelines", json!({}))
        .await;
    assert_eq!((status, asked["status"].as_str()), (200, Some("skipped")));

    api.post(
        &format!("/projects/group%2Fmr/pipelines/{}/retry", asked["id"]),
        json!({}),
    )
    .await;
    let (_, retried) = api
        .get(&format!("/projects/group%2Fmr/pipelines/{}", asked["id"]))
        .await;
    assert_eq!(retried["status"], "skipped", "retry does nothing");

    // The pipeline API runs despite [ci skip] (group/core has no workflow rules).
    simulator
        .push_commit(
            "group/core",
            "release/1.0.0",
            &[("R", "x")],
            "Bump [ci skip]",
        )
        .unwrap();
    let (status, api_pipeline) = api
        .post(
            "/projects/group%2Fcore/pipeline?ref=release%2F1.0.0",
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{api_pipeline}");
    assert_eq!(
        finished(&api, "group%2Fcore", &api_pipeline).await["status"],
        "success"
    );
}

/// `MergeRequests::UpdateHeadPipelineWorker` links a new pipeline as the head pipeline
/// asynchronously: right after creation `GET /merge_requests/:iid` does not show it, and
/// auto-merge asked meanwhile is refused (the merge request is mergeable and no pipeline is
/// in progress: `AutoMerge::MergeWhenChecksPassService#availability_details`).
#[tokio::test]
async fn the_head_pipeline_is_linked_after_a_lag() {
    let simulator = start_with(scenario("", |s| {
        s.head_pipeline_lag_ms = 2_000;
        s.pipeline_duration_ms = 6_000;
    }))
    .await;
    let api = Api::new(&simulator);
    open(&api, "group%2Fcore", "release/1.0.0").await;
    let (_, pipeline) = api
        .post(
            "/projects/group%2Fcore/pipeline?ref=release%2F1.0.0",
            json!({}),
        )
        .await;
    let (_, mr) = api.get("/projects/group%2Fcore/merge_requests/1").await;
    assert_eq!(mr["head_pipeline"], Value::Null, "not linked yet: {mr}");
    let (status, body) = merge(&api, "group%2Fcore", 1, json!({ "auto_merge": true })).await;
    assert_eq!(
        (status, body),
        (405, json!({ "message": "405 Method Not Allowed" }))
    );

    let mr = linked(&api, "group%2Fcore", 1, &pipeline).await;
    assert_eq!(mr["head_pipeline"]["status"], "running");
    let (status, body) = merge(&api, "group%2Fcore", 1, json!({ "auto_merge": true })).await;
    assert_eq!(
        (status, body["merge_when_pipeline_succeeds"].as_bool()),
        (200, Some(true))
    );
}

/// `PUT /merge_requests/:iid/merge` (`lib/api/merge_requests.rb`): with `auto_merge`, it
/// merges at once when the head pipeline succeeded (`diff_head_pipeline_success?`), sets
/// auto-merge while it runs, and answers 405 for a failed or skipped head; auto-merge merges
/// only on success (`AutoMerge::MergeWhenChecksPassService#process`). A wrong `sha` is 409
/// (`check_sha_param!`). Every merge is recorded with the head pipeline it had.
#[tokio::test]
async fn the_merge_endpoint_merges_sets_auto_merge_or_refuses_like_gitlab() {
    let simulator = start_with(scenario("", |s| s.pipeline_duration_ms = 1_500)).await;
    let api = Api::new(&simulator);
    let world = simulator.world();
    open(&api, "group%2Fcore", "release/1.0.0").await;
    let (_, pipeline) = api
        .post(
            "/projects/group%2Fcore/pipeline?ref=release%2F1.0.0",
            json!({}),
        )
        .await;
    linked(&api, "group%2Fcore", 1, &pipeline).await;
    let (status, body) = merge(
        &api,
        "group%2Fcore",
        1,
        json!({ "auto_merge": true, "sha": "0123456789" }),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("SHA does not match HEAD of source branch")
    );
    let head = world.branch_head("group/core", "release/1.0.0").unwrap();
    let (status, body) = merge(
        &api,
        "group%2Fcore",
        1,
        json!({ "auto_merge": true, "sha": head }),
    )
    .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("opened")),
        "{body}"
    );
    assert!(
        world
            .eventually(WAIT, |w| w.merge_requests("group/core")[0].state
                == "merged")
            .await
    );
    let merges = world.merges("group/core");
    assert_eq!(merges.len(), 1);
    assert!(
        merges[0].by_auto_merge && merges[0].had_passing_ci(),
        "{merges:?}"
    );

    // A failed head pipeline: 405 with auto_merge (group/net's lint fails, CoreKit ~> 1.0
    // is not released).
    open(&api, "group%2Fnet", "release/1.0.0").await;
    let (_, failing) = api
        .post(
            "/projects/group%2Fnet/pipeline?ref=release%2F1.0.0",
            json!({}),
        )
        .await;
    assert_eq!(
        finished(&api, "group%2Fnet", &failing).await["status"],
        "failed"
    );
    linked(&api, "group%2Fnet", 1, &failing).await;
    let (status, _) = merge(&api, "group%2Fnet", 1, json!({ "auto_merge": true })).await;
    assert_eq!(status, 405);
    assert!(world.merges("group/net").is_empty());
}

/// An already successful head pipeline merges at once, even when auto-merge is asked
/// (`immediately_mergeable?`).
#[tokio::test]
async fn a_successful_head_pipeline_merges_at_once() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    open(&api, "group%2Fcore", "release/1.0.0").await;
    let (_, pipeline) = api
        .post(
            "/projects/group%2Fcore/pipeline?ref=release%2F1.0.0",
            json!({}),
        )
        .await;
    assert_eq!(
        finished(&api, "group%2Fcore", &pipeline).await["status"],
        "success"
    );
    let mr = linked(&api, "group%2Fcore", 1, &pipeline).await;
    assert_eq!(mr["detailed_merge_status"], "mergeable");
    let (status, body) = merge(&api, "group%2Fcore", 1, json!({ "auto_merge": true })).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("merged")));
    let merges = simulator.world().merges("group/core");
    assert!(!merges[0].by_auto_merge && merges[0].had_passing_ci());
}

/// "Pipelines must succeed" (`only_allow_merge_if_pipeline_succeeds`) is off by default: a
/// plain merge (no `auto_merge`) needs only `mergeable_state?`, so GitLab merges without CI.
/// On, the same call is 405 until the head pipeline succeeds (`CheckCiStatusService`), and
/// with `allow_merge_on_skipped_pipeline` a skipped head counts as passed.
#[tokio::test]
async fn pipelines_must_succeed_decides_whether_a_plain_merge_waits_for_ci() {
    let simulator = start_with(scenario("", |s| {
        project_mut(s, "group/net").only_allow_merge_if_pipeline_succeeds = true;
        let core = project_mut(s, "group/core");
        core.only_allow_merge_if_pipeline_succeeds = true;
        core.allow_merge_on_skipped_pipeline = true;
    }))
    .await;
    let api = Api::new(&simulator);
    let world = simulator.world();
    open(&api, "group%2Fplain", "feature").await;
    let (status, body) = merge(&api, "group%2Fplain", 1, json!({})).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("merged")));
    assert_eq!(
        world.merges("group/plain")[0].head_pipeline,
        None,
        "merged without CI"
    );

    let (_, project) = api.get("/projects/group%2Fnet").await;
    assert_eq!(project["only_allow_merge_if_pipeline_succeeds"], true);
    open(&api, "group%2Fnet", "release/1.0.0").await;
    let (status, _) = merge(&api, "group%2Fnet", 1, json!({})).await;
    assert_eq!(status, 405);
    let mr = settled(&api, "/projects/group%2Fnet/merge_requests/1").await;
    assert_eq!(mr["detailed_merge_status"], "ci_must_pass", "{mr}");

    simulator
        .push_commit(
            "group/core",
            "release/1.0.0",
            &[("R", "x")],
            "Docs [ci skip]",
        )
        .unwrap();
    open(&api, "group%2Fcore", "release/1.0.0").await;
    let mr = api
        .wait_for("/projects/group%2Fcore/merge_requests/1", 30, |mr| {
            mr["head_pipeline"]["status"] == "skipped"
        })
        .await;
    assert_eq!(mr["head_pipeline"]["status"], "skipped", "{mr}");
    let (status, body) = merge(&api, "group%2Fcore", 1, json!({})).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("merged")),
        "{body}"
    );
}

/// `detailed_merge_status` (`MergeRequests::Mergeability::DetailedMergeStatusService`):
/// `preparing`, then `checking`, then the first failing check (`conflict`, `need_rebase`,
/// `ci_still_running`, `ci_must_pass`) or `mergeable`.
#[tokio::test]
async fn the_detailed_merge_status_goes_preparing_checking_then_says_what_blocks() {
    let simulator = start_with(scenario("", |s| {
        s.head_pipeline_lag_ms = 4_000;
        s.pipeline_duration_ms = 20_000;
        project_mut(s, "group/core").only_allow_merge_if_pipeline_succeeds = true;
    }))
    .await;
    let api = Api::new(&simulator);
    let mr = open(&api, "group%2Fcore", "release/1.0.0").await;
    assert_eq!(mr["detailed_merge_status"], "preparing");
    let path = "/projects/group%2Fcore/merge_requests/1";
    let status = |mr: &Value| {
        mr["detailed_merge_status"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        status(&api.wait_for(path, 30, |mr| status(mr) != "preparing").await),
        "checking"
    );
    api.post(
        "/projects/group%2Fcore/pipeline?ref=release%2F1.0.0",
        json!({}),
    )
    .await;
    let settled = api
        .wait_for(path, 30, |mr| {
            mr["head_pipeline"].is_object() && status(mr) != "checking"
        })
        .await;
    assert_eq!(status(&settled), "ci_still_running");

    simulator.faults().set_merge_conflict("group/core", true);
    let (_, mr) = api.get(path).await;
    assert_eq!(status(&mr), "conflict");
}

/// `merge_method` `ff` merges by fast-forward only and `rebase_merge` with a merge commit only
/// when the source is on top of the target; otherwise the merge request needs a rebase
/// (`need_rebase`) and merging is 422 `Branch cannot be merged`.
#[tokio::test]
async fn fast_forward_and_semi_linear_merges_need_the_source_on_top_of_the_target() {
    let simulator = start_with(scenario("", |s| {
        project_mut(s, "group/plain").merge_method = MergeMethod::Ff;
        project_mut(s, "group/core").merge_method = MergeMethod::RebaseMerge;
    }))
    .await;
    let api = Api::new(&simulator);
    let world = simulator.world();
    let (_, project) = api.get("/projects/group%2Fcore").await;
    assert_eq!(project["merge_method"], "rebase_merge");

    open(&api, "group%2Fplain", "feature").await;
    let source_head = world.branch_head("group/plain", "feature").unwrap();
    let (status, mr) = merge(&api, "group%2Fplain", 1, json!({})).await;
    assert_eq!((status, mr["merge_commit_sha"].clone()), (200, Value::Null));
    assert_eq!(world.branch_head("group/plain", "main"), Some(source_head));

    simulator
        .push_commit("group/core", "main", &[("MAIN.md", "x\n")], "Main moves on")
        .unwrap();
    open(&api, "group%2Fcore", "release/1.0.0").await;
    let path = "/projects/group%2Fcore/merge_requests/1";
    let mr = settled(&api, path).await;
    assert_eq!(mr["detailed_merge_status"], "need_rebase");
    let (status, body) = merge(&api, "group%2Fcore", 1, json!({})).await;
    assert_eq!(
        (status, body),
        (422, json!({ "message": "Branch cannot be merged" }))
    );
}

/// `remove_source_branch_after_merge` (on by default) gives API-created merge requests
/// `force_remove_source_branch` (`MergeRequests::BuildService`), and the merge deletes the
/// source branch (`MergeRequests::MergeService`, `Branches::DeleteService`);
/// `remove_source_branch: false` keeps it.
#[tokio::test]
async fn the_source_branch_is_deleted_on_merge_unless_asked_otherwise() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let world = simulator.world();
    let mr = open(&api, "group%2Fplain", "feature").await;
    assert_eq!(mr["force_remove_source_branch"], true);
    merge(&api, "group%2Fplain", 1, json!({})).await;
    assert_eq!(world.branch_head("group/plain", "feature"), None);
    let (status, _) = api
        .get("/projects/group%2Fplain/repository/branches/feature")
        .await;
    assert_eq!(status, 404);

    let (status, _) = api
        .post(
            "/projects/group%2Fplain/repository/branches",
            json!({ "branch": "keep", "ref": "main" }),
        )
        .await;
    assert_eq!(status, 201);
    simulator
        .push_commit("group/plain", "keep", &[("K", "k")], "Keep me")
        .unwrap();
    let body = json!({ "source_branch": "keep", "target_branch": "main", "title": "K", "remove_source_branch": false });
    let (_, mr) = api
        .post("/projects/group%2Fplain/merge_requests", body)
        .await;
    assert_eq!(mr["force_remove_source_branch"], false);
    merge(&api, "group%2Fplain", 2, json!({})).await;
    assert!(world.branch_head("group/plain", "keep").is_some());
}

/// `MergeRequests::RefreshService#abort_auto_merges`: a push of a new head to the source
/// branch cancels auto-merge.
#[tokio::test]
async fn a_new_commit_on_the_source_branch_cancels_auto_merge() {
    let simulator = start_with(scenario("", |s| s.pipeline_duration_ms = 10_000)).await;
    let api = Api::new(&simulator);
    open(&api, "group%2Fcore", "release/1.0.0").await;
    let (_, pipeline) = api
        .post(
            "/projects/group%2Fcore/pipeline?ref=release%2F1.0.0",
            json!({}),
        )
        .await;
    linked(&api, "group%2Fcore", 1, &pipeline).await;
    let (status, _) = merge(&api, "group%2Fcore", 1, json!({ "auto_merge": true })).await;
    assert_eq!(status, 200);
    assert!(simulator.world().merge_requests("group/core")[0].auto_merge);
    simulator
        .push_commit("group/core", "release/1.0.0", &[("F", "f")], "A fix")
        .unwrap();
    let (_, mr) = api.get("/projects/group%2Fcore/merge_requests/1").await;
    assert_eq!(mr["merge_when_pipeline_succeeds"], false);
}

/// Workflow rules (`Gitlab::Ci::Pipeline::Chain::EvaluateWorkflowRules`): with the documented
/// template, a branch pipeline of a branch with an open merge request is refused, also
/// through the API; without merge request jobs, a merge request pipeline has "No stages /
/// jobs" (`Gitlab::Ci::Pipeline::Chain::Populate`).
#[tokio::test]
async fn workflow_rules_and_missing_merge_request_jobs_refuse_pipelines_with_gitlabs_words() {
    let simulator = start_with(scenario(TEMPLATE_PROJECT, |_| {})).await;
    let api = Api::new(&simulator);
    let (status, branch) = api
        .post("/projects/group%2Fmr/pipeline?ref=feature", json!({}))
        .await;
    assert_eq!(
        status, 201,
        "no merge request yet: a branch pipeline {branch}"
    );
    open(&api, "group%2Fmr", "feature").await;
    let automatic = simulator
        .world()
        .latest_pipeline("group/mr", "refs/merge-requests/1/head")
        .expect("opening the MR started a merge request pipeline");
    assert_eq!(
        automatic
            .jobs
            .iter()
            .map(|j| j.name.as_str())
            .collect::<Vec<_>>(),
        ["lint"]
    );
    let (status, body) = api
        .post("/projects/group%2Fmr/pipeline?ref=feature", json!({}))
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({ "message": { "base": ["Pipeline filtered out by workflow rules."] } })
        )
    );

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
}

/// Smaller things: `POST /merge_requests/:iid/pipelines` answers 200 (`status :ok`),
/// `POST /repository/branches` creates a branch (`lib/api/branches.rb`, 400 when it exists),
/// and an annotated tag's Tag Push Hook has the tag object in `after` and the commit in
/// `checkout_sha`.
#[tokio::test]
async fn branches_can_be_created_and_annotated_tags_push_their_tag_object() {
    let simulator = start_with(scenario(TEMPLATE_PROJECT, |_| {})).await;
    let api = Api::new(&simulator);
    let receiver = Receiver::start(0);
    api.post(
        "/projects/group%2Fmr/hooks",
        json!({ "url": receiver.url, "tag_push_events": true, "push_events": true }),
    )
    .await;
    let (status, branch) = api
        .post(
            "/projects/group%2Fmr/repository/branches",
            json!({ "branch": "release/2.0", "ref": "main" }),
        )
        .await;
    assert_eq!(
        (status, branch["name"].as_str()),
        (201, Some("release/2.0"))
    );
    let (status, body) = api
        .post(
            "/projects/group%2Fmr/repository/branches",
            json!({ "branch": "release/2.0", "ref": "main" }),
        )
        .await;
    assert_eq!(
        (status, body),
        (400, json!({ "message": "Branch already exists" }))
    );

    simulator
        .push_commit("group/mr", "release/2.0", &[("B", "b")], "Work")
        .unwrap();
    open(&api, "group%2Fmr", "release/2.0").await;
    let (status, _) = api
        .post("/projects/group%2Fmr/merge_requests/1/pipelines", json!({}))
        .await;
    assert_eq!(status, 200);

    api.post(
        "/projects/group%2Fmr/repository/tags",
        json!({ "tag_name": "2.0.0", "ref": "main", "message": "Release 2.0.0" }),
    )
    .await;
    let received = receiver
        .wait_for(30, |all| {
            all.iter().any(|r| r.body["object_kind"] == "tag_push")
        })
        .await;
    let tag_push = received
        .iter()
        .find(|r| r.body["object_kind"] == "tag_push")
        .expect("a tag push hook");
    let commit = simulator.world().branch_head("group/mr", "main").unwrap();
    assert_eq!(tag_push.body["checkout_sha"], commit.as_str());
    assert_ne!(tag_push.body["after"], commit.as_str());
    let (_, tag) = api.get("/projects/group%2Fmr/repository/tags/2.0.0").await;
    assert_eq!(tag["commit"]["id"], commit.as_str());
    assert_eq!(tag["target"], tag_push.body["after"]);
}

/// `Gitlab::RackAttack` (`throttle_authenticated_api`): past the requests allowed in a period,
/// API requests get 429 `Retry later` with `Gitlab::RackAttack.throttled_response_headers`.
#[tokio::test]
async fn past_the_authenticated_api_limit_gitlab_answers_429_with_its_rate_limit_headers() {
    let simulator = start_with(scenario(TEMPLATE_PROJECT, |s| {
        // A long period, so that the whole test falls in one window.
        s.api_rate_limit = Some(convoy_simulator::ApiRateLimit {
            requests_per_period: 3,
            period_seconds: 3600,
        });
    }))
    .await;
    let api = Api::new(&simulator);
    for _ in 0..3 {
        assert_eq!(api.get("/projects/group%2Fmr").await.0, 200);
    }
    let refused = api
        .request(reqwest::Method::GET, "/projects/group%2Fmr")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let header = |name: &str| {
        refused
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("RateLimit-Name").as_deref(),
        Some("throttle_authenticated_api")
    );
    assert_eq!(header("RateLimit-Remaining").as_deref(), Some("0"));
    assert_eq!(header("RateLimit-Observed").as_deref(), Some("4"));
    // 3 per hour, rounded up to a minute's quota.
    assert_eq!(header("RateLimit-Limit").as_deref(), Some("1"));
    let retry_after: u64 = header("Retry-After").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let reset: u64 = header("RateLimit-Reset").unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(reset > now && reset <= now + 3600, "{reset} vs {now}");
    assert_eq!(refused.text().await.unwrap(), "Retry later\n");
    assert_eq!(simulator.throttled_requests(), 1);
    simulator.stop().await;
}

/// `lib/api/notes.rb`: `POST …/notes` needs a `body` (Grape's "body is missing"; a blank one is
/// `Note` validation's 400), answers 201; the list is newest first unless `sort=asc`; `PUT`
/// replaces the body; a note of another merge request is not found
/// (`noteable.notes.find`); merging adds GitLab's own system note
/// (`SystemNoteService.change_status`), which nobody may edit.
#[tokio::test]
async fn merge_request_notes_are_created_listed_and_edited_like_gitlab() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let project = "group%2Fplain";
    open(&api, project, "feature").await;
    let notes = format!("/projects/{project}/merge_requests/1/notes");

    let (status, missing) = api.post(&notes, json!({})).await;
    assert_eq!(
        (status, missing["error"].as_str()),
        (400, Some("body is missing"))
    );
    let (status, blank) = api.post(&notes, json!({ "body": "  " })).await;
    assert_eq!(status, 400, "{blank}");
    assert!(
        blank["message"]
            .as_str()
            .unwrap()
            .contains("can't be blank"),
        "{blank}"
    );

    let (status, first) = api.post(&notes, json!({ "body": "first" })).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["system"], false);
    assert_eq!(first["noteable_type"], "MergeRequest");
    let (_, second) = api.post(&notes, json!({ "body": "second" })).await;
    let bodies = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|n| n["body"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, newest_first) = api.get(&notes).await;
    assert_eq!(bodies(&newest_first), ["second", "first"]);
    let (_, oldest_first) = api
        .get(&format!("{notes}?order_by=created_at&sort=asc"))
        .await;
    assert_eq!(bodies(&oldest_first), ["first", "second"]);

    let (status, edited) = api
        .put(
            &format!("{notes}/{}", first["id"]),
            json!({ "body": "first, edited" }),
        )
        .await;
    assert_eq!(
        (status, edited["body"].as_str()),
        (200, Some("first, edited"))
    );
    let (_, mr) = api
        .get(&format!("/projects/{project}/merge_requests/1"))
        .await;
    assert_eq!(mr["user_notes_count"], 2);

    // Merge request 2 has none of these notes.
    simulator
        .push_commit("group/plain", "other", &[("O", "o")], "Other")
        .unwrap();
    let body = json!({ "source_branch": "other", "target_branch": "main", "title": "O" });
    api.post(&format!("/projects/{project}/merge_requests"), body)
        .await;
    let (status, _) = api
        .put(
            &format!(
                "/projects/{project}/merge_requests/2/notes/{}",
                second["id"]
            ),
            json!({ "body": "x" }),
        )
        .await;
    assert_eq!(status, 404);

    merge(&api, project, 1, json!({})).await;
    let (_, after_merge) = api.get(&notes).await;
    let system = &after_merge[0];
    assert_eq!(
        (system["body"].as_str(), system["system"].as_bool()),
        (Some("merged"), Some(true))
    );
    let (status, _) = api
        .put(&format!("{notes}/{}", system["id"]), json!({ "body": "x" }))
        .await;
    assert_eq!(status, 403);
}
