//! Project hooks and webhook delivery: headers, payloads, retries and webhook faults.

mod common;

use common::{Api, Receiver, start};
use convoy_simulator::DeliveryOutcome;
use serde_json::json;

async fn add_hook(api: &Api, project: &str, url: &str) -> serde_json::Value {
    let body = json!({
        "url": url,
        "token": "hook-secret",
        "push_events": true,
        "tag_push_events": true,
        "merge_requests_events": true,
        "pipeline_events": true,
        "job_events": true,
    });
    let (status, hook) = api.post(&format!("/projects/{project}/hooks"), body).await;
    assert_eq!(status, 201, "{hook}");
    hook
}

#[tokio::test]
async fn hooks_are_added_listed_edited_and_deleted_without_showing_the_token() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let hook = add_hook(&api, "group%2Fcore", "http://127.0.0.1:9/hook").await;
    assert!(hook.get("token").is_none());
    assert_eq!(hook["pipeline_events"], true);

    let (_, list) = api.get("/projects/group%2Fcore/hooks").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let path = format!("/projects/group%2Fcore/hooks/{}", hook["id"]);
    let (status, edited) = api.put(&path, json!({ "job_events": false })).await;
    assert_eq!(status, 200);
    assert_eq!(
        (edited["job_events"].as_bool(), edited["url"].as_str()),
        (Some(false), Some("http://127.0.0.1:9/hook"))
    );
    assert_eq!(
        simulator.world().hooks("group/core")[0].token.as_deref(),
        Some("hook-secret")
    );

    let response = api
        .request(reqwest::Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let (status, body) = api.get(&path).await;
    assert_eq!(
        (status, body),
        (404, json!({ "message": "404 Hook Not Found" }))
    );
}

#[tokio::test]
async fn a_tag_push_is_delivered_with_gitlabs_headers_and_payload() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let receiver = Receiver::start(0);
    add_hook(&api, "group%2Fcore", &receiver.url).await;
    api.post(
        "/projects/group%2Fcore/repository/tags",
        json!({ "tag_name": "1.0.0", "ref": "main" }),
    )
    .await;

    let received = receiver
        .wait_for(10, |all| {
            all.iter().any(|r| {
                r.body["object_kind"] == "pipeline"
                    && r.body["object_attributes"]["status"] == "success"
            })
        })
        .await;
    let tag_push = received
        .iter()
        .find(|r| r.header("X-Gitlab-Event") == Some("Tag Push Hook"))
        .expect("a tag push hook");
    assert_eq!(tag_push.header("X-Gitlab-Token"), Some("hook-secret"));
    assert_eq!(tag_push.header("Content-Type"), Some("application/json"));
    for header in [
        "X-Gitlab-Event-UUID",
        "X-Gitlab-Webhook-UUID",
        "Idempotency-Key",
    ] {
        assert!(
            tag_push.header(header).is_some_and(|v| !v.is_empty()),
            "missing {header}"
        );
    }
    let body = &tag_push.body;
    assert_eq!(body["object_kind"], "tag_push");
    assert_eq!(body["ref"], "refs/tags/1.0.0");
    assert_eq!(body["before"], "0000000000000000000000000000000000000000");
    assert_eq!(
        body["checkout_sha"],
        simulator.world().branch_head("group/core", "main").unwrap()
    );
    assert_eq!(body["project"]["path_with_namespace"], "group/core");

    let pipeline = received
        .iter()
        .rev()
        .find(|r| r.header("X-Gitlab-Event") == Some("Pipeline Hook"))
        .unwrap();
    assert_eq!(pipeline.body["object_attributes"]["ref"], "1.0.0");
    assert_eq!(pipeline.body["object_attributes"]["tag"], true);
    let builds = pipeline.body["builds"].as_array().unwrap();
    assert_eq!(builds.len(), 2);
    assert!(received.iter().any(
        |r| r.header("X-Gitlab-Event") == Some("Job Hook") && r.body["build_name"] == "publish"
    ));
}

#[tokio::test]
async fn a_merge_is_delivered_as_a_merge_request_hook_with_action_merge() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let receiver = Receiver::start(0);
    add_hook(&api, "group%2Fplain", &receiver.url).await;
    api.post(
        "/projects/group%2Fplain/merge_requests",
        json!({ "source_branch": "feature", "target_branch": "main", "title": "F" }),
    )
    .await;
    api.put("/projects/group%2Fplain/merge_requests/1/merge", json!({}))
        .await;

    let received = receiver
        .wait_for(10, |all| {
            all.iter()
                .any(|r| r.body["object_attributes"]["action"] == "merge")
        })
        .await;
    let actions: Vec<&str> = received
        .iter()
        .filter(|r| r.body["object_kind"] == "merge_request")
        .map(|r| r.body["object_attributes"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["open", "merge"]);
    let merge = received
        .iter()
        .find(|r| r.body["object_attributes"]["action"] == "merge")
        .unwrap();
    assert_eq!(merge.header("X-Gitlab-Event"), Some("Merge Request Hook"));
    assert_eq!(merge.body["object_attributes"]["state"], "merged");
    assert_eq!(merge.body["object_attributes"]["iid"], 1);
    let push = received
        .iter()
        .find(|r| r.body["object_kind"] == "push")
        .expect("the merge pushes to main");
    assert_eq!(push.body["ref"], "refs/heads/main");
    assert_eq!(
        push.body["after"],
        simulator
            .world()
            .branch_head("group/plain", "main")
            .unwrap()
    );
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_the_same_idempotency_key() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let receiver = Receiver::start(2);
    add_hook(&api, "group%2Fplain", &receiver.url).await;
    simulator
        .push_commit("group/plain", "main", &[("a.txt", "a\n")], "Add a")
        .unwrap();

    let received = receiver.wait_for(10, |all| !all.is_empty()).await;
    assert_eq!(received.len(), 1);
    // The simulator logs the attempt once the receiver's answer is back.
    let world = simulator.world();
    world
        .eventually(std::time::Duration::from_secs(10), |w| {
            w.webhook_deliveries().len() >= 3
        })
        .await;
    let attempts = world.webhook_deliveries();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert!(matches!(attempts[0].outcome, DeliveryOutcome::Failed(_)));
    assert!(matches!(
        attempts[2].outcome,
        DeliveryOutcome::Delivered(200)
    ));
    assert!(
        attempts
            .iter()
            .all(|a| a.idempotency_key == attempts[0].idempotency_key)
    );
    assert_eq!(
        received[0].header("Idempotency-Key"),
        Some(attempts[0].idempotency_key.as_str())
    );
}

#[tokio::test]
async fn dropped_webhooks_never_arrive_and_duplicated_ones_arrive_twice() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let receiver = Receiver::start(0);
    add_hook(&api, "group%2Fplain", &receiver.url).await;

    simulator.faults().set_webhook_drop_rate(1.0);
    simulator
        .push_commit("group/plain", "main", &[("a.txt", "a\n")], "Dropped")
        .unwrap();
    let world = simulator.world();
    assert!(
        world
            .eventually(std::time::Duration::from_secs(10), |w| w
                .webhook_deliveries()
                .iter()
                .any(|d| d.outcome == DeliveryOutcome::Dropped))
            .await
    );

    simulator.faults().set_webhook_drop_rate(0.0);
    simulator.faults().set_webhook_duplicate_rate(1.0);
    simulator
        .push_commit("group/plain", "main", &[("b.txt", "b\n")], "Duplicated")
        .unwrap();
    let received = receiver.wait_for(10, |all| all.len() >= 2).await;
    assert_eq!(received.len(), 2);
    assert!(
        received
            .iter()
            .all(|r| r.body["commits"][0]["message"] == "Duplicated")
    );
    assert_eq!(
        received[0].header("Idempotency-Key"),
        received[1].header("Idempotency-Key")
    );
}

#[tokio::test]
async fn a_held_back_webhook_arrives_after_a_later_one() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let receiver = Receiver::start(0);
    add_hook(&api, "group%2Fplain", &receiver.url).await;
    simulator.faults().set_webhook_reorder(1.0, 500);
    simulator
        .push_commit("group/plain", "main", &[("a.txt", "a\n")], "First")
        .unwrap();
    simulator.faults().set_webhook_reorder(0.0, 0);
    simulator
        .push_commit("group/plain", "main", &[("b.txt", "b\n")], "Second")
        .unwrap();
    let received = receiver.wait_for(10, |all| all.len() >= 2).await;
    let order: Vec<&str> = received
        .iter()
        .map(|r| r.body["commits"][0]["message"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["Second", "First"]);
}
