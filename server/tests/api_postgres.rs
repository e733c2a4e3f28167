//! The API's main paths on PostgreSQL, the database Convoy scales out on. Needs the server named
//! by `CONVOY_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`), like the
//! store's tests.

mod api_helpers;

use api_helpers::{WEBHOOK_SECRET, error_of, spawn_app_on_postgres};
use convoy_store::Job;
use serde_json::{Value, json};

#[tokio::test]
async fn a_release_is_started_deployed_and_followed_on_postgres() {
    let app = spawn_app_on_postgres().await;
    let id = app.waiting_release().await;

    let deployed = app
        .post(
            &format!("/api/v1/releases/{id}/components/A/deploy"),
            json!({}),
        )
        .await;
    let marked = app
        .post(
            &format!("/api/v1/releases/{id}/components/C/released"),
            json!({"reason": "released by the platform team"}),
        )
        .await;
    let conflict = app
        .post(
            &format!("/api/v1/releases/{id}/components/A/deploy"),
            json!({}),
        )
        .await;
    let listed: Value = app.get("/api/v1/releases").await.json().await.unwrap();
    let events: Value = app
        .get(&format!("/api/v1/releases/{id}/events"))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(deployed.status().as_u16(), 200);
    assert_eq!(marked.status().as_u16(), 200);
    let detail: Value = marked.json().await.unwrap();
    assert_eq!(detail["state"], "deploying");
    assert_eq!(detail["progress"], json!({"released": 1, "total": 4}));
    assert_eq!(conflict.status().as_u16(), 409);
    assert_eq!(
        error_of(conflict).await,
        "cannot deploy while component is preparing"
    );
    assert_eq!(listed["total"], 1);
    assert_eq!(
        listed["releases"][0]["progress"],
        json!({"released": 1, "total": 4})
    );
    assert!(events["events"].as_array().unwrap().len() >= 8, "{events}");
    assert!(
        app.jobs
            .pushed()
            .iter()
            .all(|job| *job == Job::AdvanceRelease { release_id: id })
    );
    app.remove_database().await;
}

#[tokio::test]
async fn a_webhook_delivery_is_recorded_once_on_postgres() {
    let app = spawn_app_on_postgres().await;
    let deliver = || {
        app.client
            .post(format!("{}/webhooks/gitlab", app.address))
            .header("X-Gitlab-Token", WEBHOOK_SECRET)
            .header("X-Gitlab-Event", "Merge Request Hook")
            .header("Idempotency-Key", "mr-delivery-1")
            .json(&json!({"object_kind": "merge_request", "project": {"path_with_namespace": "ios/b"}}))
            .send()
    };

    let first: Value = deliver().await.unwrap().json().await.unwrap();
    let second: Value = deliver().await.unwrap().json().await.unwrap();

    assert_eq!(first, json!({"status": "accepted"}));
    assert_eq!(second, json!({"status": "duplicate"}));
    assert_eq!(app.store.waiting_deliveries(10).await.unwrap().len(), 1);
    assert!(
        app.jobs.pushed().is_empty(),
        "the delivery is the work item"
    );
    app.remove_database().await;
}
