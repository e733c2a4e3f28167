//! A worker that dies must not stall its releases: `convoy work` processes killed with
//! `kill -9` while they hold a release's lease, or stopped with SIGTERM mid-step, and the
//! release carrying on in another worker or in the restarted process.
//!
//! The workers here are real processes (the `convoy` binary) with the production lease and
//! reconcile interval (30 s): only the lease's expiry and the takeover can bring the release
//! back within the tests' bounds. The server runs in the test process on the same database.

mod support;

use std::time::{Duration, Instant};

use convoy_simulator::Faults;
use support::{Database, Options, TestConvoy, WorkerProcess, spawn_convoy};

const RELEASED: [(&str, &str); 4] = [
    ("CoreKit", "0.1.0"),
    ("NetworkKit", "0.1.0"),
    ("StorageKit", "0.1.0"),
    ("FeatureKit", "0.1.0"),
];

/// Every GitLab answer is slowed down, so a pass spends seconds inside its steps.
async fn slow_convoy(database: Database) -> TestConvoy {
    let convoy = spawn_convoy(Options {
        database,
        in_process_worker: false,
        ..Options::default()
    })
    .await;
    convoy.sim.faults().set(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    convoy
}

/// Deploys the planned release and waits until one of `workers` holds its lease while a
/// component is mid-release; returns the index of the holder.
async fn deploy_until_held_mid_step(
    convoy: &TestConvoy,
    workers: &[&WorkerProcess],
) -> (i64, usize) {
    let planned = convoy.start_release().await;
    assert_eq!(planned.state, "waiting", "the plan is ready: {planned:?}");
    convoy.client.deploy_all(planned.id).await.unwrap();
    let started = Instant::now();
    loop {
        let release = convoy.client.release(planned.id).await.unwrap();
        let mid_step = release
            .components
            .iter()
            .any(|c| matches!(c.state.as_str(), "preparing" | "pending" | "deploying"));
        let owner = convoy.lease_owner(planned.id).await.unwrap_or_default();
        let holder = workers
            .iter()
            .position(|w| owner.starts_with(&w.lease_prefix()));
        if let (true, Some(holder)) = (mid_step, holder) {
            return (planned.id, holder);
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no worker ever held the release mid-step: {release:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn assert_released_once(convoy: &TestConvoy, id: i64, logs: &[&WorkerProcess]) {
    let release = convoy.wait_for(id, |r| r.is_finished()).await;
    let logs: Vec<String> = logs.iter().map(|w| w.log()).collect();
    assert_eq!(
        release.state,
        "success",
        "{release:#?}\n{}",
        logs.join("\n")
    );
    convoy.assert_side_effects_once();
    convoy.assert_podfile_pins(&RELEASED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_with_kill_9_mid_step_is_carried_on_by_its_restart_on_sqlite() {
    let convoy = slow_convoy(Database::Sqlite).await;
    let mut first = convoy.spawn_worker_process();
    let (id, _) = deploy_until_held_mid_step(&convoy, &[&first]).await;

    first.kill_9();
    let dead_owner = convoy.lease_owner(id).await;
    assert!(
        dead_owner.is_some(),
        "the killed worker still holds the lease"
    );
    let restarted = convoy.spawn_worker_process();

    assert_released_once(&convoy, id, &[&first, &restarted]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_other_worker_carries_on_when_the_lease_holder_is_killed_on_postgresql() {
    let convoy = slow_convoy(Database::Postgres).await;
    let mut workers = [convoy.spawn_worker_process(), convoy.spawn_worker_process()];
    let (id, holder) = deploy_until_held_mid_step(&convoy, &[&workers[0], &workers[1]]).await;

    workers[holder].kill_9();

    assert_released_once(&convoy, id, &[&workers[0], &workers[1]]).await;
    convoy.remove_postgres_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_mid_step_gives_up_the_lease_and_the_next_worker_carries_on_at_once() {
    let convoy = slow_convoy(Database::Sqlite).await;
    let mut first = convoy.spawn_worker_process();
    let (id, _) = deploy_until_held_mid_step(&convoy, &[&first]).await;

    let status = first.terminate(Duration::from_secs(60));

    assert!(
        status.success(),
        "convoy work exits cleanly: {status:?}\n{}",
        first.log()
    );
    assert_eq!(
        convoy.lease_owner(id).await,
        None,
        "the stopped worker gave up its lease:\n{}",
        first.log()
    );
    let next = convoy.spawn_worker_process();
    assert_released_once(&convoy, id, &[&first, &next]).await;
}
