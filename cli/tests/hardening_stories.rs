//! A whole Convoy (simulator, server, worker) against input an attacker or an older GitLab
//! sends: webhooks read leniently, one active release per app and ref.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Options, spawn_convoy};

const WEBHOOK_SECRET: &str = "test-webhook-secret";
const JOB_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../forge/tests/fixtures/gitlab/webhook-job.json"
);

/// What the worker concluded about the delivery with event UUID `uuid`, once it has.
async fn outcome_of(database_url: &str, key: &str) -> String {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT outcome FROM webhook_deliveries WHERE idempotency_key = $1")
                .bind(key)
                .fetch_optional(&pool)
                .await
                .unwrap();
        if let Some((Some(outcome),)) = row {
            return outcome;
        }
        assert!(
            Instant::now() < deadline,
            "delivery {key} was not processed within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn job_events_of_older_gitlab_versions_wake_the_release() {
    let convoy = spawn_convoy(Options::default()).await;
    let release = convoy.start_release().await;
    assert_eq!(release.state, "waiting", "{release:?}");

    let mut payload: Value =
        serde_json::from_str(&std::fs::read_to_string(JOB_FIXTURE).unwrap()).unwrap();
    payload["project"]["path_with_namespace"] = "ios/core-kit".into();
    payload.as_object_mut().unwrap().remove("pipeline_id");
    let http = reqwest::Client::new();
    for (event, key) in [
        ("Job Hook", "old-job-hook"),
        ("Build Hook", "old-build-hook"),
    ] {
        let response = http
            .post(format!("{}/webhooks/gitlab", convoy.url))
            .header("X-Gitlab-Token", WEBHOOK_SECRET)
            .header("X-Gitlab-Event", event)
            .header("Idempotency-Key", key)
            .json(&payload)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{event}");
        let outcome = outcome_of(&convoy.database_url, key).await;
        assert_eq!(outcome, format!("woke release {}", release.id), "{event}");
    }
}
