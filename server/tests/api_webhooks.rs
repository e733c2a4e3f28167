//! `POST /webhooks/gitlab`: authenticate, record once, acknowledge at once.

mod api_helpers;

use std::time::Duration;

use api_helpers::{TestApp, WEBHOOK_SECRET, error_of, spawn_app};
use serde_json::{Value, json};

fn pipeline_payload() -> Value {
    json!({
        "object_kind": "pipeline",
        "object_attributes": {"id": 31, "ref": "0.1.0", "tag": true, "status": "success"},
        "project": {"id": 7, "path_with_namespace": "ios/a"}
    })
}

impl TestApp {
    async fn deliver(&self, headers: &[(&str, &str)], body: &str) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/webhooks/gitlab", self.address))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("the request is sent")
    }
}

#[tokio::test]
async fn a_delivery_with_the_wrong_token_is_refused_and_not_recorded() {
    let app = spawn_app().await;

    let response = app
        .deliver(
            &[
                ("X-Gitlab-Token", "guess"),
                ("X-Gitlab-Event", "Pipeline Hook"),
            ],
            &pipeline_payload().to_string(),
        )
        .await;

    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        error_of(response).await,
        "wrong or missing X-Gitlab-Token: use the secret Convoy was configured with"
    );
    assert!(app.jobs.pushed().is_empty());
    assert!(app.store.waiting_deliveries(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_delivery_without_a_token_is_refused() {
    let app = spawn_app().await;

    let response = app
        .deliver(
            &[("X-Gitlab-Event", "Pipeline Hook")],
            &pipeline_payload().to_string(),
        )
        .await;

    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn an_authentic_delivery_is_recorded_as_the_workers_work_item_and_announced() {
    let app = spawn_app().await;
    let mut wakeups = app.store.delivery_wakeups().await;

    let response = app
        .deliver(
            &[
                ("X-Gitlab-Token", WEBHOOK_SECRET),
                ("X-Gitlab-Event", "Pipeline Hook"),
                (
                    "X-Gitlab-Event-UUID",
                    "5c2d0f3e-1111-4d6b-9f7a-000000000001",
                ),
            ],
            &pipeline_payload().to_string(),
        )
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": "accepted"}));
    let recorded = app.store.waiting_deliveries(10).await.unwrap();
    assert_eq!(recorded.len(), 1);
    let delivery = app.store.delivery(recorded[0].id).await.unwrap().unwrap();
    assert_eq!(delivery.event_name, "Pipeline Hook");
    assert_eq!(delivery.project_path.as_deref(), Some("ios/a"));
    assert_eq!(
        delivery.idempotency_key,
        "5c2d0f3e-1111-4d6b-9f7a-000000000001:Pipeline Hook"
    );
    // One write and a wake-up for the worker's delivery loop: no job is queued for it.
    assert!(app.jobs.pushed().is_empty(), "{:?}", app.jobs.pushed());
    let announced = tokio::time::timeout(Duration::from_secs(60), wakeups.next()).await;
    assert!(announced.is_ok(), "the delivery loop hears of the delivery");
}

#[tokio::test]
async fn the_same_delivery_twice_is_a_duplicate_and_recorded_once() {
    let app = spawn_app().await;
    let headers = [
        ("X-Gitlab-Token", WEBHOOK_SECRET),
        ("X-Gitlab-Event", "Pipeline Hook"),
        ("Idempotency-Key", "delivery-42"),
    ];

    let first = app.deliver(&headers, &pipeline_payload().to_string()).await;
    let second = app.deliver(&headers, &pipeline_payload().to_string()).await;

    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(second.status().as_u16(), 200);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body, json!({"status": "duplicate"}));
    assert_eq!(app.store.waiting_deliveries(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn without_any_key_the_same_body_is_recognised_as_a_duplicate() {
    let app = spawn_app().await;
    let headers = [
        ("X-Gitlab-Token", WEBHOOK_SECRET),
        ("X-Gitlab-Event", "Pipeline Hook"),
    ];

    app.deliver(&headers, &pipeline_payload().to_string()).await;
    let again = app.deliver(&headers, &pipeline_payload().to_string()).await;

    let body: Value = again.json().await.unwrap();
    assert_eq!(body, json!({"status": "duplicate"}));
    assert_eq!(app.store.waiting_deliveries(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_event_convoy_ignores_is_still_accepted_so_gitlab_keeps_the_hook() {
    let app = spawn_app().await;

    let response = app
        .deliver(
            &[
                ("X-Gitlab-Token", WEBHOOK_SECRET),
                ("X-Gitlab-Event", "Issue Hook"),
            ],
            r#"{"object_kind":"issue"}"#,
        )
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let recorded = app.store.waiting_deliveries(10).await.unwrap();
    assert_eq!(recorded.len(), 1);
    let delivery = app.store.delivery(recorded[0].id).await.unwrap().unwrap();
    assert_eq!(delivery.project_path, None);
}

#[tokio::test]
async fn a_delivery_without_an_event_name_is_refused() {
    let app = spawn_app().await;

    let response = app
        .deliver(
            &[("X-Gitlab-Token", WEBHOOK_SECRET)],
            &pipeline_payload().to_string(),
        )
        .await;

    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        error_of(response).await,
        "missing X-Gitlab-Event header: send deliveries from a GitLab webhook"
    );
}

#[tokio::test]
async fn a_delivery_that_is_not_json_is_refused() {
    let app = spawn_app().await;

    let response = app
        .deliver(
            &[
                ("X-Gitlab-Token", WEBHOOK_SECRET),
                ("X-Gitlab-Event", "Push Hook"),
            ],
            "object_kind=push",
        )
        .await;

    assert_eq!(response.status().as_u16(), 400);
    let error = error_of(response).await;
    assert!(
        error.starts_with("the delivery body is not JSON: GitLab sends webhook payloads as JSON"),
        "{error}"
    );
    assert!(app.jobs.pushed().is_empty());
}

#[tokio::test]
async fn a_delivery_larger_than_5_mb_is_refused() {
    let app = spawn_app().await;
    let padding = "x".repeat(5 * 1024 * 1024);
    let body = json!({"object_kind": "push", "padding": padding}).to_string();

    let response = app
        .deliver(
            &[
                ("X-Gitlab-Token", WEBHOOK_SECRET),
                ("X-Gitlab-Event", "Push Hook"),
            ],
            &body,
        )
        .await;

    assert_eq!(response.status().as_u16(), 413);
    assert_eq!(
        error_of(response).await,
        "the delivery body is larger than 5 MB: Convoy does not use deliveries that large"
    );
    assert!(app.jobs.pushed().is_empty());
}

#[tokio::test]
async fn a_delivery_just_under_the_limit_is_accepted() {
    let app = spawn_app().await;
    let padding = "x".repeat(4 * 1024 * 1024);
    let body = json!({"object_kind": "push", "padding": padding}).to_string();

    let response = app
        .deliver(
            &[
                ("X-Gitlab-Token", WEBHOOK_SECRET),
                ("X-Gitlab-Event", "Push Hook"),
            ],
            &body,
        )
        .await;

    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn a_non_ascii_event_header_gets_its_own_sentence() {
    let app = spawn_app().await;
    let event = reqwest::header::HeaderValue::from_bytes("Pipeline Höök".as_bytes()).unwrap();

    let response = app
        .client
        .post(format!("{}/webhooks/gitlab", app.address))
        .header("Content-Type", "application/json")
        .header("X-Gitlab-Token", WEBHOOK_SECRET)
        .header("X-Gitlab-Event", event)
        .body(pipeline_payload().to_string())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        error_of(response).await,
        "the X-Gitlab-Event header is not readable text (only visible ASCII is allowed): send the event name GitLab uses, such as \"Pipeline Hook\""
    );
    assert!(app.store.waiting_deliveries(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_arriving_together_are_each_recorded_once_and_answered_after_the_commit() {
    let app = spawn_app().await;
    // 40 deliveries at once, 10 of them twice: they share commits, and a duplicate inside one
    // batch is still a duplicate.
    let keys: Vec<String> = (0..40)
        .chain(0..10)
        .map(|n| format!("together-{n}"))
        .collect();
    let answers = futures::future::join_all(keys.iter().map(|key| {
        let app = &app;
        async move {
            let response = app
                .deliver(
                    &[
                        ("X-Gitlab-Token", WEBHOOK_SECRET),
                        ("X-Gitlab-Event", "Pipeline Hook"),
                        ("Idempotency-Key", key),
                    ],
                    &pipeline_payload().to_string(),
                )
                .await;
            assert_eq!(response.status().as_u16(), 200);
            let body: Value = response.json().await.unwrap();
            body["status"].as_str().unwrap().to_owned()
        }
    }))
    .await;

    let accepted = answers.iter().filter(|s| *s == "accepted").count();
    let duplicate = answers.iter().filter(|s| *s == "duplicate").count();
    assert_eq!((accepted, duplicate), (40, 10), "{answers:?}");
    // Each answer came after its commit: every accepted delivery is there to read.
    let recorded = app.store.waiting_deliveries(100).await.unwrap();
    assert_eq!(recorded.len(), 40);
}
