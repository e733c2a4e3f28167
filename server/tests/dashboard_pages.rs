//! The dashboard's pages, rendered by the whole server against a seeded SQLite store.

mod dashboard_helpers;

use convoy_store::{MergeRequestRecord, NewMainRelease, PipelineKind, PipelineRecord};
use dashboard_helpers::{seed_big_release, seed_release, spawn_dashboard};

#[tokio::test]
async fn the_releases_list_shows_each_release_with_its_progress() {
    let app = spawn_dashboard().await;
    let id = seed_release(&app.store).await;

    let response = app.get("/").await;

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains(&format!("href=\"/releases/{id}\"")), "{page}");
    assert!(page.contains("mobile/app"), "{page}");
    assert!(page.contains("release/2.0.0"), "{page}");
    assert!(page.contains("0 of 4 released"), "{page}");
    assert!(page.contains("alice"), "{page}");
    assert!(page.contains("/assets/list.js"), "{page}");
}

#[tokio::test]
async fn the_releases_list_is_paginated_newest_first() {
    let app = spawn_dashboard().await;
    for n in 1..=30 {
        app.store
            .create_main_release(&NewMainRelease {
                app_project: format!("mobile/app{n}"),
                app_ref: "main".to_string(),
                started_by: "alice".to_string(),
                require_review: false,
            })
            .await
            .unwrap();
    }

    let first = app.get("/").await.text().await.unwrap();
    let second = app.get("/?page=2").await.text().await.unwrap();

    assert!(first.contains("mobile/app30<"), "{first}");
    assert!(!first.contains("mobile/app5<"), "{first}");
    assert!(first.contains("Page 1 of 2"), "{first}");
    assert!(first.contains("href=\"/?page=2\""), "{first}");
    assert!(second.contains("mobile/app5<"), "{second}");
    assert!(second.contains("mobile/app1<"), "{second}");
    assert!(!second.contains("mobile/app30<"), "{second}");
    assert!(second.contains("href=\"/?page=1\""), "{second}");
}

#[tokio::test]
async fn the_release_page_shows_its_components_their_reasons_and_the_timeline() {
    let app = spawn_dashboard().await;
    let id = seed_release(&app.store).await;

    let response = app.get(&format!("/releases/{id}")).await;

    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    for name in ["CoreKit", "NetworkKit", "UIKitExtras", "PaymentsKit"] {
        assert!(
            page.contains(&format!("data-name=\"{name}\"")),
            "{name}: {page}"
        );
    }
    // A failed component says why, in its row and in the timeline.
    assert!(
        page.contains("tag 0.1.0 exists: change the version and retry"),
        "{page}"
    );
    assert!(
        page.contains("<span class=\"state state-failed\">failed</span>"),
        "{page}"
    );
    // The data the page's script renders from, and where its websocket starts.
    assert!(page.contains("id=\"release-data\""), "{page}");
    let last_event_id = app.store.last_event_id().await.unwrap();
    assert!(
        page.contains(&format!("data-last-event-id=\"{last_event_id}\"")),
        "{page}"
    );
    assert!(page.contains("CoreKit: planned"), "{page}");
    assert!(page.contains("/assets/release.js"), "{page}");
}

#[tokio::test]
async fn a_release_of_two_hundred_components_lists_every_one() {
    let app = spawn_dashboard().await;
    let id = seed_big_release(&app.store, 200).await;

    let response = app.get(&format!("/releases/{id}")).await;

    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert_eq!(page.matches("<tr data-name=\"Pod").count(), 200);
    assert!(page.contains("0 of 200 released"), "{page}");
    assert!(page.contains("needs Pod180, Pod183"), "{page}");
}

#[tokio::test]
async fn the_release_data_cannot_close_its_script_element() {
    let app = spawn_dashboard().await;
    let release = app
        .store
        .create_main_release(&NewMainRelease {
            app_project: "mobile/</script><script>alert(1)</script>".to_string(),
            app_ref: "main".to_string(),
            started_by: "mallory".to_string(),
            require_review: false,
        })
        .await
        .unwrap();

    let page = app
        .get(&format!("/releases/{}", release.id))
        .await
        .text()
        .await
        .unwrap();

    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert_eq!(page.matches("</script>").count(), 2, "{page}");
}

#[tokio::test]
async fn an_unknown_release_is_a_page_that_says_so() {
    let app = spawn_dashboard().await;

    let response = app.get("/releases/999").await;

    assert_eq!(response.status(), 404);
    let page = response.text().await.unwrap();
    assert!(page.contains("There is no release #999."), "{page}");
}

#[tokio::test]
async fn the_new_release_form_asks_for_the_app_and_its_ref() {
    let app = spawn_dashboard().await;

    let response = app.get("/releases/new").await;

    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("name=\"app_project\""), "{page}");
    assert!(page.contains("name=\"app_ref\""), "{page}");
    assert!(page.contains("name=\"require_review\""), "{page}");
    assert!(page.contains("/assets/new.js"), "{page}");
}

#[tokio::test]
async fn assets_are_served_from_the_binary_with_their_type_and_revalidated() {
    let app = spawn_dashboard().await;

    let script = app.get("/assets/release.js").await;
    assert_eq!(script.status(), 200);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(script.headers()["cache-control"], "no-cache");
    let etag = script.headers()["etag"].clone();
    assert!(script.text().await.unwrap().contains("connectLive"));

    let style = app.get("/assets/style.css").await;
    assert_eq!(style.headers()["content-type"], "text/css; charset=utf-8");

    let again = app
        .client
        .get(format!("{}/assets/release.js", app.address))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    assert_eq!(app.get("/assets/nope.js").await.status(), 404);
    // No way out of the frontend folder.
    assert_eq!(
        app.get("/assets/..%2f..%2fserver%2fCargo.toml")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn links_from_gitlab_that_are_not_http_are_shown_as_text_only() {
    let app = spawn_dashboard().await;
    let id = seed_release(&app.store).await;
    let components = app.store.components(id).await.unwrap();
    let core = components.iter().find(|c| c.name == "CoreKit").unwrap();
    let network = components.iter().find(|c| c.name == "NetworkKit").unwrap();
    app.store
        .record_merge_request(
            core.id,
            &MergeRequestRecord {
                project_path: "ios/core-kit".to_string(),
                iid: 4,
                source_branch: "release/0.1.0".to_string(),
                target_branch: "main".to_string(),
                state: "opened".to_string(),
                web_url: "javascript:alert(document.cookie)".to_string(),
                auto_merge: false,
            },
        )
        .await
        .unwrap();
    app.store
        .record_pipeline(
            core.id,
            &PipelineRecord {
                project_path: "ios/core-kit".to_string(),
                pipeline_id: 31,
                kind: PipelineKind::MergeRequest,
                git_ref: "release/0.1.0".to_string(),
                sha: "abc123".to_string(),
                status: "running".to_string(),
                web_url: "data:text/html,<script>alert(1)</script>".to_string(),
                failed_job: None,
                failure_log: None,
                duration: None,
            },
        )
        .await
        .unwrap();
    app.store
        .record_merge_request(
            network.id,
            &MergeRequestRecord {
                project_path: "ios/network-kit".to_string(),
                iid: 5,
                source_branch: "release/0.1.0".to_string(),
                target_branch: "main".to_string(),
                state: "opened".to_string(),
                web_url: "https://gitlab.example/ios/network-kit/-/merge_requests/5".to_string(),
                auto_merge: false,
            },
        )
        .await
        .unwrap();

    let page = app
        .get(&format!("/releases/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("javascript:"), "{page}");
    assert!(!page.contains("data:text/html"), "{page}");
    assert!(
        page.contains("!4 opened"),
        "the merge request is still named: {page}"
    );
    assert!(
        page.contains("#31 MR running"),
        "the pipeline is still named: {page}"
    );
    assert!(
        page.contains(
            "<a href=\"https://gitlab.example/ios/network-kit/-/merge_requests/5\">!5</a>"
        ),
        "an https link stays a link: {page}"
    );

    let api: serde_json::Value = app
        .get(&format!("/api/v1/releases/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let core_view = api["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "CoreKit")
        .unwrap();
    assert!(
        core_view["merge_request"]["web_url"].is_null(),
        "{core_view}"
    );
    assert!(core_view["pipeline"]["web_url"].is_null(), "{core_view}");
}
