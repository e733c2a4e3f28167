//! A whole Convoy (simulator, server, worker) against input an attacker or an older GitLab
//! sends: webhooks read leniently, one active release per app and ref.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{APP, APP_REF, Options, fast_demo, spawn_convoy};

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

/// Issue 14 point 5: two active releases of one app and ref both tagged the same components
/// (0.1.0 and 0.2.0); the same holds for two apps that share a pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_component_is_released_by_one_active_release_at_a_time() {
    // A second app with the demo app's Podfile: it pins the same four components.
    let mut scenario = fast_demo();
    let mut other_app = scenario
        .projects
        .iter()
        .find(|project| project.path == APP)
        .expect("the demo has its app")
        .clone();
    other_app.path = "mobile/other-app".to_string();
    scenario.projects.push(other_app);
    let convoy = spawn_convoy(Options {
        scenario,
        ..Options::default()
    })
    .await;

    let first = convoy.start_release().await;
    assert_eq!(first.state, "waiting", "{first:?}");

    // The same app and ref again: refused at once, naming the active release.
    let again = convoy
        .client
        .create_release(APP, APP_REF, false)
        .await
        .expect_err("a second active release of one app and ref is refused");
    let expected = format!(
        "release {} of {APP} at {APP_REF} is still waiting: finish or cancel it first",
        first.id
    );
    assert!(format!("{again:#}").contains(&expected), "{again:#}");

    // Another app sharing the components: its analysis fails, naming the release that has them.
    let other = convoy
        .client
        .create_release("mobile/other-app", APP_REF, false)
        .await
        .expect("another app's release is accepted");
    let other = convoy
        .wait_for(other.id, |r| r.state != "created" && r.state != "analyzing")
        .await;
    assert_eq!(other.state, "failed", "{other:?}");
    assert_eq!(
        other.reason.as_deref(),
        Some(
            format!(
                "CoreKit (ios/core-kit) is being released by release {} of {APP} at {APP_REF}, \
                 which is still waiting: a component is released by one release at a time; \
                 finish or cancel release {}, then start this release again",
                first.id, first.id
            )
            .as_str()
        )
    );
    assert!(other.components.is_empty(), "no plan stored: {other:?}");

    // Once the first release is canceled, the other app's release goes ahead.
    convoy
        .client
        .cancel(first.id)
        .await
        .expect("the cancel is accepted");
    let retried = convoy
        .client
        .create_release("mobile/other-app", APP_REF, false)
        .await
        .expect("the other app's release starts again");
    let retried = convoy
        .wait_for(retried.id, |r| {
            r.state != "created" && r.state != "analyzing"
        })
        .await;
    assert_eq!(retried.state, "waiting", "{retried:?}");
    assert_eq!(retried.components.len(), 4, "{retried:?}");
    // And it releases each shared component once: one merge request, one tag each.
    convoy
        .client
        .deploy_all(retried.id)
        .await
        .expect("deploy all is accepted");
    let done = convoy
        .wait_for(retried.id, |r| r.state == "success" || r.state == "failed")
        .await;
    assert_eq!(done.state, "success", "{done:?}");
    convoy.assert_side_effects_once();
}
