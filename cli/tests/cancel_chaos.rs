//! Cancel is one decision that wins (issue 14): thirty releases canceled at moments spread over
//! analysis, preparing, pending and deploying, each against its own simulator, end with every
//! component canceled or released, no merge request left with auto-merge set at GitLab, and no
//! state moved by Convoy after the cancel.
//!
//! The moments are chosen by the trial's number, not by a clock: a phase to wait for, then a
//! pseudo-random number of further looks (deterministic per trial) before the cancel.

mod support;

use std::time::{Duration, Instant};

use convoy::client::ReleaseView;
use futures::StreamExt;
use support::{APP, APP_REF, COMPONENTS, Options, TestConvoy, spawn_convoy};

const TRIALS: u64 = 30;
/// Trials run at once (each has its own simulator, database and worker).
const AT_ONCE: usize = 3;

#[derive(Debug, Clone, Copy)]
enum Phase {
    Analysis,
    Preparing,
    Pending,
    Deploying,
}

impl Phase {
    fn of_trial(trial: u64) -> Phase {
        [
            Phase::Analysis,
            Phase::Preparing,
            Phase::Pending,
            Phase::Deploying,
        ][(trial % 4) as usize]
    }

    /// Whether the release has reached this phase (or gone past it).
    fn reached(self, release: &ReleaseView) -> bool {
        let any = |states: &[&str]| {
            release
                .components
                .iter()
                .any(|c| states.contains(&c.state.as_str()))
        };
        match self {
            Phase::Analysis => true,
            Phase::Preparing => any(&["preparing", "pending", "merged", "deploying", "success"]),
            Phase::Pending => any(&["pending", "merged", "deploying", "success"]),
            Phase::Deploying => any(&["deploying", "success"]),
        }
    }
}

/// 0..4 further looks at the release (about 25 ms each) after the phase is reached.
fn extra_looks(trial: u64) -> u64 {
    trial.wrapping_mul(2_654_435_761) % 5
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_cancels_at_any_moment_leave_nothing_moving_and_no_auto_merge() {
    let outcomes: Vec<(u64, Phase, bool)> = futures::stream::iter(0..TRIALS)
        .map(trial)
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    let canceled = outcomes.iter().filter(|(_, _, canceled)| *canceled).count();
    println!("{canceled} of {TRIALS} releases were canceled; the others finished first");
    for (trial, phase, canceled) in &outcomes {
        println!("trial {trial:>2} at {phase:?}: canceled {canceled}");
    }
    assert!(
        canceled > 0,
        "no trial canceled a running release: {outcomes:?}"
    );
}

/// One release canceled at the trial's moment; returns whether the cancel came in time (a
/// release that finished first cannot be canceled, and is checked as finished).
async fn trial(trial: u64) -> (u64, Phase, bool) {
    let convoy = spawn_convoy(Options::default()).await;
    let phase = Phase::of_trial(trial);
    let created = convoy
        .client
        .create_release(APP, APP_REF, false)
        .await
        .expect("the release is created");
    if !matches!(phase, Phase::Analysis) {
        let planned = convoy
            .wait_for(created.id, |r| {
                r.state != "created" && r.state != "analyzing"
            })
            .await;
        assert_eq!(planned.state, "waiting", "trial {trial}: {planned:#?}");
        convoy.client.deploy_all(created.id).await.unwrap();
        convoy
            .wait_for(created.id, |r| phase.reached(r) || r.is_finished())
            .await;
    }
    for _ in 0..extra_looks(trial) {
        convoy.client.release(created.id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let canceled = match convoy.client.cancel(created.id).await {
        Ok(release) => {
            assert_eq!(release.state, "canceled", "trial {trial}: {release:#?}");
            true
        }
        // Finished before the cancel came: it must have succeeded.
        Err(_) => {
            let release = convoy.client.release(created.id).await.unwrap();
            assert_eq!(release.state, "success", "trial {trial}: {release:#?}");
            false
        }
    };
    if canceled {
        wait_until_quiet(&convoy, created.id, trial).await;
        assert_nothing_moves_after_the_cancel(&convoy, created.id, trial).await;
    }
    (trial, phase, canceled)
}

/// Waits until the worker has nothing left to do for the release (its wake flag settled) and
/// GitLab has no pipeline left running for the components.
async fn wait_until_quiet(convoy: &TestConvoy, id: i64, trial: u64) {
    let store = &convoy.storage.store;
    let started = Instant::now();
    loop {
        let woken = store.woken_release_ids().await.unwrap().contains(&id);
        let world = convoy.sim.world();
        let running = COMPONENTS.iter().any(|(_, project)| {
            world
                .pipelines(project)
                .iter()
                .any(|p| matches!(p.status.as_str(), "created" | "pending" | "running"))
        });
        if !woken && !running {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "trial {trial}: release {id} never settled after its cancel (woken {woken}, pipelines running {running})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn assert_nothing_moves_after_the_cancel(convoy: &TestConvoy, id: i64, trial: u64) {
    let release = convoy.client.release(id).await.unwrap();
    assert_eq!(release.state, "canceled", "trial {trial}");
    for c in &release.components {
        assert!(
            matches!(c.state.as_str(), "canceled" | "success"),
            "trial {trial}: {} is {} in a canceled release: {release:#?}",
            c.name,
            c.state
        );
    }
    let world = convoy.sim.world();
    for (name, project) in COMPONENTS {
        for mr in world.merge_requests(project) {
            assert!(
                !mr.auto_merge,
                "trial {trial}: {name}'s merge request !{} still merges by itself: {mr:#?}",
                mr.iid
            );
        }
    }
    // After the release's own move to canceled, the only state events are the components the
    // same cancel canceled.
    let events = convoy.events(id).await;
    let cancel = events
        .iter()
        .position(|e| e.component_name.is_none() && e.to_state.as_deref() == Some("canceled"))
        .unwrap_or_else(|| panic!("trial {trial}: no cancel event: {events:#?}"));
    for event in &events[cancel..] {
        if event.kind == "state" {
            assert_eq!(
                event.to_state.as_deref(),
                Some("canceled"),
                "trial {trial}: moved after the cancel: {event:#?}"
            );
        }
    }
}

/// A worker killed right after GitLab set the auto-merge it asked for, before it recorded it:
/// Convoy's record says "no auto-merge". The cancel's withdrawal asks GitLab, not the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_auto_merge_set_at_gitlab_but_never_recorded_is_withdrawn_by_the_cancel() {
    let convoy = spawn_convoy(Options::default()).await;
    // No runner anywhere: pipelines wait, pending, and nothing merges or moves on by itself.
    for (_, project) in COMPONENTS {
        convoy.sim.set_runners_online(project, false).unwrap();
    }
    let planned = convoy.start_release().await;
    convoy.client.deploy_all(planned.id).await.unwrap();
    // NetworkKit waits for CoreKit, so Convoy has not asked for its merge. Its merge request
    // gets a pipeline that waits for a runner, as the one Convoy starts once CoreKit is out.
    let network_kit = "ios/network-kit";
    let gitlab = |method: reqwest::Method, path: String| {
        reqwest::Client::new()
            .request(
                method,
                format!(
                    "{}/api/v4/projects/ios%2Fnetwork-kit/{path}",
                    convoy.sim.base_url()
                ),
            )
            .header("PRIVATE-TOKEN", support::TOKEN)
    };
    let opened = |w: &convoy_simulator::WorldView| !w.merge_requests(network_kit).is_empty();
    assert!(
        convoy
            .sim
            .world()
            .eventually(Duration::from_secs(60), opened)
            .await
    );
    let mr = convoy.sim.world().merge_requests(network_kit)[0].clone();
    let started = gitlab(
        reqwest::Method::POST,
        format!("pipeline?ref={}", mr.source_branch),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(started.status().as_u16(), 201);
    let pending_head = |w: &convoy_simulator::WorldView| {
        let pipelines = w.pipelines(network_kit);
        w.merge_requests(network_kit).iter().any(|mr| {
            pipelines.iter().any(|p| {
                Some(p.id) == mr.head_pipeline
                    && Some(&p.sha) == mr.sha.as_ref()
                    && p.status == "created"
            })
        })
    };
    assert!(
        convoy
            .sim
            .world()
            .eventually(Duration::from_secs(60), pending_head)
            .await
    );
    // What GitLab then holds after Convoy's merge call, whose answer the worker never recorded.
    let set = gitlab(
        reqwest::Method::PUT,
        format!("merge_requests/{}/merge?auto_merge=true", mr.iid),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(set.status().as_u16(), 200, "{}", set.text().await.unwrap());
    assert!(convoy.sim.world().merge_requests(network_kit)[0].auto_merge);

    let canceled = convoy.client.cancel(planned.id).await.unwrap();

    assert_eq!(canceled.state, "canceled");
    let none_left = |w: &convoy_simulator::WorldView| {
        COMPONENTS
            .iter()
            .all(|(_, project)| w.merge_requests(project).iter().all(|mr| !mr.auto_merge))
    };
    assert!(
        convoy
            .sim
            .world()
            .eventually(Duration::from_secs(60), none_left)
            .await,
        "{:#?}",
        convoy.sim.world().merge_requests(network_kit)
    );
}
