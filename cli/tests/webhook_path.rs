//! One webhook followed from GitLab to the state change it causes (issue 9), hop by hop, with
//! reconcile an hour away so that nothing but webhooks can move the release:
//!
//! 1. GitLab posts the Pipeline Hook of CoreKit's tag pipeline to `POST /webhooks/gitlab`,
//!    which answers 200;
//! 2. the server records the delivery with the project it names (one write; no job);
//! 3. the worker's delivery loop hears of it and wakes the release that has a component in
//!    that project (the delivery's outcome says so);
//! 4. the woken pass steps CoreKit, which asks GitLab and finds the tag pipeline passed;
//! 5. CoreKit moves from deploying to success in the log.

mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use convoy_simulator::DeliveryOutcome;
use sqlx::Connection;
use support::{Options, TestConvoy, spawn_convoy};

const PROJECT: &str = "ios/core-kit";

/// A delivery as Convoy recorded it.
#[derive(Debug, sqlx::FromRow)]
struct Recorded {
    idempotency_key: String,
    event_name: String,
    received_at: String,
    processed_at: Option<String>,
    outcome: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tag_pipelines_webhook_is_followed_hop_by_hop_to_the_components_success() {
    let convoy = spawn_convoy(Options {
        reconcile: Duration::from_secs(3600),
        ..Options::default()
    })
    .await;
    let release = convoy.release_all().await;
    assert_eq!(release.state, "success", "{release:#?}");

    // Hop 1: GitLab delivered the tag pipeline's success to Convoy, answered 200.
    let sent: Vec<_> = convoy
        .sim
        .world()
        .webhook_deliveries()
        .into_iter()
        .filter(|d| {
            d.project == PROJECT
                && d.event == "Pipeline Hook"
                && d.payload_json()["object_attributes"]["tag"] == true
                && d.payload_json()["object_attributes"]["status"] == "success"
        })
        .collect();
    assert!(!sent.is_empty(), "GitLab sent the tag pipeline's success");
    assert!(
        sent.iter()
            .any(|d| matches!(d.outcome, DeliveryOutcome::Delivered(200))),
        "{sent:#?}"
    );

    // Hop 2: the server recorded it with its project; hop 3: the delivery loop woke the release.
    let recorded = recorded_deliveries(&convoy).await;
    let tag_success = recorded
        .iter()
        .find(|r| sent.iter().any(|d| d.idempotency_key == r.idempotency_key))
        .expect("the tag pipeline's delivery is recorded under GitLab's idempotency key");
    assert_eq!(tag_success.event_name, "Pipeline Hook");
    assert_eq!(
        tag_success.outcome.as_deref(),
        Some(format!("woke release {}", release.id).as_str()),
        "{tag_success:#?}"
    );

    // Hops 4 and 5: CoreKit went from deploying to success after a delivery for its project
    // woke the release, and no later than that delivery was processed plus one pass.
    let events = convoy.events(release.id).await;
    let state_change = |to: &str| {
        events
            .iter()
            .find(|e| {
                e.component_name.as_deref() == Some("CoreKit")
                    && e.kind == "state"
                    && e.to_state.as_deref() == Some(to)
            })
            .map(|e| time(&e.created_at))
            .unwrap_or_else(|| panic!("CoreKit went to {to}: {events:#?}"))
    };
    let (deploying, success) = (state_change("deploying"), state_change("success"));
    let woke_it = recorded.iter().any(|r| {
        let processed = r.processed_at.as_deref().map(time);
        time(&r.received_at) >= deploying
            && processed.is_some_and(|p| p <= success)
            && r.outcome.as_deref() == Some(format!("woke release {}", release.id).as_str())
    });
    assert!(
        woke_it,
        "a delivery for {PROJECT} that arrived while CoreKit was deploying woke the release \
         before CoreKit's success (deploying at {deploying}, success at {success}): {recorded:#?}"
    );
    assert_eq!(TestConvoy::component(&release, "CoreKit").state, "success");
}

/// Every delivery Convoy recorded for [`PROJECT`], oldest first.
async fn recorded_deliveries(convoy: &TestConvoy) -> Vec<Recorded> {
    let mut db = sqlx::SqliteConnection::connect(&convoy.database_url)
        .await
        .expect("the database opens");
    sqlx::query_as(
        "SELECT idempotency_key, event_name, received_at, processed_at, outcome \
         FROM webhook_deliveries WHERE project_path = $1 ORDER BY id",
    )
    .bind(PROJECT)
    .fetch_all(&mut db)
    .await
    .expect("the deliveries can be read")
}

fn time(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 time")
}
