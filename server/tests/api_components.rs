//! Acting on one component through `/api/v1/releases/{id}/components/{name}/…`.

mod api_helpers;

use api_helpers::{ACTOR, TestApp, error_of, spawn_app};
use convoy_core::{ComponentState, MainReleaseState};
use convoy_store::Job;
use convoy_store::{Change, MergeRequestRecord, PipelineKind, PipelineRecord, TagRecord};
use serde_json::{Value, json};

impl TestApp {
    /// Puts component `name` of release `id` through `states` directly in the store, as the
    /// worker would.
    async fn walk_component(&self, id: i64, name: &str, states: &[ComponentState]) {
        let component = self
            .store
            .component_by_name(id, name)
            .await
            .unwrap()
            .unwrap();
        let mut from = component.state;
        for &to in states {
            let change = Change::by("worker").because(format!("test moves {name}"));
            let moved = self
                .store
                .transition_component(component.id, from, to, &change)
                .await
                .unwrap();
            assert!(moved, "{name} was {from:?}");
            from = to;
        }
    }

    async fn walk_release(&self, id: i64, states: &[MainReleaseState]) {
        let mut from = self.store.main_release(id).await.unwrap().unwrap().state;
        for &to in states {
            let moved = self
                .store
                .transition_main_release(id, from, to, &Change::by("worker"))
                .await
                .unwrap();
            assert!(moved, "the release was {from:?}");
            from = to;
        }
    }

    /// A deploying release where A failed (and the release with it).
    async fn release_with_a_failed_component(&self) -> i64 {
        let id = self.waiting_release().await;
        self.walk_release(id, &[MainReleaseState::Deploying]).await;
        self.walk_component(
            id,
            "A",
            &[ComponentState::Preparing, ComponentState::Failed],
        )
        .await;
        self.walk_release(id, &[MainReleaseState::Failed]).await;
        id
    }
}

fn component<'a>(detail: &'a Value, name: &str) -> &'a Value {
    detail["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|component| component["name"] == name)
        .unwrap_or_else(|| panic!("no component {name} in {detail}"))
}

#[tokio::test]
async fn a_waiting_component_gets_the_version_the_release_manager_sets() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;

    let response = app
        .put(
            &format!("/api/v1/releases/{id}/components/B/version"),
            json!({"version": "0.2.0"}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(component(&body, "B")["version"], "0.2.0");
    assert_eq!(component(&body, "B")["default_version"], "0.1.0");
    let events = app.store.events(id, 0, 100).await.unwrap();
    let changed = events.last().unwrap();
    assert_eq!(changed.kind, "version_changed");
    assert_eq!(changed.actor, ACTOR);
    assert_eq!(changed.component_name.as_deref(), Some("B"));
}

#[tokio::test]
async fn a_version_that_is_not_semver_is_refused_with_the_rule() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;

    let response = app
        .put(
            &format!("/api/v1/releases/{id}/components/B/version"),
            json!({"version": "1.4"}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 422);
    assert_eq!(
        error_of(response).await,
        "\"1.4\" is not a valid version: use MAJOR.MINOR.PATCH, for example 1.4.0"
    );
}

#[tokio::test]
async fn a_version_cannot_change_once_the_component_is_deployed() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;
    app.post(
        &format!("/api/v1/releases/{id}/components/B/deploy"),
        json!({}),
    )
    .await;

    let response = app
        .put(
            &format!("/api/v1/releases/{id}/components/B/version"),
            json!({"version": "0.2.0"}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 409);
    assert!(
        error_of(response)
            .await
            .ends_with("while component is preparing"),
        "the sentence names the state"
    );
}

#[tokio::test]
async fn an_unknown_component_is_not_found() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;

    let response = app
        .post(
            &format!("/api/v1/releases/{id}/components/Z/deploy"),
            json!({}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        error_of(response).await,
        format!("release {id} has no component named Z: check the name on the release page")
    );
}

#[tokio::test]
async fn deploying_one_component_starts_the_release_deploying() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;

    let response = app
        .post(
            &format!("/api/v1/releases/{id}/components/A/deploy"),
            json!({}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["state"], "deploying");
    assert_eq!(component(&body, "A")["state"], "preparing");
    assert_eq!(component(&body, "B")["state"], "waiting");
    assert_eq!(
        app.jobs.pushed().last(),
        Some(&Job::AdvanceRelease { release_id: id })
    );
}

#[tokio::test]
async fn deploying_the_rest_after_one_deploys_only_the_waiting_ones() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;
    app.post(
        &format!("/api/v1/releases/{id}/components/A/deploy"),
        json!({}),
    )
    .await;

    let response = app
        .post(&format!("/api/v1/releases/{id}/deploy"), json!({}))
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    for name in ["A", "B", "C", "D"] {
        assert_eq!(component(&body, name)["state"], "preparing", "{name}");
    }
}

#[tokio::test]
async fn deploying_a_component_twice_is_a_conflict() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;
    app.post(
        &format!("/api/v1/releases/{id}/components/A/deploy"),
        json!({}),
    )
    .await;

    let again = app
        .post(
            &format!("/api/v1/releases/{id}/components/A/deploy"),
            json!({}),
        )
        .await;

    assert_eq!(again.status().as_u16(), 409);
    assert_eq!(
        error_of(again).await,
        "cannot deploy while component is preparing"
    );
}

#[tokio::test]
async fn marking_a_component_released_needs_a_reason() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;

    for body in [json!({}), json!({"reason": "   "})] {
        let response = app
            .post(
                &format!("/api/v1/releases/{id}/components/C/released"),
                body,
            )
            .await;

        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(
            error_of(response).await,
            "a reason is required to mark C as released: say how it was released, for example \"tagged 1.2.0 by hand\""
        );
    }
}

#[tokio::test]
async fn marking_a_component_released_records_who_and_why() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;

    let response = app
        .post(
            &format!("/api/v1/releases/{id}/components/C/released"),
            json!({"reason": "released by the platform team"}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    let c = component(&body, "C");
    assert_eq!(c["state"], "success");
    assert_eq!(c["released_by"], ACTOR);
    assert_eq!(body["progress"], json!({"released": 1, "total": 4}));
    let events = app.store.events(id, 0, 100).await.unwrap();
    let marked = events
        .iter()
        .find(|event| event.to_state.as_deref() == Some("success"))
        .expect("a success event");
    assert_eq!(marked.actor, ACTOR);
    assert!(
        marked
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("released by the platform team"),
        "{marked:?}"
    );
}

#[tokio::test]
async fn retrying_a_failed_component_prepares_it_again_and_reopens_the_release() {
    let app = spawn_app().await;
    let id = app.release_with_a_failed_component().await;

    let response = app
        .post(
            &format!("/api/v1/releases/{id}/components/A/retry"),
            json!({}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["state"], "deploying");
    assert_eq!(component(&body, "A")["state"], "preparing");
}

#[tokio::test]
async fn retrying_a_failed_release_retries_every_failed_component() {
    let app = spawn_app().await;
    let id = app.release_with_a_failed_component().await;
    let before: Value = app
        .get(&format!("/api/v1/releases/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["actions"], json!(["retry", "cancel"]));
    assert_eq!(component(&before, "B")["blocked_by"], json!(["A"]));

    let response = app
        .post(&format!("/api/v1/releases/{id}/retry"), json!({}))
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["state"], "deploying");
    assert_eq!(component(&body, "A")["state"], "preparing");
    assert_eq!(component(&body, "B")["blocked_by"], json!([]));
}

#[tokio::test]
async fn retrying_a_component_that_did_not_fail_is_a_conflict() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;

    let response = app
        .post(
            &format!("/api/v1/releases/{id}/components/A/retry"),
            json!({}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 409);
    assert_eq!(
        error_of(response).await,
        "cannot retry while component is waiting"
    );
}

#[tokio::test]
async fn marking_a_merge_request_reviewed_is_recorded_once() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;
    app.store.set_require_review(id, true).await.unwrap();
    app.walk_component(
        id,
        "B",
        &[ComponentState::Preparing, ComponentState::Pending],
    )
    .await;

    let first = app
        .post(
            &format!("/api/v1/releases/{id}/components/B/reviewed"),
            json!({}),
        )
        .await;
    let second = app
        .post(
            &format!("/api/v1/releases/{id}/components/B/reviewed"),
            json!({}),
        )
        .await;

    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(second.status().as_u16(), 200);
    let body: Value = second.json().await.unwrap();
    assert_eq!(component(&body, "B")["reviewed"], true);
    let reviewed = app
        .store
        .events(id, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.kind == "reviewed")
        .count();
    assert_eq!(reviewed, 1);
}

#[tokio::test]
async fn nothing_changes_in_a_canceled_release() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;
    app.post(&format!("/api/v1/releases/{id}/cancel"), json!({}))
        .await;

    let response = app
        .post(
            &format!("/api/v1/releases/{id}/components/A/released"),
            json!({"reason": "by hand"}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 409);
    assert_eq!(
        error_of(response).await,
        "cannot mark as released while release is canceled"
    );
}

#[tokio::test]
async fn a_failed_component_shows_its_merge_request_pipeline_tag_and_what_it_blocks() {
    let app = spawn_app().await;
    let id = app.release_with_a_failed_component().await;
    let a = app.store.component_by_name(id, "A").await.unwrap().unwrap();
    app.store
        .record_merge_request(
            a.id,
            &MergeRequestRecord {
                project_path: "ios/a".to_string(),
                iid: 4,
                source_branch: "release/0.1.0".to_string(),
                target_branch: "main".to_string(),
                state: "merged".to_string(),
                web_url: "http://forge.test/ios/a/-/merge_requests/4".to_string(),
                auto_merge: true,
            },
        )
        .await
        .unwrap();
    app.store
        .record_tag(
            a.id,
            &TagRecord {
                project_path: "ios/a".to_string(),
                name: "0.1.0".to_string(),
                sha: "abc123".to_string(),
            },
        )
        .await
        .unwrap();
    app.store
        .record_pipeline(
            a.id,
            &PipelineRecord {
                project_path: "ios/a".to_string(),
                pipeline_id: 31,
                kind: PipelineKind::Tag,
                git_ref: "0.1.0".to_string(),
                sha: "abc123".to_string(),
                status: "failed".to_string(),
                web_url: "http://forge.test/ios/a/-/pipelines/31".to_string(),
                failed_job: Some("publish".to_string()),
                failure_log: Some("pod trunk push failed".to_string()),
                duration: Some(42),
            },
        )
        .await
        .unwrap();

    let body: Value = app
        .get(&format!("/api/v1/releases/{id}"))
        .await
        .json()
        .await
        .unwrap();

    let a = component(&body, "A");
    assert_eq!(a["state"], "failed");
    assert_eq!(a["reason"], "test moves A");
    assert_eq!(
        a["merge_request"],
        json!({"iid": 4, "state": "merged", "web_url": "http://forge.test/ios/a/-/merge_requests/4"})
    );
    assert_eq!(
        a["pipeline"],
        json!({
            "id": 31, "kind": "tag", "status": "failed",
            "web_url": "http://forge.test/ios/a/-/pipelines/31",
            "failed_job": "publish", "failure_log": "pod trunk push failed"
        })
    );
    assert_eq!(
        a["tag"],
        json!({"name": "0.1.0", "web_url": "http://forge.test/ios/a/-/tags/0.1.0"})
    );
    assert_eq!(
        a["actions"],
        json!(["edit_version", "mark_released", "retry"])
    );
    assert_eq!(component(&body, "D")["blocked_by"], json!(["A"]));
}

#[tokio::test]
async fn marking_the_failed_component_released_lets_a_failed_release_go_on() {
    let app = spawn_app().await;
    let id = app.release_with_a_failed_component().await;

    let response = app
        .post(
            &format!("/api/v1/releases/{id}/components/A/released"),
            json!({"reason": "tagged 0.1.0 by hand"}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["state"], "deploying");
    assert_eq!(component(&body, "A")["state"], "success");
    assert_eq!(component(&body, "B")["blocked_by"], json!([]));
    let events = app.store.events(id, 0, 100).await.unwrap();
    let last_two: Vec<_> = events[events.len() - 2..]
        .iter()
        .map(|event| (event.component_name.clone(), event.to_state.clone()))
        .collect();
    assert_eq!(
        last_two,
        vec![
            (Some("A".to_string()), Some("success".to_string())),
            (None, Some("deploying".to_string())),
        ],
        "the component moves before the release"
    );
}

#[tokio::test]
async fn a_reason_or_a_version_longer_than_the_limit_is_refused_and_nothing_changes() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;

    let response = app
        .post(
            &format!("/api/v1/releases/{id}/components/C/released"),
            json!({"reason": "x".repeat(1024 * 1024 - 100)}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        error_of(response).await,
        "reason is 1048476 characters long: send at most 1000"
    );

    let response = app
        .put(
            &format!("/api/v1/releases/{id}/components/B/version"),
            json!({"version": format!("1.0.0-{}", "a".repeat(10 * 1024))}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        error_of(response).await,
        "version is 10246 characters long: send at most 100"
    );

    let before = app.store.components(id).await.unwrap();
    for component in &before {
        assert_eq!(
            component.state,
            ComponentState::Waiting,
            "{}",
            component.name
        );
        assert!(component.released_by.is_none(), "{}", component.name);
        assert_ne!(component.version.as_deref().map(str::len), Some(10246));
    }
}

#[tokio::test]
async fn a_review_is_accepted_only_where_the_release_offers_it() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;
    let reviewed = |name: &str| format!("/api/v1/releases/{id}/components/{name}/reviewed");

    // No review gate: nothing to review, whatever the component's state.
    app.walk_component(
        id,
        "B",
        &[ComponentState::Preparing, ComponentState::Pending],
    )
    .await;
    let ungated = app.post(&reviewed("B"), json!({})).await;
    assert_eq!(ungated.status().as_u16(), 409);
    assert_eq!(
        error_of(ungated).await,
        format!("release {id} has no review gate: its merge requests merge without a review")
    );

    // With the gate: only a pending merge request waits for a review.
    app.store.set_require_review(id, true).await.unwrap();
    app.walk_component(id, "C", &[ComponentState::Preparing])
        .await;
    let preparing = app.post(&reviewed("C"), json!({})).await;
    assert_eq!(preparing.status().as_u16(), 409);
    assert_eq!(
        error_of(preparing).await,
        "C has no merge request waiting for review: it is preparing"
    );
    let offered = |detail: &Value, name: &str| {
        component(detail, name)["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("mark_reviewed"))
    };
    let detail: Value = app
        .get(&format!("/api/v1/releases/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(offered(&detail, "B") && !offered(&detail, "C"), "{detail}");
    let pending = app.post(&reviewed("B"), json!({})).await;
    assert_eq!(pending.status().as_u16(), 200);
    assert!(
        !offered(&pending.json().await.unwrap(), "B"),
        "reviewed once"
    );
}

#[tokio::test]
async fn a_failed_release_with_nothing_failed_offers_no_retry_and_refuses_one() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;
    app.walk_release(id, &[MainReleaseState::Deploying]).await;
    for name in ["A", "B", "C", "D"] {
        app.walk_component(
            id,
            name,
            &[ComponentState::Preparing, ComponentState::Merged],
        )
        .await;
    }
    // Every component is merged, and the release failed at the Podfile step, say.
    app.walk_release(id, &[MainReleaseState::Failed]).await;
    let detail: Value = app
        .get(&format!("/api/v1/releases/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["actions"], json!(["cancel"]), "{detail}");

    let retry = app
        .post(&format!("/api/v1/releases/{id}/retry"), json!({}))
        .await;

    assert_eq!(retry.status().as_u16(), 409);
    assert_eq!(
        error_of(retry).await,
        format!("no component of release {id} has failed: there is nothing to retry")
    );
    let after = app.store.main_release(id).await.unwrap().unwrap();
    assert_eq!(after.state, MainReleaseState::Failed, "nothing moved");
}
