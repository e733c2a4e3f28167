//! Cancel is one decision that wins (issue 14 point 4): the release and its unfinished
//! components are canceled in one transaction, a component compare-and-set loses against it,
//! and an analysis that ends after it stores no plan. On SQLite and on PostgreSQL.

mod support;

use convoy_core::main_release::{self, MainReleaseEvent, MainReleaseTransition};
use convoy_core::{ComponentState, MainReleaseState};
use convoy_store::{Change, ComponentRelease, Store};
use convoy_testkit::abcd_plan;
use support::{TestDb, new_release};

on_both_databases!(
    a_cancel_moves_the_release_and_every_unfinished_component_at_once,
    a_finished_release_is_not_canceled,
    nothing_moves_in_a_canceled_release_but_into_canceled,
    a_component_racing_a_cancel_ends_canceled,
    an_analysis_ending_after_a_cancel_stores_no_plan,
    an_analysis_ending_while_analyzing_stores_the_plan_and_moves_on,
);

/// A release in `state` with the A-B-C-D plan stored (every component waiting).
async fn release_in(store: &Store, state: MainReleaseState) -> (i64, Vec<ComponentRelease>) {
    let release = store
        .create_main_release(&new_release("ada"))
        .await
        .unwrap();
    let components = store
        .save_plan(release.id, &abcd_plan(), "convoy")
        .await
        .unwrap();
    let moved = store
        .transition_main_release(
            release.id,
            MainReleaseState::Created,
            state,
            &Change::by("convoy"),
        )
        .await
        .unwrap();
    assert!(moved);
    (release.id, components)
}

async fn move_component(store: &Store, c: &ComponentRelease, to: ComponentState) -> bool {
    store
        .transition_component(c.id, c.state, to, &Change::by("convoy"))
        .await
        .unwrap()
}

async fn states(store: &Store, release_id: i64) -> Vec<ComponentState> {
    store
        .components(release_id)
        .await
        .unwrap()
        .iter()
        .map(|c| c.state)
        .collect()
}

async fn a_cancel_moves_the_release_and_every_unfinished_component_at_once(db: &TestDb) {
    let store = db.store().await;
    let (id, components) = release_in(&store, MainReleaseState::Deploying).await;
    // A preparing, B failed (a failure waits for a person: it is not canceled), C and D waiting.
    assert!(move_component(&store, &components[0], ComponentState::Preparing).await);
    assert!(move_component(&store, &components[1], ComponentState::Failed).await);
    let before = store.events(id, 0, 100).await.unwrap().len();

    let canceled = store
        .cancel_main_release(id, &Change::by("ada").because("wrong branch"))
        .await
        .unwrap();

    assert!(canceled);
    let release = store.main_release(id).await.unwrap().unwrap();
    assert_eq!(release.state, MainReleaseState::Canceled);
    assert!(release.finished_at.is_some());
    assert_eq!(
        states(&store, id).await,
        [
            ComponentState::Canceled,
            ComponentState::Failed,
            ComponentState::Canceled,
            ComponentState::Canceled
        ]
    );
    let events = store.events(id, 0, 100).await.unwrap();
    let new: Vec<(Option<String>, Option<String>, Option<String>)> = events[before..]
        .iter()
        .map(|e| {
            (
                e.component_name.clone(),
                e.from_state.clone(),
                e.to_state.clone(),
            )
        })
        .collect();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        new,
        [
            (None, some("deploying"), some("canceled")),
            (some("A"), some("preparing"), some("canceled")),
            (some("C"), some("waiting"), some("canceled")),
            (some("D"), some("waiting"), some("canceled")),
        ]
    );
    assert!(events[before..].iter().all(|e| e.actor == "ada"));
}

async fn a_finished_release_is_not_canceled(db: &TestDb) {
    let store = db.store().await;
    let (id, _) = release_in(&store, MainReleaseState::Deploying).await;
    assert!(
        store
            .cancel_main_release(id, &Change::by("ada"))
            .await
            .unwrap()
    );
    let events = store.events(id, 0, 100).await.unwrap();

    let again = store
        .cancel_main_release(id, &Change::by("bob"))
        .await
        .unwrap();

    assert!(!again, "a canceled release cannot be canceled again");
    assert_eq!(store.events(id, 0, 100).await.unwrap(), events);
}

async fn nothing_moves_in_a_canceled_release_but_into_canceled(db: &TestDb) {
    let store = db.store().await;
    let (id, components) = release_in(&store, MainReleaseState::Deploying).await;
    assert!(move_component(&store, &components[0], ComponentState::Failed).await);
    assert!(
        store
            .cancel_main_release(id, &Change::by("ada"))
            .await
            .unwrap()
    );
    let failed = store.component(components[0].id).await.unwrap().unwrap();
    assert_eq!(failed.state, ComponentState::Failed);

    // A retry (failed → preparing) that read the release before the cancel loses.
    let retried = move_component(&store, &failed, ComponentState::Preparing).await;

    assert!(!retried);
    assert_eq!(
        store.component(failed.id).await.unwrap().unwrap().state,
        ComponentState::Failed
    );
}

async fn a_component_racing_a_cancel_ends_canceled(db: &TestDb) {
    let store = db.store().await;
    for round in 0..10 {
        let (id, components) = release_in(&store, MainReleaseState::Deploying).await;
        // The worker moves each component on (waiting → preparing → pending) while a person
        // cancels: whichever order the database picks, nothing is left moving.
        let workers: Vec<_> = components
            .iter()
            .cloned()
            .map(|c| {
                let store = store.clone();
                tokio::spawn(async move {
                    let change = Change::by("convoy");
                    if store
                        .transition_component(
                            c.id,
                            ComponentState::Waiting,
                            ComponentState::Preparing,
                            &change,
                        )
                        .await
                        .unwrap()
                    {
                        store
                            .transition_component(
                                c.id,
                                ComponentState::Preparing,
                                ComponentState::Pending,
                                &change,
                            )
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        let canceled = store
            .cancel_main_release(id, &Change::by("ada"))
            .await
            .unwrap();
        for worker in workers {
            worker.await.unwrap();
        }

        assert!(canceled);
        assert!(
            states(&store, id)
                .await
                .iter()
                .all(|s| *s == ComponentState::Canceled),
            "round {round}: {:?}",
            states(&store, id).await
        );
    }
}

async fn an_analysis_ending_after_a_cancel_stores_no_plan(db: &TestDb) {
    let store = db.store().await;
    let release = store
        .create_main_release(&new_release("ada"))
        .await
        .unwrap();
    let to_analyzing = store
        .transition_main_release(
            release.id,
            MainReleaseState::Created,
            MainReleaseState::Analyzing,
            &Change::by("ada"),
        )
        .await
        .unwrap();
    assert!(to_analyzing);
    assert!(
        store
            .cancel_main_release(release.id, &Change::by("ada"))
            .await
            .unwrap()
    );

    let saved = store
        .save_analysis(
            release.id,
            ("Podfile", "abc123"),
            &abcd_plan(),
            &analyzed(),
            "convoy",
        )
        .await
        .unwrap();

    assert!(!saved);
    let after = store.main_release(release.id).await.unwrap().unwrap();
    assert_eq!(after.state, MainReleaseState::Canceled);
    assert_eq!(after.manifest_path, None);
    assert!(store.components(release.id).await.unwrap().is_empty());
}

async fn an_analysis_ending_while_analyzing_stores_the_plan_and_moves_on(db: &TestDb) {
    let store = db.store().await;
    let release = store
        .create_main_release(&new_release("ada"))
        .await
        .unwrap();
    store
        .transition_main_release(
            release.id,
            MainReleaseState::Created,
            MainReleaseState::Analyzing,
            &Change::by("ada"),
        )
        .await
        .unwrap();

    let saved = store
        .save_analysis(
            release.id,
            ("Example/Podfile", "abc123"),
            &abcd_plan(),
            &analyzed(),
            "convoy",
        )
        .await
        .unwrap();

    assert!(saved);
    let after = store.main_release(release.id).await.unwrap().unwrap();
    assert_eq!(after.state, MainReleaseState::Waiting);
    assert_eq!(after.reason, analyzed().reason);
    assert_eq!(after.manifest_path.as_deref(), Some("Example/Podfile"));
    assert_eq!(after.manifest_commit_id.as_deref(), Some("abc123"));
    assert_eq!(states(&store, release.id).await.len(), 4);
}

/// The core's transition for a finished analysis.
fn analyzed() -> MainReleaseTransition {
    main_release::decide(MainReleaseState::Analyzing, &MainReleaseEvent::Analyzed).unwrap()
}
