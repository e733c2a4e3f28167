//! The store's behaviour, checked the same way on SQLite and on PostgreSQL.

mod support;

use std::collections::BTreeSet;

use convoy_core::component::{self, ComponentEvent};
use convoy_core::notices::{Mention, Notice};
use convoy_core::{ComponentState, MainReleaseState, ReleasePlan};
use convoy_store::{
    Change, Channels, MergeRequestRecord, NewDelivery, NewEvent, PipelineKind, PipelineRecord,
    Store, StoreError, TagRecord,
};
use convoy_testkit::{abcd_plan, planned};
use sqlx::Connection;
use support::{Backend, TestDb, new_release, release_of};

on_both_databases!(
    connecting_again_finds_the_schema_up_to_date,
    processes_starting_together_on_a_new_database_all_connect,
    apalis_storage_then_convoy_share_one_database,
    convoy_then_apalis_storage_share_one_database,
    a_new_main_release_is_in_state_created_with_a_created_event,
    a_main_release_transition_from_the_wrong_state_writes_nothing,
    a_main_release_transition_is_logged_and_wakes_the_worker,
    a_final_state_sets_finished_at_and_leaving_it_clears_it,
    releases_are_listed_newest_first_with_their_progress,
    only_unfinished_releases_are_active,
    of_concurrent_starts_of_one_app_and_ref_exactly_one_wins,
    a_finished_release_makes_room_for_a_new_one_of_its_app_and_ref,
    reopening_a_release_while_another_of_its_app_and_ref_is_active_is_refused,
    saving_a_plan_stores_it_in_order_with_its_edges,
    woken_releases_are_found_whatever_their_state,
    saving_a_plan_twice_stores_it_once,
    a_wide_plan_keeps_every_edge,
    a_plan_naming_an_unknown_dependency_stores_nothing,
    a_component_transition_from_the_wrong_state_writes_nothing,
    a_component_transition_is_logged_with_the_component_name_and_wakes_the_release,
    entering_preparing_starts_a_new_attempt,
    components_moved_together_each_move_or_lose_on_their_own,
    changing_a_version_logs_the_old_and_the_new_version,
    marking_a_component_reviewed_is_logged_once,
    component_details_are_saved_without_events,
    changing_a_missing_component_is_not_found,
    a_webhook_batch_wakes_the_components_of_active_releases_in_its_projects,
    recording_a_merge_request_twice_keeps_one_current_record,
    recording_pipelines_keeps_each_once_and_the_last_as_current,
    recording_a_tag_makes_it_current,
    expected_pipeline_time_averages_successful_tag_pipelines,
    the_event_log_reads_in_the_order_things_happened,
    a_note_names_its_component_and_does_not_wake_the_worker,
    a_reader_following_the_log_misses_no_event_written_concurrently,
    a_commit_that_appends_events_wakes_readers_of_the_log,
    a_recorded_delivery_wakes_the_delivery_loop_also_of_another_process,
    a_component_wake_is_settled_only_if_no_news_came_meanwhile,
    a_full_look_wakes_what_follows_gitlab_not_what_waits_on_dependencies,
    a_duplicate_delivery_is_recorded_once,
    deliveries_recorded_together_are_each_recorded_once,
    concurrent_duplicate_deliveries_are_recorded_exactly_once,
    deliveries_wait_until_marked_processed,
    a_lease_is_exclusive_until_it_expires,
    a_released_lease_is_free_for_another_worker,
    taking_a_wake_request_clears_it,
    a_renewed_lease_stays_with_its_holder_and_a_lost_one_cannot_be_renewed,
    a_lease_left_to_expire_is_found_abandoned_and_a_given_up_one_is_not,
    a_stopping_worker_gives_up_only_its_own_leases,
    a_wake_up_claimed_by_a_pass_that_died_is_claimed_again,
    a_wake_up_requested_during_a_pass_survives_its_settling,
    each_state_change_is_read_into_the_outbox_once,
    a_notification_is_claimed_by_one_worker_until_its_claim_expires,
    an_ensured_hook_is_remembered_for_its_url_and_secret_only,
);

/// Claims and settles a wake-up, as a pass that succeeds does: true if one was requested.
async fn take_wake(store: &Store, id: i64) -> bool {
    let claimed = store.claim_wake(id).await.unwrap();
    store.settle_wake(id).await.unwrap();
    claimed
}

async fn connecting_again_finds_the_schema_up_to_date(db: &TestDb) {
    let store = db.store().await;
    let release = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap();
    store.close().await;

    let store = db.store().await;
    assert_eq!(store.main_release(release.id).await.unwrap(), Some(release));
    assert_eq!(store.is_postgres(), db.backend == Backend::Postgres);
    assert_eq!(applied_convoy_migrations(db).await, migration_files());
}

async fn processes_starting_together_on_a_new_database_all_connect(db: &TestDb) {
    let connects = (0..4).map(|_| {
        let url = db.url.clone();
        tokio::spawn(async move { Store::connect(&url).await })
    });

    let results = futures::future::join_all(connects).await;

    for result in results {
        result.unwrap().expect("every store connects");
    }
    assert_eq!(applied_convoy_migrations(db).await, migration_files());
}

async fn apalis_storage_then_convoy_share_one_database(db: &TestDb) {
    set_up_apalis_storage(db).await;
    let store = db.store().await;
    store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap();
    store.close().await;

    // Both again, in either order: every migrator finds only its own migrations.
    set_up_apalis_storage(db).await;
    db.store().await;
}

async fn convoy_then_apalis_storage_share_one_database(db: &TestDb) {
    db.store().await.close().await;
    set_up_apalis_storage(db).await;
    let store = db.store().await;
    store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap();
    assert_eq!(applied_convoy_migrations(db).await, migration_files());
}

async fn a_new_main_release_is_in_state_created_with_a_created_event(db: &TestDb) {
    let store = db.store().await;
    let mut new = new_release("ana");
    new.require_review = true;

    let release = store.create_main_release(&new).await.unwrap();

    assert_eq!(release.app_project, "ios/app");
    assert_eq!(release.app_ref, new.app_ref);
    assert_eq!(release.state, MainReleaseState::Created);
    assert!(release.require_review);
    assert_eq!(release.started_by, "ana");
    assert_eq!(release.finished_at, None);
    assert_eq!(
        store.main_release(release.id).await.unwrap(),
        Some(release.clone())
    );
    let events = store.events(release.id, 0, 100).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "created");
    assert_eq!(events[0].actor, "ana");
    assert_eq!(events[0].to_state.as_deref(), Some("created"));
    assert!(take_wake(&store, release.id).await);
}

async fn a_main_release_transition_from_the_wrong_state_writes_nothing(db: &TestDb) {
    let store = db.store().await;
    let release = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap();
    take_wake(&store, release.id).await;

    let moved = store
        .transition_main_release(
            release.id,
            MainReleaseState::Waiting,
            MainReleaseState::Deploying,
            &Change::by("bob").because("deploy all"),
        )
        .await
        .unwrap();

    assert!(!moved);
    assert_eq!(
        store.main_release(release.id).await.unwrap(),
        Some(release.clone())
    );
    assert_eq!(store.events(release.id, 0, 100).await.unwrap().len(), 1);
    assert!(!take_wake(&store, release.id).await);
}

async fn a_main_release_transition_is_logged_and_wakes_the_worker(db: &TestDb) {
    let store = db.store().await;
    let release = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap();
    take_wake(&store, release.id).await;

    let moved = store
        .transition_main_release(
            release.id,
            MainReleaseState::Created,
            MainReleaseState::Analyzing,
            &Change::by("worker").because("reading the Podfile"),
        )
        .await
        .unwrap();

    assert!(moved);
    let now = store.main_release(release.id).await.unwrap().unwrap();
    assert_eq!(now.state, MainReleaseState::Analyzing);
    assert_eq!(now.reason.as_deref(), Some("reading the Podfile"));
    let events = store.events(release.id, 0, 100).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.actor.as_str(), last.component_id),
        ("state", "worker", None)
    );
    assert_eq!(last.from_state.as_deref(), Some("created"));
    assert_eq!(last.to_state.as_deref(), Some("analyzing"));
    assert_eq!(last.reason.as_deref(), Some("reading the Podfile"));
    assert!(take_wake(&store, release.id).await);
}

async fn a_final_state_sets_finished_at_and_leaving_it_clears_it(db: &TestDb) {
    let store = db.store().await;
    let id = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;
    let change = Change::by("worker");
    assert!(
        store
            .transition_main_release(
                id,
                MainReleaseState::Created,
                MainReleaseState::Failed,
                &change
            )
            .await
            .unwrap()
    );
    let failed = store.main_release(id).await.unwrap().unwrap();
    assert_eq!(failed.finished_at, Some(failed.updated_at));

    assert!(
        store
            .transition_main_release(
                id,
                MainReleaseState::Failed,
                MainReleaseState::Deploying,
                &change
            )
            .await
            .unwrap()
    );
    let retried = store.main_release(id).await.unwrap().unwrap();
    assert_eq!(retried.finished_at, None);
    assert_eq!(retried.reason, None);
}

async fn releases_are_listed_newest_first_with_their_progress(db: &TestDb) {
    let store = db.store().await;
    let mut ids = Vec::new();
    for who in ["ana", "bob", "cleo"] {
        ids.push(
            store
                .create_main_release(&new_release(who))
                .await
                .unwrap()
                .id,
        );
    }
    let components = store
        .save_plan(ids[1], &abcd_plan(), "worker")
        .await
        .unwrap();
    let a = &components[0];
    store
        .transition_component(
            a.id,
            ComponentState::Waiting,
            ComponentState::Success,
            &Change::by("ana"),
        )
        .await
        .unwrap();

    let (first_page, total) = store.list_main_releases(1, 2).await.unwrap();
    let (second_page, _) = store.list_main_releases(2, 2).await.unwrap();

    assert_eq!(total, 3);
    let first_ids: Vec<i64> = first_page.iter().map(|s| s.release.id).collect();
    assert_eq!(first_ids, vec![ids[2], ids[1]]);
    assert_eq!(
        (
            first_page[0].components_total,
            first_page[0].components_released
        ),
        (0, 0)
    );
    assert_eq!(
        (
            first_page[1].components_total,
            first_page[1].components_released
        ),
        (4, 1)
    );
    assert_eq!(second_page.len(), 1);
    assert_eq!(second_page[0].release.id, ids[0]);
}

async fn only_unfinished_releases_are_active(db: &TestDb) {
    let store = db.store().await;
    let mut ids = Vec::new();
    for who in ["ana", "bob", "cleo"] {
        ids.push(
            store
                .create_main_release(&new_release(who))
                .await
                .unwrap()
                .id,
        );
    }
    let change = Change::by("worker");
    store
        .transition_main_release(
            ids[0],
            MainReleaseState::Created,
            MainReleaseState::Canceled,
            &change,
        )
        .await
        .unwrap();
    store
        .transition_main_release(
            ids[2],
            MainReleaseState::Created,
            MainReleaseState::Waiting,
            &change,
        )
        .await
        .unwrap();

    assert_eq!(
        store.active_main_release_ids().await.unwrap(),
        vec![ids[1], ids[2]]
    );
}

/// Issue 14 point 5: two active releases of one app both tagged the same components.
async fn of_concurrent_starts_of_one_app_and_ref_exactly_one_wins(db: &TestDb) {
    let store = db.store().await;
    let starts = ["ana", "bob", "cleo", "dan", "eve", "fay", "gus", "hal"].map(|who| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .create_main_release(&release_of("mobile/app", "release/2.0.0", who))
                .await
        })
    });
    let mut won = Vec::new();
    let mut refused = Vec::new();
    for start in starts {
        match start.await.unwrap() {
            Ok(release) => won.push(release.id),
            Err(StoreError::ActiveRelease {
                id,
                app_project,
                app_ref,
                state,
            }) => {
                assert_eq!(
                    (app_project.as_str(), app_ref.as_str()),
                    ("mobile/app", "release/2.0.0")
                );
                assert_eq!(state, "created");
                refused.push(id);
            }
            Err(other) => panic!("a concurrent start failed otherwise: {other}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one start wins, got {won:?}");
    assert_eq!(refused, vec![won[0]; 7], "every refusal names the winner");
    let (releases, total) = store.list_main_releases(1, 50).await.unwrap();
    assert_eq!(total, 1, "the refused starts wrote nothing: {releases:?}");
    assert_eq!(store.events(won[0], 0, 50).await.unwrap().len(), 1);
}

async fn a_finished_release_makes_room_for_a_new_one_of_its_app_and_ref(db: &TestDb) {
    let store = db.store().await;
    let new = release_of("mobile/app", "release/2.0.0", "ana");
    let first = store.create_main_release(&new).await.unwrap();
    store
        .transition_main_release(
            first.id,
            MainReleaseState::Created,
            MainReleaseState::Analyzing,
            &Change::by("worker"),
        )
        .await
        .unwrap();
    let refused = store.create_main_release(&new).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!(
            "release {} of mobile/app at release/2.0.0 is still analyzing: finish or cancel it \
             first",
            first.id
        )
    );
    // Another ref of the same app, and the same ref of another app, are not concerned.
    store
        .create_main_release(&release_of("mobile/app", "release/2.1.0", "ana"))
        .await
        .unwrap();
    store
        .create_main_release(&release_of("mobile/other", "release/2.0.0", "ana"))
        .await
        .unwrap();

    store
        .transition_main_release(
            first.id,
            MainReleaseState::Analyzing,
            MainReleaseState::Canceled,
            &Change::by("ana"),
        )
        .await
        .unwrap();
    let second = store.create_main_release(&new).await.unwrap();
    assert_ne!(second.id, first.id);
}

async fn reopening_a_release_while_another_of_its_app_and_ref_is_active_is_refused(db: &TestDb) {
    let store = db.store().await;
    let new = release_of("mobile/app", "release/2.0.0", "ana");
    let failed = store.create_main_release(&new).await.unwrap();
    store
        .transition_main_release(
            failed.id,
            MainReleaseState::Created,
            MainReleaseState::Failed,
            &Change::by("worker"),
        )
        .await
        .unwrap();
    let active = store.create_main_release(&new).await.unwrap();

    let refused = store
        .transition_main_release(
            failed.id,
            MainReleaseState::Failed,
            MainReleaseState::Deploying,
            &Change::by("ana"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::ActiveRelease { id, .. } if id == active.id),
        "{refused}"
    );
    assert_eq!(
        store.main_release(failed.id).await.unwrap().unwrap().state,
        MainReleaseState::Failed
    );
    assert!(matches!(
        store
            .refuse_a_second_active_release("mobile/app", "release/2.0.0", Some(failed.id))
            .await,
        Err(StoreError::ActiveRelease { id, .. }) if id == active.id
    ));
    store
        .refuse_a_second_active_release("mobile/app", "release/2.0.0", Some(active.id))
        .await
        .unwrap();
}

async fn woken_releases_are_found_whatever_their_state(db: &TestDb) {
    let store = db.store().await;
    let first = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap();
    let second = store.create_main_release(&new_release("bo")).await.unwrap();
    take_wake(&store, first.id).await;
    take_wake(&store, second.id).await;
    assert_eq!(store.woken_release_ids().await.unwrap(), Vec::<i64>::new());

    let change = Change::by("ana");
    store
        .transition_main_release(
            second.id,
            MainReleaseState::Created,
            MainReleaseState::Canceled,
            &change,
        )
        .await
        .unwrap();
    assert_eq!(store.woken_release_ids().await.unwrap(), vec![second.id]);
    take_wake(&store, second.id).await;
    assert_eq!(store.woken_release_ids().await.unwrap(), Vec::<i64>::new());
}

async fn saving_a_plan_stores_it_in_order_with_its_edges(db: &TestDb) {
    let store = db.store().await;
    let release = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap();
    // Read before it is saved (a page during the analysis): empty, and not kept as the plan.
    assert!(store.plan(release.id).await.unwrap().components.is_empty());

    let components = store
        .save_plan(release.id, &abcd_plan(), "worker")
        .await
        .unwrap();

    let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["A", "B", "C", "D"]);
    let b = &components[1];
    assert_eq!(b.position, 1);
    assert_eq!(b.state, ComponentState::Waiting);
    assert_eq!(b.version.as_deref(), Some("0.1.0"));
    assert_eq!(b.default_version.as_deref(), Some("0.1.0"));
    assert_eq!(b.podspec_version.as_deref(), Some("0.0.9"));
    assert_eq!(b.podspec_path.as_deref(), Some("B.podspec"));
    assert_eq!(b.project_path, "ios/b");
    assert_eq!(b.git_url, "https://gitlab.test/ios/b.git");
    assert_eq!(b.branch, "release/0.1.0");
    assert_eq!(
        (b.reviewed, b.acted, b.target_branch.clone()),
        (false, false, None)
    );
    assert_eq!(store.components(release.id).await.unwrap(), components);
    assert_eq!(store.component(b.id).await.unwrap().as_ref(), Some(b));
    assert_eq!(
        store
            .component_by_name(release.id, "B")
            .await
            .unwrap()
            .as_ref(),
        Some(b)
    );
    assert_eq!(
        store.component_by_name(release.id, "E").await.unwrap(),
        None
    );
    assert_eq!(*store.plan(release.id).await.unwrap(), abcd_plan());
    let planned: Vec<String> = store
        .events(release.id, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "planned")
        .map(|e| e.component_name.unwrap())
        .collect();
    assert_eq!(planned, ["A", "B", "C", "D"]);
}

async fn a_wide_plan_keeps_every_edge(db: &TestDb) {
    let store = db.store().await;
    let release = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap();
    // 30 components each depending on the same 40: 1,200 edges, more than one statement's worth.
    let below: Vec<String> = (0..40).map(|i| format!("Base{i:02}")).collect();
    let below_refs: Vec<&str> = below.iter().map(String::as_str).collect();
    let mut components: Vec<_> = below.iter().map(|name| planned(name, &[])).collect();
    components.extend((0..30).map(|i| planned(&format!("Top{i:02}"), &below_refs)));
    let plan = ReleasePlan { components };

    store.save_plan(release.id, &plan, "worker").await.unwrap();

    // Read back by a store that has not seen the plan: from the database, not from memory.
    let read = db.store().await.plan(release.id).await.unwrap();
    assert_eq!(*read, plan);
    let edges: usize = read.components.iter().map(|c| c.dependencies.len()).sum();
    assert_eq!(edges, 1_200);
}

async fn saving_a_plan_twice_stores_it_once(db: &TestDb) {
    let store = db.store().await;
    let release = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap();
    let first = store
        .save_plan(release.id, &abcd_plan(), "worker")
        .await
        .unwrap();
    let events_after_first = store.events(release.id, 0, 100).await.unwrap().len();
    let other_plan = ReleasePlan {
        components: vec![planned("Z", &[])],
    };

    let second = store
        .save_plan(release.id, &other_plan, "worker")
        .await
        .unwrap();

    assert_eq!(second, first);
    assert_eq!(*store.plan(release.id).await.unwrap(), abcd_plan());
    assert_eq!(
        store.events(release.id, 0, 100).await.unwrap().len(),
        events_after_first
    );
}

async fn a_plan_naming_an_unknown_dependency_stores_nothing(db: &TestDb) {
    let store = db.store().await;
    let release = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap();
    let plan = ReleasePlan {
        components: vec![planned("A", &[]), planned("B", &["X"])],
    };

    let result = store.save_plan(release.id, &plan, "worker").await;

    assert!(
        matches!(&result, Err(StoreError::InvalidPlan(why)) if why == "B depends on X, which is not in the plan"),
        "{result:?}"
    );
    assert_eq!(store.components(release.id).await.unwrap(), vec![]);
    assert_eq!(store.events(release.id, 0, 100).await.unwrap().len(), 1);
}

async fn a_component_transition_from_the_wrong_state_writes_nothing(db: &TestDb) {
    let store = db.store().await;
    let (release_id, components) = planned_release(&store).await;
    let a = &components[0];
    take_wake(&store, release_id).await;
    let events_before = store.events(release_id, 0, 100).await.unwrap();

    let moved = store
        .transition_component(
            a.id,
            ComponentState::Pending,
            ComponentState::Merged,
            &Change::by("webhook"),
        )
        .await
        .unwrap();

    assert!(!moved);
    assert_eq!(store.component(a.id).await.unwrap().as_ref(), Some(a));
    assert_eq!(
        store.events(release_id, 0, 100).await.unwrap(),
        events_before
    );
    assert!(!take_wake(&store, release_id).await);
}

async fn a_component_transition_is_logged_with_the_component_name_and_wakes_the_release(
    db: &TestDb,
) {
    let store = db.store().await;
    let (release_id, components) = planned_release(&store).await;
    let b = &components[1];
    take_wake(&store, release_id).await;

    let moved = store
        .transition_component(
            b.id,
            ComponentState::Waiting,
            ComponentState::Failed,
            &Change::by("worker").because("tag B-0.1.0 exists: change the version and retry"),
        )
        .await
        .unwrap();

    assert!(moved);
    let now = store.component(b.id).await.unwrap().unwrap();
    assert_eq!(now.state, ComponentState::Failed);
    assert_eq!(
        now.reason.as_deref(),
        Some("tag B-0.1.0 exists: change the version and retry")
    );
    let last = store
        .events(release_id, 0, 100)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.kind, "state");
    assert_eq!(last.component_id, Some(b.id));
    assert_eq!(last.component_name.as_deref(), Some("B"));
    assert_eq!(last.from_state.as_deref(), Some("waiting"));
    assert_eq!(last.to_state.as_deref(), Some("failed"));
    assert_eq!(last.reason, now.reason);
    assert!(take_wake(&store, release_id).await);
}

async fn components_moved_together_each_move_or_lose_on_their_own(db: &TestDb) {
    let store = db.store().await;
    let (release_id, components) = planned_release(&store).await;
    let (a, b, c) = (&components[0], &components[1], &components[2]);
    // C changes after it was read: its move, decided on the old record, must lose.
    store
        .transition_component(
            c.id,
            ComponentState::Waiting,
            ComponentState::Failed,
            &Change::by("worker"),
        )
        .await
        .unwrap();
    take_wake(&store, release_id).await;
    let events_before = store.events(release_id, 0, 100).await.unwrap().len();
    let deploy = |c| {
        let transition = component::decide(ComponentState::Waiting, &ComponentEvent::Deploy);
        (c, transition.unwrap())
    };

    let moved = store
        .apply_components(&[deploy(a), deploy(b), deploy(c)], "manager")
        .await
        .unwrap();

    assert_eq!(moved, 2);
    let state = |id| {
        let store = store.clone();
        async move { store.component(id).await.unwrap().unwrap().state }
    };
    assert_eq!(state(a.id).await, ComponentState::Preparing);
    assert_eq!(state(b.id).await, ComponentState::Preparing);
    assert_eq!(state(c.id).await, ComponentState::Failed);
    let events = store.events(release_id, 0, 100).await.unwrap();
    let new: Vec<_> = events[events_before..]
        .iter()
        .map(|e| {
            (
                e.component_name.clone(),
                e.actor.clone(),
                e.to_state.clone(),
            )
        })
        .collect();
    let deployed = |name: &str| {
        (
            Some(name.to_owned()),
            "manager".to_owned(),
            Some("preparing".to_owned()),
        )
    };
    assert_eq!(new, vec![deployed("A"), deployed("B")]);
    assert!(take_wake(&store, release_id).await);
}

async fn entering_preparing_starts_a_new_attempt(db: &TestDb) {
    let store = db.store().await;
    let (_, components) = planned_release(&store).await;
    let a = components[0].id;
    let change = Change::by("worker");
    store.set_component_acted(a, true).await.unwrap();
    store
        .transition_component(a, ComponentState::Waiting, ComponentState::Failed, &change)
        .await
        .unwrap();
    assert!(store.component(a).await.unwrap().unwrap().acted);

    store
        .transition_component(
            a,
            ComponentState::Failed,
            ComponentState::Preparing,
            &change,
        )
        .await
        .unwrap();

    assert!(!store.component(a).await.unwrap().unwrap().acted);
}

async fn changing_a_version_logs_the_old_and_the_new_version(db: &TestDb) {
    let store = db.store().await;
    let (release_id, components) = planned_release(&store).await;
    let c = components[2].id;
    take_wake(&store, release_id).await;

    store
        .set_component_version(c, "0.2.0", "ana")
        .await
        .unwrap();
    store
        .set_component_version(c, "0.2.0", "ana")
        .await
        .unwrap();

    assert_eq!(
        store
            .component(c)
            .await
            .unwrap()
            .unwrap()
            .version
            .as_deref(),
        Some("0.2.0")
    );
    let changes: Vec<_> = store
        .events(release_id, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "version_changed")
        .collect();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].actor, "ana");
    assert_eq!(changes[0].component_name.as_deref(), Some("C"));
    assert_eq!(changes[0].reason.as_deref(), Some("version 0.1.0 → 0.2.0"));
    assert!(take_wake(&store, release_id).await);
}

async fn marking_a_component_reviewed_is_logged_once(db: &TestDb) {
    let store = db.store().await;
    let (release_id, components) = planned_release(&store).await;
    let d = components[3].id;
    take_wake(&store, release_id).await;

    store
        .set_component_reviewed(d, true, "owner-d")
        .await
        .unwrap();
    store
        .set_component_reviewed(d, true, "owner-d")
        .await
        .unwrap();

    assert!(store.component(d).await.unwrap().unwrap().reviewed);
    let reviews: Vec<_> = store
        .events(release_id, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "reviewed")
        .collect();
    assert_eq!(reviews.len(), 1);
    assert_eq!(
        (reviews[0].actor.as_str(), reviews[0].component_id),
        ("owner-d", Some(d))
    );
    assert!(take_wake(&store, release_id).await);

    store
        .set_component_reviewed(d, false, "owner-d")
        .await
        .unwrap();
    assert!(!store.component(d).await.unwrap().unwrap().reviewed);
    let last = store
        .events(release_id, 0, 100)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.kind, "unreviewed");
}

async fn component_details_are_saved_without_events(db: &TestDb) {
    let store = db.store().await;
    let (release_id, components) = planned_release(&store).await;
    let a = components[0].id;
    let events_before = store.events(release_id, 0, 100).await.unwrap();

    store
        .set_component_reason(a, Some("waiting for the MR pipeline"))
        .await
        .unwrap();
    store.set_component_acted(a, true).await.unwrap();
    store.set_component_target_branch(a, "main").await.unwrap();
    store.set_component_released_by(a, "ana").await.unwrap();

    let now = store.component(a).await.unwrap().unwrap();
    assert_eq!(now.reason.as_deref(), Some("waiting for the MR pipeline"));
    assert!(now.acted);
    assert_eq!(now.target_branch.as_deref(), Some("main"));
    assert_eq!(now.released_by.as_deref(), Some("ana"));
    store.set_component_reason(a, None).await.unwrap();
    assert_eq!(store.component(a).await.unwrap().unwrap().reason, None);
    assert_eq!(
        store.events(release_id, 0, 100).await.unwrap(),
        events_before
    );
}

async fn changing_a_missing_component_is_not_found(db: &TestDb) {
    let store = db.store().await;
    let missing = 4242;

    let results = [
        store.set_component_reason(missing, None).await,
        store.set_component_acted(missing, true).await,
        store.set_component_version(missing, "1.0.0", "ana").await,
        store.set_component_reviewed(missing, true, "ana").await,
        store.record_tag(missing, &tag("a")).await,
    ];

    for result in results {
        assert!(
            matches!(&result, Err(StoreError::NotFound(what)) if what == "component release 4242"),
            "{result:?}"
        );
    }
    assert_eq!(store.component(missing).await.unwrap(), None);
    assert_eq!(store.main_release(missing).await.unwrap(), None);
}

async fn a_webhook_batch_wakes_the_components_of_active_releases_in_its_projects(db: &TestDb) {
    let store = db.store().await;
    let (active_id, active) = planned_release(&store).await;
    let (finished_id, _) = planned_release(&store).await;
    store
        .transition_main_release(
            finished_id,
            MainReleaseState::Created,
            MainReleaseState::Canceled,
            &Change::by("ana"),
        )
        .await
        .unwrap();
    // The plan's own wake-up was handled: nothing waits.
    assert!(store.claim_wake(active_id).await.unwrap());
    store.settle_wake(active_id).await.unwrap();
    let woken_before = store.component_wakes(active_id).await.unwrap();

    let wakes = store.wake_projects(&["ios/b", "ios/x"]).await.unwrap();

    assert_eq!(wakes.releases["ios/b"], BTreeSet::from([active_id]));
    assert!(wakes.releases["ios/x"].is_empty());
    assert_eq!(wakes.raised, BTreeSet::from([active_id]));
    // Only b (the component in ios/b) was woken once more.
    let b = active[1].id;
    let expected: Vec<(i64, i64)> = woken_before
        .iter()
        .map(|&(id, count)| (id, if id == b { count + 1 } else { count }))
        .collect();
    assert_eq!(store.component_wakes(active_id).await.unwrap(), expected);
    // Woken again before a pass looked: the job on the way serves both, so none is raised.
    let again = store.wake_projects(&["ios/b"]).await.unwrap();
    assert!(again.raised.is_empty(), "{again:?}");
    assert!(store.claim_wake(active_id).await.unwrap());
}

async fn recording_a_merge_request_twice_keeps_one_current_record(db: &TestDb) {
    let store = db.store().await;
    let (release, components) = planned_release(&store).await;
    let a = components[0].id;
    assert_eq!(store.merge_request_of(a).await.unwrap(), None);
    let mut mr = MergeRequestRecord {
        project_path: "ios/a".to_string(),
        iid: 7,
        source_branch: "release/0.1.0".to_string(),
        target_branch: "main".to_string(),
        state: "opened".to_string(),
        web_url: "https://gitlab.example.com/ios/a/-/merge_requests/7".to_string(),
        auto_merge: false,
    };

    store.record_merge_request(a, &mr).await.unwrap();
    store.record_merge_request(a, &mr).await.unwrap();
    assert_eq!(store.merge_request_of(a).await.unwrap(), Some(mr.clone()));

    mr.state = "merged".to_string();
    mr.auto_merge = true;
    store.record_merge_request(a, &mr).await.unwrap();
    assert_eq!(store.merge_request_of(a).await.unwrap(), Some(mr.clone()));
    assert_eq!(
        store.current_merge_requests(release).await.unwrap(),
        [(a, mr.clone())].into()
    );
    assert_eq!(
        store.component(a).await.unwrap().unwrap().merge_request_iid,
        Some(7)
    );
    assert_eq!(
        count_rows(db, "SELECT COUNT(*) FROM merge_requests").await,
        1
    );
}

async fn recording_pipelines_keeps_each_once_and_the_last_as_current(db: &TestDb) {
    let store = db.store().await;
    let (release, components) = planned_release(&store).await;
    let a = components[0].id;
    let failed = PipelineRecord {
        status: "failed".to_string(),
        failed_job: Some("lint".to_string()),
        failure_log: Some("B (0.1.0) not found".to_string()),
        duration: Some(61),
        ..pipeline(100, PipelineKind::MergeRequest, "running")
    };
    let retried = pipeline(101, PipelineKind::MergeRequest, "running");

    store
        .record_pipeline(a, &pipeline(100, PipelineKind::MergeRequest, "running"))
        .await
        .unwrap();
    store.record_pipeline(a, &failed).await.unwrap();
    assert_eq!(store.pipeline_of(a).await.unwrap(), Some(failed.clone()));
    store.record_pipeline(a, &retried).await.unwrap();
    store.record_pipeline(a, &retried).await.unwrap();

    assert_eq!(store.pipeline_of(a).await.unwrap(), Some(retried.clone()));
    assert_eq!(
        store.current_pipelines(release).await.unwrap(),
        [(a, retried.clone())].into()
    );
    assert_eq!(store.pipelines_of(a).await.unwrap(), vec![failed, retried]);
    assert_eq!(
        store.component(a).await.unwrap().unwrap().pipeline_id,
        Some(101)
    );
}

async fn recording_a_tag_makes_it_current(db: &TestDb) {
    let store = db.store().await;
    let (_, components) = planned_release(&store).await;
    let a = components[0].id;
    assert_eq!(store.tag_of(a).await.unwrap(), None);

    store.record_tag(a, &tag("0.1.0")).await.unwrap();
    store.record_tag(a, &tag("0.1.0")).await.unwrap();

    assert_eq!(store.tag_of(a).await.unwrap(), Some(tag("0.1.0")));
    assert_eq!(
        store
            .component(a)
            .await
            .unwrap()
            .unwrap()
            .tag_name
            .as_deref(),
        Some("0.1.0")
    );
    assert_eq!(count_rows(db, "SELECT COUNT(*) FROM tags").await, 1);
}

async fn expected_pipeline_time_averages_successful_tag_pipelines(db: &TestDb) {
    let store = db.store().await;
    let (release, components) = planned_release(&store).await;
    let a = components[0].id;
    assert!(
        store
            .expected_pipeline_seconds(release)
            .await
            .unwrap()
            .is_empty()
    );
    let finished = |id, kind, status, seconds| PipelineRecord {
        duration: Some(seconds),
        ..pipeline(id, kind, status)
    };

    for record in [
        finished(1, PipelineKind::Tag, "success", 100),
        finished(2, PipelineKind::Tag, "success", 200),
        finished(3, PipelineKind::Tag, "failed", 5),
        finished(4, PipelineKind::MergeRequest, "success", 900),
        pipeline(5, PipelineKind::Tag, "running"),
    ] {
        store.record_pipeline(a, &record).await.unwrap();
    }

    // Only ios/a has finished tag pipelines; ios/b is in the release but has none.
    let expected = store.expected_pipeline_seconds(release).await.unwrap();
    assert_eq!(expected, [("ios/a".to_string(), 150)].into());
}

async fn the_event_log_reads_in_the_order_things_happened(db: &TestDb) {
    let store = db.store().await;
    assert_eq!(store.last_event_id().await.unwrap(), 0);
    let first = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;
    let second = store
        .create_main_release(&new_release("bob"))
        .await
        .unwrap()
        .id;
    let change = Change::by("worker");
    store
        .transition_main_release(
            first,
            MainReleaseState::Created,
            MainReleaseState::Analyzing,
            &change,
        )
        .await
        .unwrap();
    store
        .transition_main_release(
            second,
            MainReleaseState::Created,
            MainReleaseState::Analyzing,
            &change,
        )
        .await
        .unwrap();
    store
        .transition_main_release(
            first,
            MainReleaseState::Analyzing,
            MainReleaseState::Waiting,
            &change,
        )
        .await
        .unwrap();

    let all = store.events_since(0, 100).await.unwrap();
    let of_first = store.events(first, 0, 100).await.unwrap();

    let steps = |events: &[convoy_store::ReleaseEvent]| -> Vec<(i64, Option<String>)> {
        events
            .iter()
            .map(|e| (e.release_id, e.to_state.clone()))
            .collect()
    };
    let state = |name: &str| Some(name.to_string());
    assert_eq!(
        steps(&all),
        vec![
            (first, state("created")),
            (second, state("created")),
            (first, state("analyzing")),
            (second, state("analyzing")),
            (first, state("waiting")),
        ]
    );
    assert_eq!(
        steps(&of_first),
        vec![
            (first, state("created")),
            (first, state("analyzing")),
            (first, state("waiting"))
        ]
    );
    assert!(all.windows(2).all(|pair| pair[0].id < pair[1].id));
    assert!(
        all.windows(2)
            .all(|pair| pair[0].created_at <= pair[1].created_at)
    );
    assert_eq!(store.last_event_id().await.unwrap(), all[4].id);
    assert_eq!(
        store.events_since(all[1].id, 2).await.unwrap(),
        all[2..4].to_vec()
    );
    assert_eq!(
        store.events(first, of_first[0].id, 1).await.unwrap(),
        of_first[1..2].to_vec()
    );
}

async fn a_note_names_its_component_and_does_not_wake_the_worker(db: &TestDb) {
    let store = db.store().await;
    let (release_id, components) = planned_release(&store).await;
    take_wake(&store, release_id).await;

    let id = store
        .append_event(&NewEvent {
            release_id,
            component_id: Some(components[1].id),
            actor: "worker".to_string(),
            kind: "note".to_string(),
            reason: Some("lint failed: B (0.1.0) not found".to_string()),
        })
        .await
        .unwrap();

    let last = store
        .events(release_id, 0, 100)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.id, id);
    assert_eq!(last.kind, "note");
    assert_eq!(last.component_name.as_deref(), Some("B"));
    assert_eq!((last.from_state, last.to_state), (None, None));
    assert_eq!(
        last.reason.as_deref(),
        Some("lint failed: B (0.1.0) not found")
    );
    assert!(!take_wake(&store, release_id).await);
}

async fn a_reader_following_the_log_misses_no_event_written_concurrently(db: &TestDb) {
    let store = db.store().await;
    let release_id = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..25 {
                    store
                        .append_event(&note(release_id, &format!("{writer}/{n}")))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();

    let mut seen = Vec::new();
    let mut last_seen = 0;
    loop {
        // Read once more after the writers finished, to see the last ones.
        let finished = writers.iter().all(|writer| writer.is_finished());
        for event in store.events_since(last_seen, 1000).await.unwrap() {
            last_seen = event.id;
            seen.push(event.id);
        }
        if finished {
            break;
        }
    }
    futures::future::join_all(writers).await;

    let all: Vec<i64> = store
        .events(release_id, 0, 1000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(seen, all);
}

async fn a_commit_that_appends_events_wakes_readers_of_the_log(db: &TestDb) {
    // Generous: only a missing wake-up may fail this, not a slow machine.
    const WAIT: std::time::Duration = std::time::Duration::from_secs(30);
    let store = db.store().await;
    let release = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap();
    let mut wakeups = store.event_wakeups().await;

    store
        .append_event(&NewEvent {
            release_id: release.id,
            component_id: None,
            actor: "test".to_string(),
            kind: "note".to_string(),
            reason: None,
        })
        .await
        .unwrap();
    tokio::time::timeout(WAIT, wakeups.next())
        .await
        .expect("a commit in this process wakes the reader");

    if db.backend == Backend::Postgres {
        // Another pool stands for another process: its NOTIFY reaches this one's LISTEN. Fresh
        // wake-ups, so that a notification left from the first commit cannot answer.
        let mut wakeups = store.event_wakeups().await;
        let other = db.store().await;
        let change = Change::by("test").because("from another process");
        other
            .transition_main_release(
                release.id,
                MainReleaseState::Created,
                MainReleaseState::Analyzing,
                &change,
            )
            .await
            .unwrap();
        tokio::time::timeout(WAIT, wakeups.next())
            .await
            .expect("a commit in another process wakes the reader on PostgreSQL");
    }
}

async fn a_recorded_delivery_wakes_the_delivery_loop_also_of_another_process(db: &TestDb) {
    // Generous: only a missing wake-up may fail this, not a slow machine.
    const WAIT: std::time::Duration = std::time::Duration::from_secs(30);
    let store = db.store().await;
    let mut wakeups = store.delivery_wakeups().await;
    store
        .record_delivery(&new_delivery("first"))
        .await
        .unwrap()
        .expect("a new delivery");
    tokio::time::timeout(WAIT, wakeups.next())
        .await
        .expect("a delivery recorded in this process wakes the loop");

    if db.backend == Backend::Postgres {
        // Another pool stands for another process (`convoy serve` beside `convoy work`).
        let mut wakeups = store.delivery_wakeups().await;
        let other = db.store().await;
        other
            .record_delivery(&new_delivery("second"))
            .await
            .unwrap()
            .expect("a new delivery");
        tokio::time::timeout(WAIT, wakeups.next())
            .await
            .expect("a delivery recorded by another process wakes the loop on PostgreSQL");
    }
}

async fn a_component_wake_is_settled_only_if_no_news_came_meanwhile(db: &TestDb) {
    let store = db.store().await;
    let (release, components) = planned_release(&store).await;
    let (a, b) = (components[0].id, components[1].id);
    // A new plan's components all get a first look.
    let first = store.component_wakes(release).await.unwrap();
    assert_eq!(first.len(), components.len());
    for (id, seen) in first {
        store.settle_component_wake(id, seen).await.unwrap();
    }
    assert!(store.component_wakes(release).await.unwrap().is_empty());

    store.request_component_wake(a).await.unwrap();
    store.request_component_wake(b).await.unwrap();
    let woken = store.component_wakes(release).await.unwrap();
    assert_eq!(woken.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [a, b]);
    // News for B while the pass looks at both: B stays woken, A is settled.
    store.request_component_wake(b).await.unwrap();
    for (id, seen) in woken {
        store.settle_component_wake(id, seen).await.unwrap();
    }
    assert_eq!(woken_ids(&store, release).await, [b]);
}

/// The components of `release` woken now.
async fn woken_ids(store: &Store, release: i64) -> Vec<i64> {
    let wakes = store.component_wakes(release).await.unwrap();
    wakes.into_iter().map(|(id, _)| id).collect()
}

async fn a_full_look_wakes_what_follows_gitlab_not_what_waits_on_dependencies(db: &TestDb) {
    let store = db.store().await;
    let (release, components) = planned_release(&store).await;
    let [a, b, c] = [0, 1, 2].map(|i| components[i].id);
    let change = Change::by("convoy");
    use ComponentState::{Pending, Preparing, Waiting};
    for (id, path) in [
        (a, &[Preparing][..]),
        (b, &[Preparing, Pending]),
        (c, &[Preparing, Pending]),
    ] {
        let mut from = Waiting;
        for &to in path {
            assert!(
                store
                    .transition_component(id, from, to, &change)
                    .await
                    .unwrap()
            );
            from = to;
        }
    }
    // c is pending and Convoy acted on it (it follows its pipeline); b waits on dependencies.
    store.set_component_acted(c, true).await.unwrap();
    for (id, seen) in store.component_wakes(release).await.unwrap() {
        store.settle_component_wake(id, seen).await.unwrap();
    }
    assert!(store.claim_wake(release).await.unwrap());
    store.settle_wake(release).await.unwrap();

    store.request_full_look(release).await.unwrap();

    assert_eq!(
        woken_ids(&store, release).await,
        [a, c],
        "b waits on dependencies, the last has not started"
    );
    assert!(
        store.claim_wake(release).await.unwrap(),
        "the release is woken too"
    );
}

async fn a_duplicate_delivery_is_recorded_once(db: &TestDb) {
    let store = db.store().await;
    let delivery = new_delivery("uuid-1");

    let first = store.record_delivery(&delivery).await.unwrap();
    let again = store.record_delivery(&delivery).await.unwrap();

    let id = first.expect("the first delivery is recorded");
    assert_eq!(again, None);
    let stored = store.delivery(id).await.unwrap().unwrap();
    assert_eq!(stored.idempotency_key, "uuid-1");
    assert_eq!(stored.event_name, "Pipeline Hook");
    assert_eq!(stored.project_path.as_deref(), Some("ios/a"));
    assert_eq!(stored.payload, r#"{"object_kind":"pipeline"}"#);
    assert_eq!((stored.processed_at, stored.outcome), (None, None));
}

async fn concurrent_duplicate_deliveries_are_recorded_exactly_once(db: &TestDb) {
    let store = db.store().await;
    let attempts = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.record_delivery(&new_delivery("uuid-race")).await })
    });

    let results = futures::future::join_all(attempts).await;

    let recorded: Vec<i64> = results
        .into_iter()
        .filter_map(|joined| joined.unwrap().unwrap())
        .collect();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(
        count_rows(db, "SELECT COUNT(*) FROM webhook_deliveries").await,
        1
    );
}

async fn deliveries_wait_until_marked_processed(db: &TestDb) {
    let store = db.store().await;
    let first = store
        .record_delivery(&new_delivery("k1"))
        .await
        .unwrap()
        .unwrap();
    let second = store
        .record_delivery(&new_delivery("k2"))
        .await
        .unwrap()
        .unwrap();
    let third = store
        .record_delivery(&new_delivery("k3"))
        .await
        .unwrap()
        .unwrap();

    let waiting = store.waiting_deliveries(10).await.unwrap();
    assert_eq!(
        waiting.iter().map(|d| d.id).collect::<Vec<_>>(),
        [first, second, third]
    );
    assert_eq!(waiting[1].project_path.as_deref(), Some("ios/a"));
    store
        .mark_deliveries_processed(&[(second, "woke release 3".to_owned())])
        .await
        .unwrap();

    assert_eq!(waiting_ids(&store, 10).await, vec![first, third]);
    assert_eq!(waiting_ids(&store, 1).await, vec![first]);
    let processed = store.delivery(second).await.unwrap().unwrap();
    assert!(processed.processed_at.unwrap() >= processed.received_at);
    assert_eq!(processed.outcome.as_deref(), Some("woke release 3"));
    // One that does not exist fails the whole batch: the first stays unprocessed.
    assert!(matches!(
        store
            .mark_deliveries_processed(&[(first, "x".to_owned()), (999, "x".to_owned())])
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(waiting_ids(&store, 10).await, vec![first, third]);
}

async fn a_lease_is_exclusive_until_it_expires(db: &TestDb) {
    let store = db.store().await;
    let id = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;

    assert!(
        store
            .try_lease_release(id, "worker-1", 1_000, 500)
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lease_release(id, "worker-2", 1_200, 500)
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lease_release(id, "worker-2", 1_500, 500)
            .await
            .unwrap()
    );
    // The holder renews its lease.
    assert!(
        store
            .try_lease_release(id, "worker-1", 1_400, 500)
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lease_release(id, "worker-2", 1_800, 500)
            .await
            .unwrap()
    );
    // Expired: another worker takes over, and the first one is out.
    assert!(
        store
            .try_lease_release(id, "worker-2", 1_901, 500)
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lease_release(id, "worker-1", 1_950, 500)
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lease_release(4242, "worker-1", 1_000, 500)
            .await
            .unwrap()
    );
}

async fn a_released_lease_is_free_for_another_worker(db: &TestDb) {
    let store = db.store().await;
    let id = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;
    assert!(
        store
            .try_lease_release(id, "worker-1", 1_000, 60_000)
            .await
            .unwrap()
    );

    store.release_lease(id, "worker-2").await.unwrap();
    assert!(
        !store
            .try_lease_release(id, "worker-2", 1_001, 60_000)
            .await
            .unwrap()
    );

    store.release_lease(id, "worker-1").await.unwrap();
    assert!(
        store
            .try_lease_release(id, "worker-2", 1_002, 60_000)
            .await
            .unwrap()
    );
}

async fn taking_a_wake_request_clears_it(db: &TestDb) {
    let store = db.store().await;
    let id = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;

    assert!(take_wake(&store, id).await);
    assert!(!take_wake(&store, id).await);
    store.request_wake(id).await.unwrap();
    store.request_wake(id).await.unwrap();
    assert!(take_wake(&store, id).await);
    assert!(!take_wake(&store, id).await);
    assert!(matches!(
        store.request_wake(4242).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn a_renewed_lease_stays_with_its_holder_and_a_lost_one_cannot_be_renewed(db: &TestDb) {
    let store = db.store().await;
    let id = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;
    assert!(
        store
            .try_lease_release(id, "w1#0", 1_000, 500)
            .await
            .unwrap()
    );

    assert!(store.renew_lease(id, "w1#0", 1_400, 500).await.unwrap());
    assert!(
        !store
            .try_lease_release(id, "w2#0", 1_800, 500)
            .await
            .unwrap()
    );
    // Not renewed in time: another worker takes it, and the first cannot renew any more.
    assert!(
        store
            .try_lease_release(id, "w2#0", 1_901, 500)
            .await
            .unwrap()
    );
    assert!(!store.renew_lease(id, "w1#0", 1_950, 500).await.unwrap());
    assert!(!store.renew_lease(4242, "w1#0", 1_950, 500).await.unwrap());
}

async fn a_lease_left_to_expire_is_found_abandoned_and_a_given_up_one_is_not(db: &TestDb) {
    let store = db.store().await;
    let dead = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;
    let clean = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;
    let busy = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;
    assert!(
        store
            .try_lease_release(dead, "w1#0", 1_000, 500)
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease_release(clean, "w1#1", 1_000, 500)
            .await
            .unwrap()
    );
    store.release_lease(clean, "w1#1").await.unwrap();
    assert!(
        store
            .try_lease_release(busy, "w1#2", 1_000, 5_000)
            .await
            .unwrap()
    );

    assert_eq!(
        store.abandoned_release_ids(1_400).await.unwrap(),
        Vec::<i64>::new()
    );
    assert_eq!(
        store.abandoned_release_ids(1_600).await.unwrap(),
        vec![dead]
    );
}

async fn a_stopping_worker_gives_up_only_its_own_leases(db: &TestDb) {
    let store = db.store().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            store
                .create_main_release(&new_release("ana"))
                .await
                .unwrap()
                .id,
        );
    }
    assert!(
        store
            .try_lease_release(ids[0], "worker-7-1#0", 1_000, 60_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease_release(ids[1], "worker-7-1#5", 1_000, 60_000)
            .await
            .unwrap()
    );
    // Another worker whose id starts the same way.
    assert!(
        store
            .try_lease_release(ids[2], "worker-7-10#0", 1_000, 60_000)
            .await
            .unwrap()
    );

    assert_eq!(store.release_leases_of("worker-7-1#").await.unwrap(), 2);

    assert!(
        store
            .try_lease_release(ids[0], "other#0", 2_000, 500)
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease_release(ids[1], "other#1", 2_000, 500)
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lease_release(ids[2], "other#2", 2_000, 500)
            .await
            .unwrap()
    );
}

async fn a_wake_up_claimed_by_a_pass_that_died_is_claimed_again(db: &TestDb) {
    let store = db.store().await;
    let id = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;

    assert!(store.claim_wake(id).await.unwrap());
    // The pass dies here, before settling: the release is still woken.
    assert_eq!(store.woken_release_ids().await.unwrap(), vec![id]);
    assert!(store.claim_wake(id).await.unwrap());
    store.settle_wake(id).await.unwrap();
    assert!(!store.claim_wake(id).await.unwrap());
    assert_eq!(store.woken_release_ids().await.unwrap(), Vec::<i64>::new());
}

async fn a_wake_up_requested_during_a_pass_survives_its_settling(db: &TestDb) {
    let store = db.store().await;
    let id = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;

    assert!(store.claim_wake(id).await.unwrap());
    store.request_wake(id).await.unwrap();
    store.settle_wake(id).await.unwrap();

    assert!(store.claim_wake(id).await.unwrap());
}

// SQLite only: what the SQLite connection promises.

#[tokio::test]
async fn a_sqlite_database_file_is_created_on_first_connect_in_wal_mode() {
    let db = TestDb::new(Backend::Sqlite).await;
    let path = db.url.trim_start_matches("sqlite://").to_string();
    assert!(!std::path::Path::new(&path).exists());

    db.store().await;

    assert!(std::path::Path::new(&path).exists());
    let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

// Both databases at once.

#[tokio::test]
async fn the_sqlite_and_postgres_schemas_have_the_same_columns() {
    let sqlite = TestDb::new(Backend::Sqlite).await;
    let postgres = TestDb::new(Backend::Postgres).await;
    sqlite.store().await.close().await;
    postgres.store().await.close().await;

    let mut conn = sqlx::SqliteConnection::connect(&sqlite.url).await.unwrap();
    let mut sqlite_columns: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT m.name, p.name, p.\"notnull\" = 0 AND p.pk = 0 \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
         AND m.name <> 'convoy_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut conn = sqlx::PgConnection::connect(&postgres.url).await.unwrap();
    let mut postgres_columns: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable = 'YES' \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> 'convoy_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    sqlite_columns.sort();
    postgres_columns.sort();

    let column =
        |table: &str, name: &str, nullable| (table.to_string(), name.to_string(), nullable);
    assert!(sqlite_columns.contains(&column("main_releases", "id", false)));
    assert!(sqlite_columns.contains(&column("release_events", "reason", true)));
    assert_eq!(sqlite_columns, postgres_columns);
    postgres.remove().await;
}

#[tokio::test]
async fn an_in_memory_sqlite_database_keeps_its_data_for_the_life_of_the_store() {
    let store = Store::connect("sqlite::memory:").await.unwrap();

    let id = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap()
        .id;
    let readers = (0..3).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.main_release(id).await })
    });

    for reader in futures::future::join_all(readers).await {
        assert_eq!(reader.unwrap().unwrap().map(|release| release.id), Some(id));
    }
}

#[tokio::test]
async fn an_unknown_database_url_is_refused_with_advice() {
    let error = Store::connect("mysql://localhost/convoy")
        .await
        .unwrap_err();

    assert!(
        error.to_string().contains("sqlite:// or postgres://"),
        "{error}"
    );
}

// Helpers.

async fn planned_release(store: &Store) -> (i64, Vec<convoy_store::ComponentRelease>) {
    let release = store
        .create_main_release(&new_release("ana"))
        .await
        .unwrap();
    let components = store
        .save_plan(release.id, &abcd_plan(), "worker")
        .await
        .unwrap();
    (release.id, components)
}

fn pipeline(id: u64, kind: PipelineKind, status: &str) -> PipelineRecord {
    PipelineRecord {
        project_path: "ios/a".to_string(),
        pipeline_id: id,
        kind,
        git_ref: "release/0.1.0".to_string(),
        sha: "0123abcd".to_string(),
        status: status.to_string(),
        web_url: format!("https://gitlab.example.com/ios/a/-/pipelines/{id}"),
        failed_job: None,
        failure_log: None,
        duration: None,
    }
}

fn tag(name: &str) -> TagRecord {
    TagRecord {
        project_path: "ios/a".to_string(),
        name: name.to_string(),
        sha: "0123abcd".to_string(),
    }
}

fn note(release_id: i64, text: &str) -> NewEvent {
    NewEvent {
        release_id,
        component_id: None,
        actor: "worker".to_string(),
        kind: "note".to_string(),
        reason: Some(text.to_string()),
    }
}

async fn deliveries_recorded_together_are_each_recorded_once(db: &TestDb) {
    let store = db.store().await;
    let before = store
        .record_delivery(&new_delivery("seen-before"))
        .await
        .unwrap();
    assert!(before.is_some());

    let batch = ["a", "seen-before", "b", "a"].map(new_delivery);
    let ids = store.record_deliveries(&batch).await.unwrap();

    // New ones get ids; one seen before, and the second of two in the batch, are duplicates.
    assert!(ids[0].is_some() && ids[2].is_some(), "{ids:?}");
    assert_eq!((ids[1], ids[3]), (None, None), "{ids:?}");
    assert_eq!(store.waiting_deliveries(10).await.unwrap().len(), 3);
}

/// Ids of the deliveries not processed yet, oldest first, at most `limit`.
async fn waiting_ids(store: &Store, limit: u32) -> Vec<i64> {
    let waiting = store.waiting_deliveries(limit).await.unwrap();
    waiting.iter().map(|d| d.id).collect()
}

fn new_delivery(key: &str) -> NewDelivery {
    NewDelivery {
        idempotency_key: key.to_string(),
        event_name: "Pipeline Hook".to_string(),
        project_path: Some("ios/a".to_string()),
        payload: r#"{"object_kind":"pipeline"}"#.to_string(),
    }
}

/// Runs apalis' own migrations on the test database, through its own typed pool.
async fn set_up_apalis_storage(db: &TestDb) {
    match db.backend {
        Backend::Sqlite => {
            let options: sqlx::sqlite::SqliteConnectOptions = db.url.parse().unwrap();
            let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
                .await
                .unwrap();
            apalis_sqlite::SqliteStorage::<()>::setup(&pool)
                .await
                .expect("apalis-sqlite sets up next to Convoy's tables");
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            apalis_postgres::PostgresStorage::<()>::setup(&pool)
                .await
                .expect("apalis-postgres sets up next to Convoy's tables");
            pool.close().await;
        }
    }
}

/// How many migrations Convoy ships (the same number for both databases).
fn migration_files() -> i64 {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/sqlite");
    std::fs::read_dir(dir).unwrap().count() as i64
}

async fn applied_convoy_migrations(db: &TestDb) -> i64 {
    count_rows(db, "SELECT COUNT(*) FROM convoy_migrations").await
}

async fn count_rows(db: &TestDb, sql: &'static str) -> i64 {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}

/// The outbox (issue 11): a component's state changes move one status row on merge request
/// notes; a change the machine marked as asking the owners adds a mention row; with chat, the
/// release's one chat row moves too and the mention is repeated there; each webhook gets every
/// change. Each event is read once.
async fn each_state_change_is_read_into_the_outbox_once(db: &TestDb) {
    let store = db.store().await;
    let (id, components) = planned_release(&store).await;
    let a = components[0].id;
    let urls = ["https://hooks.example.com/convoy".to_owned()];
    let channels = |_: &str| Channels {
        notes: true,
        chat: true,
        webhooks: &urls,
    };
    // Events from before are read, and the log is then read to its end.
    while store.derive_notifications(&channels).await.unwrap() > 0 {}
    assert!(store.notifications(id).await.unwrap().is_empty());

    let moved = Change::by("worker");
    store
        .transition_component(
            a,
            ComponentState::Waiting,
            ComponentState::Preparing,
            &moved,
        )
        .await
        .unwrap();
    let stopped = Change {
        mention: Some(Mention::Failed),
        ..Change::by("worker").because("tag 0.1.0 exists")
    };
    store
        .transition_component(
            a,
            ComponentState::Preparing,
            ComponentState::Failed,
            &stopped,
        )
        .await
        .unwrap();
    assert_eq!(store.derive_notifications(&channels).await.unwrap(), 2);
    assert_eq!(
        store.derive_notifications(&channels).await.unwrap(),
        0,
        "read once"
    );

    let rows = store.notifications(id).await.unwrap();
    let keys: Vec<(&str, String, Notice)> = rows
        .iter()
        .map(|n| (n.channel.as_str(), n.key.clone(), n.notice))
        .collect();
    let (preparing_event, failed_event) = (rows[0].event_id, rows.last().unwrap().event_id);
    let hook = |event| format!("webhook:{event}:{}", urls[0]);
    assert_eq!(
        keys,
        [
            ("webhook", hook(preparing_event), Notice::Event),
            ("chat", format!("chat:status:{id}"), Notice::Status),
            ("merge_request_note", format!("status:{a}"), Notice::Status),
            ("webhook", hook(failed_event), Notice::Event),
            (
                "chat",
                format!("chat:mention:{failed_event}"),
                Notice::Mention(Mention::Failed)
            ),
            (
                "merge_request_note",
                format!("mention:{failed_event}"),
                Notice::Mention(Mention::Failed)
            ),
        ]
    );
    assert_eq!(rows[0].target.as_deref(), Some(urls[0].as_str()));
    let moved_on: Vec<_> = rows.iter().filter(|n| n.notice != Notice::Event).collect();
    assert!(
        moved_on
            .iter()
            .all(|n| n.is_due() && n.event_id == failed_event)
    );
}

async fn a_notification_is_claimed_by_one_worker_until_its_claim_expires(db: &TestDb) {
    let store = db.store().await;
    let (id, components) = planned_release(&store).await;
    while store
        .derive_notifications(&|_| Channels {
            notes: true,
            ..Channels::default()
        })
        .await
        .unwrap()
        > 0
    {}
    store
        .transition_component(
            components[0].id,
            ComponentState::Waiting,
            ComponentState::Preparing,
            &Change::by("worker"),
        )
        .await
        .unwrap();
    store
        .derive_notifications(&|_| Channels {
            notes: true,
            ..Channels::default()
        })
        .await
        .unwrap();

    let first = store
        .claim_due_notifications("w1", 1_000, 500, 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].writes, 0);
    store
        .record_notification_writing(first[0].id)
        .await
        .unwrap();
    assert!(
        store
            .claim_due_notifications("w2", 1_400, 500, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // w1 died while writing: after its claim, w2 takes the row, and knows the message may exist.
    let again = store
        .claim_due_notifications("w2", 1_600, 500, 10)
        .await
        .unwrap();
    assert_eq!(again[0].writes, 1);

    store
        .record_notification_message(again[0].id, "41")
        .await
        .unwrap();
    store
        .record_notification_delivered(again[0].id, again[0].event_id, Some("text"), 0)
        .await
        .unwrap();
    let delivered = &store.notifications(id).await.unwrap()[0];
    assert!(!delivered.is_due());
    assert_eq!(
        (delivered.external_id.as_deref(), delivered.body.as_deref()),
        (Some("41"), Some("text"))
    );
    assert!(
        store
            .claim_due_notifications("w3", 9_000, 500, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn an_ensured_hook_is_remembered_for_its_url_and_secret_only(db: &TestDb) {
    let store = db.store().await;
    let (project, url) = ("ios/core-kit", "https://convoy.example.com/webhooks/gitlab");
    assert_eq!(
        store.hook_ensured_at(project, url, "d1").await.unwrap(),
        None
    );
    store.record_hook_ensured(project, url, "d1").await.unwrap();
    assert!(
        store
            .hook_ensured_at(project, url, "d1")
            .await
            .unwrap()
            .is_some()
    );
    // Another secret (or URL) is another hook to make sure of.
    assert_eq!(
        store.hook_ensured_at(project, url, "d2").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .hook_ensured_at(project, "https://other/webhooks/gitlab", "d1")
            .await
            .unwrap(),
        None
    );
    store.record_hook_ensured(project, url, "d2").await.unwrap();
    assert_eq!(
        store.hook_ensured_at(project, url, "d1").await.unwrap(),
        None
    );
    assert!(
        store
            .hook_ensured_at(project, url, "d2")
            .await
            .unwrap()
            .is_some()
    );
}
