//! Starts a whole Convoy for a test: the GitLab simulator, a fresh database (SQLite file or a
//! new PostgreSQL database), the HTTP server on a random port and a worker — wired exactly as
//! the `convoy` binary wires them.

#![allow(dead_code)] // each test file uses part of the harness

pub mod receiver;
pub mod slack;

/// Serves `routes` with `state` on a thread of its own until the test process ends (the fakes
/// the stories talk to: a chat API, a webhook receiver).
pub fn serve_on_a_thread<T: Send + Sync + 'static>(
    listener: std::net::TcpListener,
    state: actix_web::web::Data<T>,
    routes: fn(&mut actix_web::web::ServiceConfig),
) {
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || {
                actix_web::App::new()
                    .app_data(state.clone())
                    .configure(routes)
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .expect("the fake listens")
            .run()
            .await
        })
    });
}

use std::time::{Duration, Instant};

use convoy::client::{ApiClient, EventView, ReleaseView};
use convoy::wiring::{self, Storage, WorkerHandle, WorkerOptions};
use convoy_core::notices::ChannelRule;
use convoy_core::owners::OwnerRule;
use convoy_simulator::{RunningSimulator, Scenario, SimulatorConfig};
use convoy_testkit::TestDatabase;
use convoy_worker::notify::{ChatSettings, WebhookSettings};
use secrecy::SecretString;

pub use convoy_testkit::{APP, APP_REF};
/// The demo's components in plan order, with their projects.
pub const COMPONENTS: [(&str, &str); 4] = [
    ("CoreKit", "ios/core-kit"),
    ("NetworkKit", "ios/network-kit"),
    ("StorageKit", "ios/storage-kit"),
    ("FeatureKit", "ios/feature-kit"),
];
const WEBHOOK_SECRET: &str = "test-webhook-secret";
pub const TOKEN: &str = "test-token";
/// The bootstrap admin token the stories act with.
const BOOTSTRAP_TOKEN: &str = "test-bootstrap-token";
/// How the event log names the stories' human actions (the bootstrap admin token).
pub const ACTOR: &str = "bootstrap admin token";

/// Which database a story runs on (the test kit makes a fresh one).
pub use convoy_testkit::Backend as Database;

pub use convoy_testkit::fast_demo;

pub struct TestConvoy {
    pub sim: RunningSimulator,
    pub client: ApiClient,
    pub url: String,
    pub storage: Storage,
    pub database_url: String,
    worker: Option<WorkerHandle>,
    owners: Vec<OwnerRule>,
    chat: Option<ChatSettings>,
    webhooks: Option<WebhookSettings>,
    notify_rules: Vec<ChannelRule>,
    /// Holds the worker processes' logs.
    _dir: tempfile::TempDir,
    database: TestDatabase,
}

/// Options of one test's Convoy.
pub struct Options {
    pub database: Database,
    pub scenario: Scenario,
    pub reconcile: Duration,
    /// The token the worker sends to GitLab (the simulator accepts only its own).
    pub gitlab_token: &'static str,
    /// Whether a worker runs inside the test process; without one, the test starts `convoy
    /// work` processes itself ([`TestConvoy::spawn_worker_process`]).
    pub in_process_worker: bool,
    /// The worker's owner table.
    pub owners: Vec<OwnerRule>,
    /// The chat the worker posts releases in.
    pub chat: Option<ChatSettings>,
    /// Where the worker posts every state change.
    pub webhooks: Option<WebhookSettings>,
    /// Which channels each app's notifications go to.
    pub notify_rules: Vec<ChannelRule>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            database: Database::Sqlite,
            scenario: fast_demo(),
            reconcile: Duration::from_secs(1),
            gitlab_token: TOKEN,
            in_process_worker: true,
            owners: Vec::new(),
            chat: None,
            webhooks: None,
            notify_rules: Vec::new(),
        }
    }
}

pub async fn spawn_convoy(options: Options) -> TestConvoy {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = TestDatabase::new(options.database).await;
    let database_url = database.url.clone();
    let config = SimulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.to_owned(),
        scenario: options.scenario,
    };
    let sim = RunningSimulator::start(config)
        .await
        .expect("the simulator starts");
    let storage = wiring::storage(&database_url)
        .await
        .expect("the database opens");
    let secret = SecretString::from(WEBHOOK_SECRET);
    let (port, _server) = wiring::spawn_server(
        &storage,
        "127.0.0.1:0".parse().unwrap(),
        secret,
        convoy_server::AuthSettings {
            bootstrap_token: Some(SecretString::from(BOOTSTRAP_TOKEN)),
            allow_anonymous_reads: true,
            ..convoy_server::AuthSettings::default()
        },
        sim.base_url(),
        convoy_server::limits::HttpLimits {
            // Stories drive many releases from one token; the limit has tests of its own
            // (server/tests/limits.rs).
            changes_per_minute: std::num::NonZeroU32::new(100_000).unwrap(),
            ..Default::default()
        },
    )
    .await
    .expect("the server starts");
    let url = format!("http://127.0.0.1:{port}");
    let worker = options.in_process_worker.then(|| {
        spawn_worker(
            &storage,
            &sim,
            &url,
            options.reconcile,
            options.gitlab_token,
            options.owners.clone(),
            Channels {
                chat: options.chat.clone(),
                webhooks: options.webhooks.clone(),
                notify_rules: options.notify_rules.clone(),
            },
        )
    });
    let client = ApiClient::new(&url, Some(BOOTSTRAP_TOKEN.to_owned())).unwrap();
    TestConvoy {
        sim,
        client,
        url,
        storage,
        database_url,
        worker,
        owners: options.owners,
        chat: options.chat,
        webhooks: options.webhooks,
        notify_rules: options.notify_rules,
        _dir: dir,
        database,
    }
}

/// The notification channels a test worker delivers to besides merge request notes.
struct Channels {
    chat: Option<ChatSettings>,
    webhooks: Option<WebhookSettings>,
    notify_rules: Vec<ChannelRule>,
}

fn spawn_worker(
    storage: &Storage,
    sim: &RunningSimulator,
    url: &str,
    reconcile: Duration,
    token: &str,
    owners: Vec<OwnerRule>,
    channels: Channels,
) -> WorkerHandle {
    let forge = wiring::gitlab(&sim.base_url(), &SecretString::from(token), None).unwrap();
    let options = WorkerOptions {
        public_url: Some(url.to_owned()),
        webhook_secret: SecretString::from(WEBHOOK_SECRET),
        reconcile_interval: reconcile,
        max_running_pipelines: None,
        lease_ttl: Duration::from_secs(2),
        owners,
        chat: channels.chat,
        webhooks: channels.webhooks,
        notify_rules: channels.notify_rules,
    };
    wiring::spawn_worker(storage, forge, options)
}

impl TestConvoy {
    /// Drops this test's PostgreSQL database (a failed test leaves it, to look at).
    pub async fn remove_postgres_database(&self) {
        self.database.remove().await;
    }

    /// Kills the worker wherever it is (like a crashed process) and starts a new one.
    pub async fn restart_worker(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.kill().await;
        }
        self.start_worker();
    }

    /// Stops the worker cleanly (as on SIGTERM) and starts a new one.
    pub async fn stop_and_restart_worker(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.stop().await;
        }
        self.start_worker();
    }

    fn start_worker(&mut self) {
        self.worker = Some(spawn_worker(
            &self.storage,
            &self.sim,
            &self.url,
            Duration::from_secs(1),
            TOKEN,
            self.owners.clone(),
            Channels {
                chat: self.chat.clone(),
                webhooks: self.webhooks.clone(),
                notify_rules: self.notify_rules.clone(),
            },
        ));
    }

    /// Starts `convoy work` in its own process against this test's database and simulator,
    /// as production runs it (default lease and reconcile interval). Killed when dropped.
    pub fn spawn_worker_process(&self) -> WorkerProcess {
        let log_path = self
            ._dir
            .path()
            .join(format!("worker-{}.log", uuid::Uuid::new_v4().simple()));
        let log = std::fs::File::create(&log_path).expect("the worker log is created");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_convoy"))
            .arg("work")
            .env("CONVOY_DATABASE_URL", &self.database_url)
            .env("CONVOY_GITLAB_URL", self.sim.base_url())
            .env("CONVOY_GITLAB_TOKEN", TOKEN)
            .env("CONVOY_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("CONVOY_PUBLIC_URL", &self.url)
            .env("RUST_LOG", "info,sqlx=warn,apalis=warn")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("convoy work starts");
        WorkerProcess { child, log_path }
    }

    /// Who holds the lease on release `id` now, if anybody.
    pub async fn lease_owner(&self, id: i64) -> Option<String> {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.database_url)
            .await
            .expect("the database opens");
        let owner: Option<String> =
            sqlx::query_scalar("SELECT lease_owner FROM main_releases WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("the release exists");
        pool.close().await;
        owner
    }

    /// Starts a release of the demo app and waits for its plan.
    pub async fn start_release(&self) -> ReleaseView {
        self.start_release_at(APP_REF).await
    }

    /// Starts a release of the demo app at `git_ref` and waits until analysis ends.
    pub async fn start_release_at(&self, git_ref: &str) -> ReleaseView {
        let release = self
            .client
            .create_release(APP, git_ref, false)
            .await
            .expect("the release is created");
        self.wait_for(release.id, |r| {
            r.state != "created" && r.state != "analyzing"
        })
        .await
    }

    /// Starts a release, deploys every component, and waits until it ends.
    pub async fn release_all(&self) -> ReleaseView {
        self.release_all_of(APP, APP_REF).await
    }

    /// Starts a release of `app` at `git_ref`, deploys every component, and waits until it
    /// ends.
    pub async fn release_all_of(&self, app: &str, git_ref: &str) -> ReleaseView {
        let release = self
            .client
            .create_release(app, git_ref, false)
            .await
            .expect("the release is created");
        let planned = self
            .wait_for(release.id, |r| {
                r.state != "created" && r.state != "analyzing"
            })
            .await;
        assert_eq!(planned.state, "waiting", "the plan is ready: {planned:?}");
        self.client
            .deploy_all(planned.id)
            .await
            .expect("deploy all is accepted");
        self.wait_for(planned.id, ReleaseView::is_finished).await
    }

    /// Polls the API until `done` holds (a generous limit: a hung release fails the test).
    pub async fn wait_for(&self, id: i64, done: impl Fn(&ReleaseView) -> bool) -> ReleaseView {
        let started = Instant::now();
        loop {
            let release = self
                .client
                .release(id)
                .await
                .expect("the release can be read");
            if done(&release) {
                return release;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "release never got there: {release:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn events(&self, id: i64) -> Vec<EventView> {
        self.client.events(id, 0).await.expect("events can be read")
    }

    pub fn component<'a>(
        release: &'a ReleaseView,
        name: &str,
    ) -> &'a convoy::client::ComponentView {
        release
            .components
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} is in the plan"))
    }

    /// Every component project has exactly one MR, merged exactly once, and exactly the tags
    /// `expected_tags` (besides those it had before the release).
    pub fn assert_side_effects_once(&self) {
        let world = self.sim.world();
        for (name, project) in COMPONENTS {
            let mrs = world.merge_requests(project);
            assert_eq!(mrs.len(), 1, "{name} has one merge request: {mrs:#?}");
            assert_eq!(mrs[0].state, "merged", "{name}'s MR is merged");
            assert_eq!(mrs[0].merge_count, 1, "{name}'s MR is merged once");
            let release_tags: Vec<_> = world
                .tags(project)
                .into_iter()
                .filter(|t| t.name.starts_with("0.1"))
                .collect();
            assert_eq!(
                release_tags.len(),
                1,
                "{name} has one release tag: {release_tags:#?}"
            );
            assert!(release_tags[0].released, "{name}'s tag pipeline succeeded");
        }
        // The bump is the merge request's head, so it carries no [ci skip] (GitLab would give
        // it only skipped pipelines); the source branch is gone after the merge, main has it.
        let bumps: Vec<_> = world
            .commits("ios/core-kit", "main")
            .into_iter()
            .filter(|c| c.message.starts_with("Release CoreKit 0.1.0"))
            .collect();
        assert_eq!(
            bumps.len(),
            1,
            "CoreKit's podspec is bumped by one commit: {bumps:#?}"
        );
        assert!(!bumps[0].message.contains("[ci skip]"), "{bumps:#?}");
        self.assert_merged_with_passing_ci();
    }

    /// Every merge in every component project happened with a successful head pipeline for
    /// the merged commit: Convoy never had GitLab merge without CI.
    pub fn assert_merged_with_passing_ci(&self) {
        let world = self.sim.world();
        for (name, project) in COMPONENTS {
            let merges = world.merges(project);
            assert!(!merges.is_empty(), "{name} was merged");
            for merge in merges {
                assert!(
                    merge.had_passing_ci(),
                    "{name} merged without passing CI: {merge:?}"
                );
            }
        }
    }

    /// The app's Podfile equals its template with the released versions pinned in plan order.
    pub fn assert_podfile_pins(&self, versions: &[(&str, &str)]) {
        let world = self.sim.world();
        let template = world
            .file(APP, APP_REF, "PodfileTemplate")
            .expect("the template exists");
        let placeholder_line = template
            .lines()
            .find(|l| l.contains(":TRIPLECCREPLACEME"))
            .unwrap();
        let indent =
            &placeholder_line[..placeholder_line.len() - placeholder_line.trim_start().len()];
        let pins: Vec<String> = versions
            .iter()
            .map(|(name, version)| format!("{indent}pod '{name}', '= {version}'"))
            .collect();
        let expected = template.replace(placeholder_line, &pins.join("\n"));
        let podfile = world
            .file(APP, APP_REF, "Podfile")
            .expect("the Podfile exists");
        assert_eq!(podfile, expected);
    }
}

/// A `convoy work` process started by a test.
pub struct WorkerProcess {
    child: std::process::Child,
    log_path: std::path::PathBuf,
}

impl WorkerProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The prefix of every lease this process takes (see `wiring::spawn_worker`).
    pub fn lease_prefix(&self) -> String {
        format!("worker-{}-", self.pid())
    }

    /// `kill -9`: the process dies wherever it is, holding what it held.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("the worker can be killed");
        self.child.wait().expect("the killed worker is reaped");
    }

    /// `kill -TERM`, then waits for the process to exit (at most `limit`).
    pub fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM was sent");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("the worker can be waited for") {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "the worker did not stop after SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many webhook deliveries Convoy recorded, and how many distinct keys they have.
pub async fn recorded_deliveries(convoy: &TestConvoy) -> (i64, i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&convoy.database_url)
        .await
        .expect("the database opens");
    let row: (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT idempotency_key) FROM webhook_deliveries")
            .fetch_one(&pool)
            .await
            .expect("deliveries can be counted");
    row
}

/// The id of the first event where `component` entered `state`.
pub fn entered(events: &[EventView], component: &str, state: &str) -> i64 {
    events
        .iter()
        .find(|e| {
            e.component_name.as_deref() == Some(component)
                && e.to_state.as_deref() == Some(state)
                && e.from_state.as_deref() != Some(state)
        })
        .unwrap_or_else(|| panic!("{component} entered {state}"))
        .id
}
