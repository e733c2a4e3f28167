//! Starting, listing, reading, deploying and canceling releases through `/api/v1`.

mod api_helpers;

use api_helpers::{ACTOR, BOOTSTRAP_TOKEN, error_of, spawn_app};
use convoy_core::{ComponentState, MainReleaseState};
use convoy_store::Change;
use convoy_store::Job;
use serde_json::{Value, json};

#[tokio::test]
async fn the_health_check_answers_200() {
    let app = spawn_app().await;

    let response = app.get("/health_check").await;

    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn starting_a_release_answers_201_with_its_detail_and_nudges_the_worker() {
    let app = spawn_app().await;

    let response = app
        .post(
            "/api/v1/releases",
            json!({"app_project": "mobile/app", "app_ref": "release/2.0.0", "require_review": true}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_i64().unwrap();
    assert_eq!(body["app_project"], "mobile/app");
    assert_eq!(body["app_ref"], "release/2.0.0");
    assert_eq!(body["state"], "analyzing");
    assert_eq!(body["require_review"], true);
    assert_eq!(body["started_by"], ACTOR);
    assert_eq!(body["progress"], json!({"released": 0, "total": 0}));
    assert_eq!(body["components"], json!([]));
    assert_eq!(
        app.jobs.pushed(),
        vec![Job::AdvanceRelease { release_id: id }]
    );
}

#[tokio::test]
async fn a_header_naming_an_actor_proves_nothing() {
    let app = spawn_app().await;

    let response = app
        .client
        .post(format!("{}/api/v1/releases", app.address))
        .header("X-Convoy-Actor", "release-manager")
        .json(&json!({"app_project": "mobile/app", "app_ref": "main"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        error_of(response).await,
        "sign in first: open Convoy in a browser and sign in with GitLab, or send a personal API token as `Authorization: Bearer <token>`"
    );
    let (releases, total) = app.store.list_main_releases(1, 10).await.unwrap();
    assert_eq!((releases.len(), total), (0, 0));
}

#[tokio::test]
async fn a_release_needs_a_project_path_with_a_group() {
    let app = spawn_app().await;
    let cases = [
        (
            "",
            "app_project is empty: give the GitLab path of the app project, for example mobile/app",
        ),
        (
            "app",
            "app_project \"app\" is not a GitLab project path: use group/name, for example mobile/app",
        ),
        (
            "mobile/",
            "app_project \"mobile/\" is not a GitLab project path: it has an empty segment (two slashes, or one at either end); use group/name, for example mobile/app",
        ),
    ];
    for (project, expected) in cases {
        let response = app
            .post(
                "/api/v1/releases",
                json!({"app_project": project, "app_ref": "release/2.0.0"}),
            )
            .await;

        assert_eq!(response.status().as_u16(), 400, "for {project:?}");
        assert_eq!(error_of(response).await, expected);
    }
    assert!(app.jobs.pushed().is_empty());
}

#[tokio::test]
async fn a_release_needs_a_ref() {
    let app = spawn_app().await;

    let response = app
        .post(
            "/api/v1/releases",
            json!({"app_project": "mobile/app", "app_ref": "  "}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        error_of(response).await,
        "app_ref is empty: give the branch to release, for example release/2.0.0"
    );
}

#[tokio::test]
async fn project_paths_gitlab_would_refuse_are_refused_with_a_sentence() {
    let app = spawn_app().await;
    for project in [
        "../..",
        "mobile/../app",
        "mobile//app",
        "mobile/app.git",
        "mobile/a b",
    ] {
        let response = app
            .post(
                "/api/v1/releases",
                json!({"app_project": project, "app_ref": "release/2.0.0"}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 400, "for {project:?}");
        let error = error_of(response).await;
        assert!(
            error.starts_with("app_project ") && error.contains("use group/name"),
            "for {project:?}: {error}"
        );
    }
    assert!(app.jobs.pushed().is_empty());
    let (_, total) = app.store.list_main_releases(1, 10).await.unwrap();
    assert_eq!(total, 0, "nothing was recorded");
}

#[tokio::test]
async fn refs_git_would_refuse_are_refused_with_a_sentence_of_bounded_length() {
    let app = spawn_app().await;
    let huge = "a".repeat(200 * 1024);
    for git_ref in [
        "-rf",
        "~^:*[",
        "?x=1",
        "release\u{202E}0.0.2",
        "a..b",
        "x.lock",
        "a@{1}",
        huge.as_str(),
    ] {
        let response = app
            .post(
                "/api/v1/releases",
                json!({"app_project": "mobile/app", "app_ref": git_ref}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 400, "for {git_ref:.20?}");
        let error = error_of(response).await;
        assert!(error.starts_with("app_ref "), "for {git_ref:.20?}: {error}");
        assert!(
            error.len() < 300,
            "the sentence echoes the input: {error:.300}"
        );
    }
    let (_, total) = app.store.list_main_releases(1, 10).await.unwrap();
    assert_eq!(total, 0, "nothing was recorded");
}

#[tokio::test]
async fn a_request_missing_a_field_is_refused_with_a_sentence() {
    let app = spawn_app().await;

    let response = app
        .post("/api/v1/releases", json!({"app_project": "mobile/app"}))
        .await;

    assert_eq!(response.status().as_u16(), 400);
    let error = error_of(response).await;
    assert!(
        error.starts_with(
            "the request body is not what this endpoint expects: missing field `app_ref`"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn releases_are_listed_newest_first_page_by_page() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(app.create_release().await);
    }

    let first: Value = app
        .get("/api/v1/releases?page=1&per_page=2")
        .await
        .json()
        .await
        .unwrap();
    let second: Value = app
        .get("/api/v1/releases?page=2&per_page=2")
        .await
        .json()
        .await
        .unwrap();

    let listed = |page: &Value| -> Vec<i64> {
        page["releases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|release| release["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(listed(&first), vec![ids[2], ids[1]]);
    assert_eq!(listed(&second), vec![ids[0]]);
    assert_eq!(first["total"], 3);
    assert_eq!(first["page"], 1);
    assert_eq!(first["per_page"], 2);
    let line = &first["releases"][0];
    assert_eq!(line["app_project"], "mobile/app");
    assert_eq!(line["state"], "analyzing");
    assert_eq!(line["started_by"], ACTOR);
    assert_eq!(line["progress"], json!({"released": 0, "total": 0}));
    assert_eq!(line["finished_at"], Value::Null);
}

#[tokio::test]
async fn more_than_100_releases_per_page_is_refused() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/releases?per_page=101").await;

    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        error_of(response).await,
        "per_page must be between 1 and 100: ask for fewer releases per page"
    );
}

#[tokio::test]
async fn an_unknown_release_is_not_found() {
    let app = spawn_app().await;
    let expected = "release 99 does not exist: list releases with GET /api/v1/releases";

    let read = app.get("/api/v1/releases/99").await;
    let events = app.get("/api/v1/releases/99/events").await;
    let deploy = app.post("/api/v1/releases/99/deploy", json!({})).await;

    for response in [read, events, deploy] {
        assert_eq!(response.status().as_u16(), 404);
        assert_eq!(error_of(response).await, expected);
    }
}

#[tokio::test]
async fn a_release_id_that_is_not_a_number_is_not_found() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/releases/latest").await;

    assert_eq!(response.status().as_u16(), 404);
    assert!(error_of(response).await.starts_with("no such release"));
}

#[tokio::test]
async fn the_event_log_tells_who_started_the_release_and_what_happened() {
    let app = spawn_app().await;
    let id = app.create_release().await;

    let body: Value = app
        .get(&format!("/api/v1/releases/{id}/events"))
        .await
        .json()
        .await
        .unwrap();

    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{body}");
    assert_eq!(events[0]["kind"], "created");
    assert_eq!(events[0]["actor"], ACTOR);
    assert_eq!(events[1]["kind"], "state");
    assert_eq!(events[1]["from_state"], "created");
    assert_eq!(events[1]["to_state"], "analyzing");

    let first_id = events[0]["id"].as_i64().unwrap();
    let after: Value = app
        .get(&format!("/api/v1/releases/{id}/events?after={first_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_waiting_release_shows_what_each_component_waits_on() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;

    let body: Value = app
        .get(&format!("/api/v1/releases/{id}"))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(body["state"], "waiting");
    assert_eq!(body["progress"], json!({"released": 0, "total": 4}));
    assert_eq!(body["actions"], json!(["deploy", "cancel"]));
    let d = &body["components"][3];
    assert_eq!(d["name"], "D");
    assert_eq!(d["state"], "waiting");
    assert_eq!(d["version"], "0.1.0");
    assert_eq!(d["default_version"], "0.1.0");
    assert_eq!(d["podspec_version"], "0.0.9");
    assert_eq!(d["project_path"], "ios/d");
    assert_eq!(d["dependencies"], json!(["B", "C"]));
    assert_eq!(d["waiting_on"], json!(["B", "C"]));
    assert_eq!(d["reason"], "waiting for B, C");
    assert_eq!(d["merge_request"], Value::Null);
    assert_eq!(d["tag"], Value::Null);
    assert_eq!(
        d["actions"],
        json!(["edit_version", "deploy", "mark_released", "cancel"])
    );
}

#[tokio::test]
async fn deploying_a_waiting_release_prepares_every_component() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;

    let response = app
        .post(&format!("/api/v1/releases/{id}/deploy"), json!({}))
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["state"], "deploying");
    for component in body["components"].as_array().unwrap() {
        assert_eq!(component["state"], "preparing", "{component}");
    }
    assert_eq!(
        app.jobs.pushed().last(),
        Some(&Job::AdvanceRelease { release_id: id })
    );
}

#[tokio::test]
async fn deploying_a_release_still_being_analyzed_is_a_conflict() {
    let app = spawn_app().await;
    let id = app.create_release().await;

    let response = app
        .post(&format!("/api/v1/releases/{id}/deploy"), json!({}))
        .await;

    assert_eq!(response.status().as_u16(), 409);
    assert_eq!(
        error_of(response).await,
        "cannot deploy while release is analyzing"
    );
}

#[tokio::test]
async fn deploying_a_release_twice_is_a_conflict() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;
    app.post(&format!("/api/v1/releases/{id}/deploy"), json!({}))
        .await;

    let again = app
        .post(&format!("/api/v1/releases/{id}/deploy"), json!({}))
        .await;

    assert_eq!(again.status().as_u16(), 409);
    assert_eq!(
        error_of(again).await,
        format!(
            "release {id} has no component waiting to be deployed: every component is deployed already"
        )
    );
}

#[tokio::test]
async fn canceling_a_release_cancels_every_unfinished_component() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;

    let response = app
        .post(&format!("/api/v1/releases/{id}/cancel"), json!({}))
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["state"], "canceled");
    assert!(body["finished_at"].is_string());
    assert_eq!(body["actions"], json!([]));
    for component in body["components"].as_array().unwrap() {
        assert_eq!(component["state"], "canceled", "{component}");
        assert_eq!(component["actions"], json!([]), "{component}");
    }
}

#[tokio::test]
async fn canceling_a_canceled_release_is_a_conflict() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;
    app.post(&format!("/api/v1/releases/{id}/cancel"), json!({}))
        .await;

    let again = app
        .post(&format!("/api/v1/releases/{id}/cancel"), json!({}))
        .await;

    assert_eq!(again.status().as_u16(), 409);
    assert_eq!(
        error_of(again).await,
        "cannot cancel while release is canceled"
    );
}

#[tokio::test]
async fn retrying_a_release_that_did_not_fail_is_a_conflict() {
    let app = spawn_app().await;
    let id = app.waiting_release().await;

    let response = app
        .post(&format!("/api/v1/releases/{id}/retry"), json!({}))
        .await;

    assert_eq!(response.status().as_u16(), 409);
    assert_eq!(
        error_of(response).await,
        "cannot retry while release is waiting"
    );
}

#[tokio::test]
async fn without_sign_in_only_the_bootstrap_token_changes_and_anonymous_reads() {
    let app = spawn_app().await;

    let refused = app
        .client
        .post(format!("{}/api/v1/releases", app.address))
        .json(&json!({"app_project": "mobile/app", "app_ref": "main"}))
        .send()
        .await
        .unwrap();
    let wrong = app
        .client
        .post(format!("{}/api/v1/releases", app.address))
        .bearer_auth("guess")
        .json(&json!({"app_project": "mobile/app", "app_ref": "main"}))
        .send()
        .await
        .unwrap();
    let accepted = app
        .client
        .post(format!("{}/api/v1/releases", app.address))
        .bearer_auth(BOOTSTRAP_TOKEN)
        .json(&json!({"app_project": "mobile/app", "app_ref": "main"}))
        .send()
        .await
        .unwrap();
    let listed = app.get("/api/v1/releases").await;

    assert_eq!(refused.status().as_u16(), 401);
    assert_eq!(
        error_of(refused).await,
        "sign in first: open Convoy in a browser and sign in with GitLab, or send a personal API token as `Authorization: Bearer <token>`"
    );
    assert_eq!(wrong.status().as_u16(), 401);
    assert_eq!(
        error_of(wrong).await,
        "this API token is not known to Convoy: create a personal API token on the Tokens page and send it as `Authorization: Bearer <token>`"
    );
    assert_eq!(accepted.status().as_u16(), 201);
    assert_eq!(listed.status().as_u16(), 200);
}

#[tokio::test]
async fn an_unknown_api_address_answers_404_in_json() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/nothing-here").await;

    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        error_of(response).await,
        "there is no GET /api/v1/nothing-here endpoint: the API's routes start with /api/v1/releases"
    );
}

/// Issue 14 point 5: two active releases of one app and ref both tagged the same components.
#[tokio::test]
async fn a_second_release_of_an_app_and_ref_is_refused_while_the_first_is_active() {
    let app = spawn_app().await;
    let first = app.create_release().await;
    let start = json!({"app_project": "mobile/app", "app_ref": "release/2.0.0"});

    let refused = app.post("/api/v1/releases", start.clone()).await;

    assert_eq!(refused.status().as_u16(), 409);
    assert_eq!(
        error_of(refused).await,
        format!(
            "release {first} of mobile/app at release/2.0.0 is still analyzing: finish or cancel it first"
        )
    );
    let (_, total) = app.store.list_main_releases(1, 10).await.unwrap();
    assert_eq!(total, 1, "the refused start wrote nothing");
    assert_eq!(
        app.jobs.pushed(),
        vec![Job::AdvanceRelease { release_id: first }],
        "the refused start nudged nothing"
    );

    app.post(&format!("/api/v1/releases/{first}/cancel"), json!({}))
        .await;
    let again = app.post("/api/v1/releases", start).await;
    assert_eq!(again.status().as_u16(), 201);
}

#[tokio::test]
async fn retrying_a_failed_release_while_another_of_its_app_and_ref_is_active_is_refused() {
    let app = spawn_app().await;
    let failed = app.waiting_release().await;
    let a = app.store.components(failed).await.unwrap()[0].clone();
    let worker = Change::by("worker");
    assert!(
        app.store
            .transition_component(a.id, a.state, ComponentState::Failed, &worker)
            .await
            .unwrap()
    );
    assert!(
        app.store
            .transition_main_release(
                failed,
                MainReleaseState::Waiting,
                MainReleaseState::Failed,
                &worker
            )
            .await
            .unwrap()
    );
    let started = app
        .post(
            "/api/v1/releases",
            json!({"app_project": "mobile/app", "app_ref": "release/2.0.0"}),
        )
        .await;
    assert_eq!(started.status().as_u16(), 201);
    let started: Value = started.json().await.unwrap();
    let same_ref = started["id"].as_i64().unwrap();

    let response = app
        .post(&format!("/api/v1/releases/{failed}/retry"), json!({}))
        .await;

    assert_eq!(response.status().as_u16(), 409);
    assert_eq!(
        error_of(response).await,
        format!(
            "release {same_ref} of mobile/app at release/2.0.0 is still analyzing: finish or cancel it first"
        )
    );
    let release = app.store.main_release(failed).await.unwrap().unwrap();
    assert_eq!(release.state, MainReleaseState::Failed);
    let a = app.store.components(failed).await.unwrap()[0].clone();
    assert_eq!(a.state, ComponentState::Failed, "no component moved");
}
