//! A release manager's stories, end to end: the real server, worker, database and GitLab
//! adapter against the GitLab simulator.
//!
//! The demo app's plan is the brief's diamond:
//!
//! ```text
//!            CoreKit
//!           /       \
//!   NetworkKit     StorageKit      order: CoreKit, then NetworkKit and StorageKit together,
//!           \       /              then FeatureKit
//!           FeatureKit
//! ```

mod support;

use std::time::Duration;

use convoy_simulator::{DeliveryOutcome, Faults};
use support::slack::FakeSlack;
use support::{APP, APP_REF, Database, Options, TestConvoy, entered, spawn_convoy};

const RELEASED: [(&str, &str); 4] = [
    ("CoreKit", "0.1.0"),
    ("NetworkKit", "0.1.0"),
    ("StorageKit", "0.1.0"),
    ("FeatureKit", "0.1.0"),
];

async fn the_diamond_is_released(database: Database) {
    let convoy = spawn_convoy(Options {
        database,
        ..Options::default()
    })
    .await;
    let release = convoy.release_all().await;
    assert_eq!(release.state, "success", "{release:#?}");
    let events = convoy.events(release.id).await;

    // CoreKit's tag pipeline succeeded before NetworkKit's or StorageKit's MR merged.
    let core_released = entered(&events, "CoreKit", "success");
    assert!(core_released < entered(&events, "NetworkKit", "merged"));
    assert!(core_released < entered(&events, "StorageKit", "merged"));
    // NetworkKit and StorageKit ran at the same time: once CoreKit was out, Convoy started both
    // merge request pipelines before either was released. (The same pass starts both, so
    // this holds however fast or slow the pipelines and the machine are.)
    let both_started = acted_on_released_dependencies(&events, "NetworkKit")
        .max(acted_on_released_dependencies(&events, "StorageKit"));
    let first_done =
        entered(&events, "NetworkKit", "success").min(entered(&events, "StorageKit", "success"));
    assert!(
        both_started < first_done,
        "NetworkKit and StorageKit overlap"
    );
    // FeatureKit merged only after both were released.
    let feature_merged = entered(&events, "FeatureKit", "merged");
    assert!(entered(&events, "NetworkKit", "success") < feature_merged);
    assert!(entered(&events, "StorageKit", "success") < feature_merged);

    convoy.assert_side_effects_once();
    convoy.assert_podfile_pins(&RELEASED);
    convoy.remove_postgres_database().await;
}

/// The id of the event in which Convoy acted on `component`'s released dependencies (retried
/// its merge request pipeline, or tagged it).
fn acted_on_released_dependencies(events: &[convoy::client::EventView], component: &str) -> i64 {
    events
        .iter()
        .find(|e| {
            e.component_name.as_deref() == Some(component)
                && e.reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("dependencies released"))
        })
        .unwrap_or_else(|| panic!("Convoy acted on {component}'s released dependencies"))
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_diamond_releases_in_dependency_order_and_pins_the_podfile_on_sqlite() {
    the_diamond_is_released(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_diamond_releases_in_dependency_order_and_pins_the_podfile_on_postgresql() {
    the_diamond_is_released(Database::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lint_fails_until_the_dependency_is_out_then_passes_after_the_retry_with_no_human_action() {
    let convoy = spawn_convoy(Options::default()).await;
    // The owner's last push to the release branch: its pipeline fails lint, because the
    // CoreKit 0.1.0 it requires is not released yet.
    let files = [("CHANGELOG.md", "## 0.1.0\n- Retry requests\n")];
    convoy
        .sim
        .push_commit(
            "ios/network-kit",
            "release/0.1.0",
            &files,
            "Update the changelog",
        )
        .unwrap();
    let lint_failed = |w: &convoy_simulator::WorldView| {
        w.latest_pipeline("ios/network-kit", "release/0.1.0")
            .is_some_and(|p| p.status == "failed")
    };
    assert!(
        convoy
            .sim
            .world()
            .eventually(Duration::from_secs(30), lint_failed)
            .await
    );
    let failed = convoy
        .sim
        .world()
        .latest_pipeline("ios/network-kit", "release/0.1.0")
        .unwrap();
    let lint = failed
        .jobs
        .iter()
        .find(|j| j.name == "lint")
        .expect("a lint job");
    assert_eq!(lint.status, "failed");
    assert!(
        lint.log.contains("CoreKit"),
        "lint says which dependency is missing: {}",
        lint.log
    );

    let release = convoy.release_all().await;
    assert_eq!(release.state, "success", "{release:#?}");

    // Convoy retried that very pipeline once CoreKit was out, and it passed.
    let retried = convoy
        .sim
        .world()
        .pipelines("ios/network-kit")
        .into_iter()
        .find(|p| p.id == failed.id)
        .unwrap();
    assert_eq!(retried.status, "success", "{retried:#?}");
    let events = convoy.events(release.id).await;
    assert!(entered(&events, "CoreKit", "success") < entered(&events, "NetworkKit", "merged"));
    // The release manager only started and deployed; everything else was Convoy.
    for event in convoy.events(release.id).await {
        if event.actor == support::ACTOR {
            let started_or_deployed = matches!(
                event.to_state.as_deref(),
                Some("created" | "analyzing" | "deploying" | "preparing")
            );
            assert!(
                started_or_deployed,
                "no human action after deploy: {event:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_existing_tag_fails_with_advice_and_a_new_version_then_succeeds() {
    let convoy = spawn_convoy(Options::default()).await;
    convoy
        .sim
        .seed_released_tag("ios/feature-kit", "0.1.0", "main")
        .unwrap();
    let tags_before = convoy.sim.world().tags("ios/feature-kit");
    let release = convoy.release_all().await;
    assert_eq!(release.state, "failed");
    let feature = TestConvoy::component(&release, "FeatureKit");
    assert_eq!(feature.state, "failed");
    assert_eq!(
        feature.reason.as_deref(),
        Some("tag 0.1.0 exists: change the version and retry")
    );
    assert!(
        release
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("FeatureKit failed"),
        "{release:#?}"
    );

    convoy
        .client
        .set_version(release.id, "FeatureKit", "0.1.1")
        .await
        .unwrap();
    convoy
        .client
        .retry_component(release.id, "FeatureKit")
        .await
        .unwrap();
    let release = convoy
        .wait_for(release.id, |r| {
            r.state == "success"
                || r.state == "failed"
                    && TestConvoy::component(r, "FeatureKit").state == "failed"
                    && r.components.iter().all(|c| c.state != "preparing")
        })
        .await;
    assert_eq!(release.state, "success", "{release:#?}");
    // The retry prepared FeatureKit again; a setting's warning is not repeated.
    let setting_warnings = convoy
        .events(release.id)
        .await
        .iter()
        .filter(|e| e.component_name.as_deref() == Some("FeatureKit"))
        .filter(|e| {
            e.reason
                .as_deref()
                .is_some_and(|r| r.contains("\"Pipelines must succeed\" is off"))
        })
        .count();
    assert_eq!(setting_warnings, 1, "the setting's warning is written once");

    let world = convoy.sim.world();
    // Nor are FeatureKit's hooks listed again: Convoy made sure of that hook minutes ago.
    let hook_lists = world.api_requests().by_endpoint["GET /projects/:project/hooks"];
    assert_eq!(hook_lists, 4, "one per project");
    let mut expected_tags = tags_before.clone();
    expected_tags.push(
        world
            .tag("ios/feature-kit", "0.1.1")
            .expect("the new version is tagged"),
    );
    expected_tags.sort_by(|a, b| a.name.cmp(&b.name));
    let mut tags = world.tags("ios/feature-kit");
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        tags, expected_tags,
        "the existing tags are untouched and exactly one tag was added"
    );
    assert!(world.tag("ios/feature-kit", "0.1.1").unwrap().released);
    convoy.assert_podfile_pins(&[
        ("CoreKit", "0.1.0"),
        ("NetworkKit", "0.1.0"),
        ("StorageKit", "0.1.0"),
        ("FeatureKit", "0.1.1"),
    ]);
    let feature_kit_podspec = world
        .file("ios/feature-kit", "main", "FeatureKit.podspec")
        .unwrap();
    assert!(
        feature_kit_podspec.contains("'0.1.1'"),
        "the podspec on main says 0.1.1: {feature_kit_podspec}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_tag_pipeline_blocks_only_its_descendants_until_marked_released() {
    let slack = FakeSlack::start(&[]);
    let convoy = spawn_convoy(Options {
        chat: Some(slack.settings()),
        ..Options::default()
    })
    .await;
    convoy
        .sim
        .set_fail_tag_pipeline("ios/storage-kit", true)
        .unwrap();
    let release = convoy.release_all().await;
    assert_eq!(release.state, "failed");
    let storage = TestConvoy::component(&release, "StorageKit");
    assert_eq!(storage.state, "failed");
    assert!(
        storage
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("tag pipeline failed in job `publish`"),
        "{storage:?}"
    );
    assert_eq!(
        TestConvoy::component(&release, "NetworkKit").state,
        "success",
        "a sibling is not blocked"
    );
    assert_eq!(
        TestConvoy::component(&release, "FeatureKit").state,
        "pending",
        "a descendant waits"
    );
    let reason = release.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("StorageKit failed")
            && reason.contains("FeatureKit is blocked by StorageKit"),
        "{reason}"
    );
    // The chat says the same in the release's one line.
    let says_blocked = |_: &_| {
        slack.messages().iter().any(|m| {
            m.text
                .contains("*failed*, 2/4 released, 1 failed, 1 blocked by those")
        })
    };
    let chat_says = convoy
        .sim
        .world()
        .eventually(Duration::from_secs(30), says_blocked)
        .await;
    assert!(chat_says, "{:#?}", slack.messages());

    // The owner publishes StorageKit by hand (retries its tag pipeline in GitLab), then the
    // release manager marks it released; FeatureKit goes on by itself.
    convoy
        .sim
        .set_fail_tag_pipeline("ios/storage-kit", false)
        .unwrap();
    retry_latest_pipeline(&convoy, "ios/storage-kit", "0.1.0").await;
    assert!(
        convoy
            .sim
            .world()
            .eventually(Duration::from_secs(30), |w| w
                .is_released("ios/storage-kit", "0.1.0"))
            .await
    );
    convoy
        .client
        .mark_released(
            release.id,
            "StorageKit",
            "published by hand after a flaky runner",
        )
        .await
        .unwrap();
    let release = convoy
        .wait_for(release.id, |r| {
            r.state == "success" || TestConvoy::component(r, "FeatureKit").state == "failed"
        })
        .await;
    assert_eq!(release.state, "success", "{release:#?}");
    let events = convoy.events(release.id).await;
    let marked = events
        .iter()
        .find(|e| {
            e.component_name.as_deref() == Some("StorageKit")
                && e.to_state.as_deref() == Some("success")
        })
        .unwrap();
    assert_eq!(marked.actor, support::ACTOR);
    assert_eq!(
        marked.reason.as_deref(),
        Some("published by hand after a flaky runner")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_stops_every_unfinished_component_and_nothing_more_is_done() {
    let options = Options::default();
    let convoy = spawn_convoy(options).await;
    // NetworkKit's runners are offline, so its pipeline waits, pending, while Convoy sets its
    // auto-merge, and the cancel comes before GitLab could merge it, however slow the machine.
    convoy
        .sim
        .set_runners_online("ios/network-kit", false)
        .unwrap();
    let planned = convoy.start_release().await;
    convoy.client.deploy_all(planned.id).await.unwrap();
    let auto_merge_set = |w: &convoy_simulator::WorldView| {
        w.merge_requests("ios/network-kit")
            .iter()
            .any(|mr| mr.auto_merge)
    };
    assert!(
        convoy
            .sim
            .world()
            .eventually(Duration::from_secs(60), auto_merge_set)
            .await
    );

    let canceled = convoy.client.cancel(planned.id).await.unwrap();
    assert_eq!(canceled.state, "canceled");
    assert_eq!(
        TestConvoy::component(&canceled, "NetworkKit").state,
        "canceled"
    );
    assert_eq!(
        TestConvoy::component(&canceled, "FeatureKit").state,
        "canceled"
    );

    // Convoy withdraws the auto-merge it set; once NetworkKit's pipeline then succeeds,
    // nothing merges it.
    let withdrawn = |w: &convoy_simulator::WorldView| !auto_merge_set(w);
    assert!(
        convoy
            .sim
            .world()
            .eventually(Duration::from_secs(60), withdrawn)
            .await,
        "Convoy withdrew the auto-merge"
    );
    convoy
        .sim
        .set_runners_online("ios/network-kit", true)
        .unwrap();
    let pipeline_passed = |w: &convoy_simulator::WorldView| {
        w.latest_pipeline("ios/network-kit", "release/0.1.0")
            .is_some_and(|p| p.status == "success")
    };
    assert!(
        convoy
            .sim
            .world()
            .eventually(Duration::from_secs(60), pipeline_passed)
            .await
    );
    let world = convoy.sim.world();
    let network_mr = &world.merge_requests("ios/network-kit")[0];
    assert_eq!(network_mr.state, "opened", "{network_mr:?}");
    assert!(!network_mr.auto_merge, "{network_mr:?}");
    assert!(
        world.tag("ios/network-kit", "0.1.0").is_none(),
        "no tag after cancel"
    );
    assert!(
        world.tag("ios/feature-kit", "0.1.0").is_none(),
        "no tag after cancel"
    );
    let after = convoy.client.release(planned.id).await.unwrap();
    assert_eq!(after.state, "canceled");
    assert_ne!(
        world.file(APP, APP_REF, "Podfile").unwrap(),
        world.file(APP, APP_REF, "PodfileTemplate").unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_every_webhook_dropped_reconcile_still_finishes_the_release() {
    let mut options = Options::default();
    options.scenario.faults = Faults {
        webhook_drop_rate: 1.0,
        ..Faults::default()
    };
    let convoy = spawn_convoy(options).await;
    let release = convoy.release_all().await;
    assert_eq!(release.state, "success", "{release:#?}");
    let sent = convoy.sim.world().webhook_deliveries();
    assert!(
        !sent.is_empty()
            && sent
                .iter()
                .all(|d| matches!(d.outcome, DeliveryOutcome::Dropped)),
        "every webhook was dropped"
    );
    assert_eq!(
        support::recorded_deliveries(&convoy).await,
        (0, 0),
        "Convoy received none"
    );
    convoy.assert_side_effects_once();
    convoy.assert_podfile_pins(&RELEASED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicated_and_reordered_webhooks_reach_the_same_final_state() {
    let mut options = Options::default();
    options.scenario.faults = Faults {
        webhook_duplicate_rate: 1.0,
        webhook_reorder_rate: 0.5,
        webhook_reorder_delay_ms: 400,
        seed: 7,
        ..Faults::default()
    };
    let convoy = spawn_convoy(options).await;
    let release = convoy.release_all().await;
    assert_eq!(release.state, "success", "{release:#?}");
    convoy.assert_side_effects_once();
    convoy.assert_podfile_pins(&RELEASED);

    // Every delivery really came twice, and Convoy recorded each one once. Held-back copies
    // may still be on their way when the release ends: let both sides settle first.
    let mut settled = delivery_counts(&convoy).await;
    for _ in 0..50 {
        let (sent, events, recorded, _) = settled;
        if sent >= 2 * events && recorded == events {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        settled = delivery_counts(&convoy).await;
    }
    let (sent, events, recorded, distinct) = settled;
    assert!(sent >= 2 * events, "{sent} deliveries for {events} events");
    assert_eq!(recorded, distinct, "no delivery recorded twice");
    assert_eq!(recorded, events, "every event recorded once");
}

/// Deliveries the simulator sent, distinct events among them, deliveries Convoy recorded, and
/// distinct keys among those.
async fn delivery_counts(convoy: &TestConvoy) -> (usize, usize, usize, usize) {
    let sent = convoy.sim.world().webhook_deliveries();
    let events: std::collections::BTreeSet<&str> =
        sent.iter().map(|d| d.idempotency_key.as_str()).collect();
    let (recorded, distinct) = support::recorded_deliveries(convoy).await;
    (
        sent.len(),
        events.len(),
        recorded as usize,
        distinct as usize,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_release_is_replaced_and_nothing_happens_twice() {
    let mut convoy = spawn_convoy(Options::default()).await;
    let planned = convoy.start_release().await;
    convoy.client.deploy_all(planned.id).await.unwrap();
    convoy
        .wait_for(planned.id, |r| {
            TestConvoy::component(r, "CoreKit").state == "deploying"
        })
        .await;
    convoy.restart_worker().await;
    convoy
        .wait_for(planned.id, |r| {
            TestConvoy::component(r, "NetworkKit").state == "pending"
                && r.components
                    .iter()
                    .any(|c| c.state == "deploying" || c.state == "merged")
        })
        .await;
    convoy.restart_worker().await;
    let release = convoy.wait_for(planned.id, |r| r.is_finished()).await;
    assert_eq!(release.state, "success", "{release:#?}");
    convoy.assert_side_effects_once();
    convoy.assert_podfile_pins(&RELEASED);
}

/// Retries a project's newest pipeline for `reference` through GitLab's API, as a person would.
async fn retry_latest_pipeline(convoy: &TestConvoy, project: &str, reference: &str) {
    let pipeline = convoy
        .sim
        .world()
        .latest_pipeline(project, reference)
        .expect("a pipeline exists");
    let url = format!(
        "{}/api/v4/projects/{}/pipelines/{}/retry",
        convoy.sim.base_url(),
        project.replace('/', "%2F"),
        pipeline.id
    );
    let response = reqwest::Client::new()
        .post(url)
        .header("PRIVATE-TOKEN", convoy.sim.token())
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "retry accepted: {}",
        response.status()
    );
}
