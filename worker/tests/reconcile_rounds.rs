//! The worker alone, driven round by round (issue 9): no server, no job consumer, no webhooks
//! (Convoy has no public URL, so it installs no hook); only `reconcile_once`, the real GitLab
//! adapter over HTTP, the simulator and a fresh database.
//!
//! Between rounds the simulator's runners are taken offline, so GitLab stands still; rounds
//! then repeat until one changes no state and writes nothing to GitLab. That they get there
//! says every step is idempotent: a step run again on what it already did finds it done and
//! writes nothing. Then the runners run the pipelines, and the next rounds go on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use convoy_core::component::ComponentEvent;
use convoy_core::main_release::{self, MainReleaseEvent};
use convoy_core::{ComponentState, MainReleaseState, component};
use convoy_forge::gitlab::{GitLab, GitLabOptions};
use convoy_simulator::{RunningSimulator, SimulatorConfig};
use convoy_store::{NewMainRelease, Store};
use convoy_testkit::{APP, APP_REF, TestDatabase, fast_demo};
use convoy_worker::{Context, StopSignal, WorkerSettings, reconcile_once};

const TOKEN: &str = "worker-test-token";
/// Rounds on a GitLab that stands still before they must have settled.
const ROUNDS_TO_SETTLE: usize = 10;
/// Times GitLab is let run before the release must have ended (a hang guard).
const MAX_STEPS: usize = 40;
/// Generous: only a pipeline that never ends may fail on it, not a slow machine.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_ends_on_reconcile_rounds_alone_and_a_repeated_step_writes_nothing() {
    let mut scenario = fast_demo();
    // GitLab links a new head pipeline at once, so nothing changes while the runners rest.
    scenario.head_pipeline_lag_ms = 0;
    let projects: Vec<String> = scenario.projects.iter().map(|p| p.path.clone()).collect();
    let sim = RunningSimulator::start(SimulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.to_owned(),
        scenario,
    })
    .await
    .expect("the simulator starts");
    let database = TestDatabase::sqlite();
    let store = database.store().await;
    let ctx = context(&sim, store.clone());
    let release_id = started_release(&store).await;

    let mut deployed = false;
    for step in 0..MAX_STEPS {
        for project in &projects {
            sim.set_runners_online(project, false).unwrap();
        }
        let settled = settle(&ctx, &sim, release_id).await;
        assert!(
            settled,
            "step {step}: rounds on a GitLab that stands still kept writing or moving: \
             some step repeats its side effect ({:#?})",
            sim.world().api_requests().by_endpoint
        );
        let release = store.main_release(release_id).await.unwrap().unwrap();
        match release.state {
            MainReleaseState::Waiting if !deployed => {
                deploy_all(&store, release_id).await;
                deployed = true;
            }
            MainReleaseState::Success => break,
            MainReleaseState::Failed | MainReleaseState::Canceled => {
                panic!(
                    "the release ended {:?}: {:?}",
                    release.state, release.reason
                )
            }
            _ => {}
        }
        for project in &projects {
            sim.set_runners_online(project, true).unwrap();
        }
        let world = sim.world();
        let pipelines_done = world
            .eventually(PATIENCE, |w| {
                projects.iter().all(|p| {
                    w.pipelines(p).iter().all(|pipeline| {
                        !matches!(pipeline.status.as_str(), "created" | "pending" | "running")
                    })
                })
            })
            .await;
        assert!(pipelines_done, "step {step}: pipelines did not finish");
    }

    let release = store.main_release(release_id).await.unwrap().unwrap();
    assert_eq!(release.state, MainReleaseState::Success, "{release:#?}");
    let world = sim.world();
    for c in store.components(release_id).await.unwrap() {
        assert_eq!(c.state, ComponentState::Success, "{c:#?}");
        let tags = world.tags(&c.project_path);
        let released: Vec<_> = tags.iter().filter(|t| t.name == "0.1.0").collect();
        assert_eq!(
            released.len(),
            1,
            "one tag 0.1.0 in {}: {tags:#?}",
            c.project_path
        );
    }
}

/// Runs rounds until one changes no state and writes nothing to GitLab; false when that does
/// not happen within [`ROUNDS_TO_SETTLE`] rounds.
async fn settle(ctx: &Context, sim: &RunningSimulator, release_id: i64) -> bool {
    for _ in 0..ROUNDS_TO_SETTLE {
        let before = (snapshot(&ctx.store, release_id).await, writes(sim));
        reconcile_once(ctx).await.expect("a reconcile round");
        let after = (snapshot(&ctx.store, release_id).await, writes(sim));
        if before == after {
            return true;
        }
    }
    false
}

/// What a round may change in Convoy: the release's state and each component's state, attempt
/// flag, merge request and tag.
async fn snapshot(
    store: &Store,
    release_id: i64,
) -> (
    MainReleaseState,
    BTreeMap<String, (ComponentState, bool, Option<u64>, Option<String>)>,
) {
    let release = store.main_release(release_id).await.unwrap().unwrap();
    let components = store.components(release_id).await.unwrap();
    let components = components
        .into_iter()
        .map(|c| (c.name, (c.state, c.acted, c.merge_request_iid, c.tag_name)))
        .collect();
    (release.state, components)
}

fn writes(sim: &RunningSimulator) -> u64 {
    sim.world().api_requests().writes
}

/// A release of the demo app, started as the API starts one.
async fn started_release(store: &Store) -> i64 {
    let release = store
        .create_main_release(&NewMainRelease {
            app_project: APP.to_owned(),
            app_ref: APP_REF.to_owned(),
            started_by: "alice".to_owned(),
            require_review: false,
        })
        .await
        .unwrap();
    let start = main_release::decide(release.state, &MainReleaseEvent::Start).unwrap();
    assert!(
        store
            .apply_release(&release, &start, "alice")
            .await
            .unwrap()
    );
    release.id
}

/// Deploys the release and every component, as the API's "deploy all" does.
async fn deploy_all(store: &Store, release_id: i64) {
    let release = store.main_release(release_id).await.unwrap().unwrap();
    let deploy = main_release::decide(release.state, &MainReleaseEvent::Deploy).unwrap();
    assert!(
        store
            .apply_release(&release, &deploy, "alice")
            .await
            .unwrap()
    );
    for c in store.components(release_id).await.unwrap() {
        let transition = component::decide(c.state, &ComponentEvent::Deploy).unwrap();
        assert!(
            store
                .apply_component(&c, &transition, "alice")
                .await
                .unwrap()
        );
    }
}

/// The worker's context, as `convoy work` builds it, without a public URL (no webhooks).
fn context(sim: &RunningSimulator, store: Store) -> Context {
    let forge = GitLab::new(&sim.base_url(), TOKEN.to_owned(), GitLabOptions::default())
        .expect("the GitLab adapter");
    let (_stop, stop) = StopSignal::new();
    Context {
        store,
        forge: Arc::new(forge),
        settings: WorkerSettings {
            worker_id: "worker-test".to_owned(),
            public_url: None,
            webhook_secret: "unused".to_owned(),
            reconcile_interval: Duration::from_secs(3600),
            max_running_pipelines: None,
            analysis_concurrency: 8,
            lease_ttl: Duration::from_secs(6),
            owners: Vec::new(),
            chat: None,
            webhooks: None,
            notify_rules: Vec::new(),
        },
        stop,
        failures: Default::default(),
        looks_again: Default::default(),
        nudges: Default::default(),
    }
}
