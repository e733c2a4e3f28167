//! How long a release stands still after `kill -9` of the worker holding its lease.
//!
//! Each trial runs the demo release against the simulator (every GitLab answer slowed by
//! 150 ms, so passes spend seconds in their steps) with `convoy work` processes on SQLite,
//! kills the lease holder at a random moment mid-release, and measures from the kill until a
//! live worker holds the release again (resumed) and until the next event is recorded.
//! Two ways to carry on: the killed process is restarted, or a second worker already runs.
//!
//! Run: `cargo bench -p convoy --bench recovery`. Timings are reported here, never asserted.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use convoy_simulator::Faults;
use support::{Options, TestConvoy, WorkerProcess, spawn_convoy};

const TRIALS: usize = 5;

#[derive(Clone, Copy, PartialEq, Eq)]
enum CarryOn {
    Restart,
    OtherWorker,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    println!(
        "| carried on by | trial | killed after deploy | resumed (lease taken) | next event |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for carry_on in [CarryOn::Restart, CarryOn::OtherWorker] {
        let mut resumed = Vec::new();
        for trial in 1..=TRIALS {
            let (delay, resume, event) = trial_once(carry_on).await;
            let name = match carry_on {
                CarryOn::Restart => "restarted process",
                CarryOn::OtherWorker => "other worker",
            };
            println!(
                "| {name} | {trial} | {:.1} s | {:.1} s | {:.1} s |",
                delay.as_secs_f64(),
                resume.as_secs_f64(),
                event.as_secs_f64()
            );
            resumed.push(resume);
        }
        resumed.sort();
        println!(
            "| median / max | | | {:.1} s / {:.1} s | |",
            resumed[TRIALS / 2].as_secs_f64(),
            resumed[TRIALS - 1].as_secs_f64()
        );
    }
}

/// One kill: returns when it happened after the deploy, and how long until the release was
/// held again and until its next event.
async fn trial_once(carry_on: CarryOn) -> (Duration, Duration, Duration) {
    let convoy = spawn_convoy(Options {
        in_process_worker: false,
        ..Options::default()
    })
    .await;
    convoy.sim.faults().set(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let mut workers = vec![convoy.spawn_worker_process()];
    if carry_on == CarryOn::OtherWorker {
        workers.push(convoy.spawn_worker_process());
    }
    let planned = convoy.start_release().await;
    convoy.client.deploy_all(planned.id).await.unwrap();
    let deployed = Instant::now();
    tokio::time::sleep(Duration::from_millis(rand::random_range(0..4_000))).await;
    let holder = wait_for_holder(&convoy, planned.id, &workers).await;
    let last_event = last_event_id(&convoy, planned.id).await;

    let killed = Instant::now();
    workers[holder].kill_9();
    let delay = killed - deployed;
    if carry_on == CarryOn::Restart {
        workers.push(convoy.spawn_worker_process());
    }
    let live: Vec<String> = workers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != holder)
        .map(|(_, w)| w.lease_prefix())
        .collect();

    let (mut resumed, mut next_event) = (None, None);
    while resumed.is_none() || next_event.is_none() {
        let owner = convoy.lease_owner(planned.id).await.unwrap_or_default();
        if resumed.is_none() && live.iter().any(|prefix| owner.starts_with(prefix)) {
            resumed = Some(killed.elapsed());
        }
        if next_event.is_none() && last_event_id(&convoy, planned.id).await > last_event {
            next_event = Some(killed.elapsed());
        }
        assert!(
            killed.elapsed() < Duration::from_secs(300),
            "the release never resumed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let release = convoy.wait_for(planned.id, |r| r.is_finished()).await;
    assert_eq!(release.state, "success", "{release:#?}");
    (delay, resumed.unwrap(), next_event.unwrap())
}

/// Waits until one of `workers` holds the release while a component is mid-release.
async fn wait_for_holder(convoy: &TestConvoy, id: i64, workers: &[WorkerProcess]) -> usize {
    loop {
        let release = convoy.client.release(id).await.unwrap();
        assert!(!release.is_finished(), "the release ended before the kill");
        let owner = convoy.lease_owner(id).await.unwrap_or_default();
        if let Some(holder) = workers
            .iter()
            .position(|w| owner.starts_with(&w.lease_prefix()))
        {
            return holder;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn last_event_id(convoy: &TestConvoy, id: i64) -> i64 {
    convoy
        .events(id)
        .await
        .last()
        .map(|event| event.id)
        .unwrap_or_default()
}
