//! Putting the parts together: store, job queue, forge, server and worker. `convoy run`,
//! `serve`, `work` and `demo` all start Convoy through these functions.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use convoy_core::notices::ChannelRule;
use convoy_core::owners::OwnerRule;
use convoy_forge::Forge;
use convoy_forge::gitlab::{GitLab, GitLabOptions};
use convoy_server::settings::ServerSettings;
use convoy_server::startup::Application;
use convoy_store::Store;
use convoy_worker::notify::{ChatSettings, WebhookSettings};
use convoy_worker::queue::JobStorage;
use convoy_worker::{Context, StopSender, StopSignal, WorkerSettings};
use secrecy::{ExposeSecret, SecretString};

/// The database and the job queue on it.
pub struct Storage {
    pub store: Store,
    pub jobs: JobStorage,
}

/// Opens Convoy's tables (running migrations) and apalis' queue on the same database.
pub async fn storage(database_url: &str) -> anyhow::Result<Storage> {
    let store = Store::connect(database_url).await?;
    let jobs = JobStorage::connect(database_url).await?;
    Ok(Storage { store, jobs })
}

/// The GitLab adapter, within `requests_per_second` when given.
pub fn gitlab(
    url: &str,
    token: &SecretString,
    requests_per_second: Option<NonZeroU32>,
) -> anyhow::Result<Arc<dyn Forge>> {
    let options = GitLabOptions {
        requests_per_second,
        ..GitLabOptions::default()
    };
    let gitlab = GitLab::new(url, token.expose_secret().to_owned(), options)?;
    Ok(Arc::new(gitlab))
}

/// Installs the process's metrics recorder (the server's, which `/metrics` reads) and describes
/// the metrics of every part, once per process.
fn describe_metrics() {
    static DESCRIBED: std::sync::Once = std::sync::Once::new();
    DESCRIBED.call_once(|| {
        convoy_server::metrics::recorder();
        convoy_worker::metrics::describe_metrics();
        convoy_forge::gitlab::metrics::describe_metrics();
    });
}

/// What a worker needs besides storage and forge.
pub struct WorkerOptions {
    pub public_url: Option<String>,
    pub webhook_secret: SecretString,
    pub reconcile_interval: Duration,
    pub max_running_pipelines: Option<usize>,
    pub lease_ttl: Duration,
    /// The owner table (see `convoy_core::owners`).
    pub owners: Vec<OwnerRule>,
    /// Where releases are posted in chat, if anywhere.
    pub chat: Option<ChatSettings>,
    /// Where every state change is posted as a signed event, if anywhere.
    pub webhooks: Option<WebhookSettings>,
    /// Which channels each app's notifications go to.
    pub notify_rules: Vec<ChannelRule>,
}

impl WorkerOptions {
    /// Short, because the holder renews it every third of it while it works: a worker killed
    /// mid-pass holds its releases for at most this long before another carries on.
    pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(6);
}

/// A running worker.
pub struct WorkerHandle {
    stop: StopSender,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops the worker cleanly: no new pass starts, a pass in progress finishes (or is
    /// abandoned after a grace period), and its leases are given up. Returns when it stopped.
    pub async fn stop(self) {
        self.stop.fire();
        let _ = self.task.await;
    }

    /// Kills the worker wherever it is, as a crash would: its leases stay held until they
    /// expire.
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Starts the worker (job consumers, reconcile and takeover loops) on the current runtime.
pub fn spawn_worker(
    storage: &Storage,
    forge: Arc<dyn Forge>,
    options: WorkerOptions,
) -> WorkerHandle {
    describe_metrics();
    // Unique per worker, also when one process runs several (tests).
    static WORKERS: AtomicU64 = AtomicU64::new(0);
    let (stop, stop_signal) = StopSignal::new();
    let settings = WorkerSettings {
        worker_id: format!(
            "worker-{}-{}",
            std::process::id(),
            WORKERS.fetch_add(1, Ordering::Relaxed)
        ),
        public_url: options.public_url,
        webhook_secret: options.webhook_secret.expose_secret().to_owned(),
        reconcile_interval: options.reconcile_interval,
        max_running_pipelines: options.max_running_pipelines,
        // As many as the GitLab client lets into flight at most: it cuts its own limit when
        // GitLab answers 429 or 5xx, so analysis backs off with it.
        analysis_concurrency: GitLabOptions::default().max_in_flight,
        lease_ttl: options.lease_ttl,
        owners: options.owners,
        chat: options.chat,
        webhooks: options.webhooks,
        notify_rules: options.notify_rules,
    };
    let ctx = Context {
        store: storage.store.clone(),
        forge,
        settings,
        stop: stop_signal,
        failures: Default::default(),
        looks_again: Default::default(),
        nudges: Default::default(),
    };
    let jobs = storage.jobs.clone();
    let task = tokio::spawn(async move {
        if let Err(error) = convoy_worker::runner::run(ctx, jobs).await {
            tracing::error!(%error, "the worker stopped");
        }
    });
    WorkerHandle { stop, task }
}

/// Serves `/health_check`, `/ready` and `/metrics` on `listen`; returns the port.
pub fn spawn_probes(
    storage: &Storage,
    listen: SocketAddr,
    gitlab_url: String,
) -> anyhow::Result<u16> {
    describe_metrics();
    let (port, server) = convoy_server::health::serve_probes(
        listen,
        storage.store.clone(),
        Arc::new(storage.jobs.clone()),
        gitlab_url,
    )?;
    tokio::spawn(async move {
        if let Err(error) = server.await {
            tracing::error!(%error, "the probe server stopped");
        }
    });
    Ok(port)
}

/// Binds the HTTP server and starts it on the current runtime; returns its port.
pub async fn spawn_server(
    storage: &Storage,
    listen: SocketAddr,
    webhook_secret: SecretString,
    auth: convoy_server::AuthSettings,
    forge_web_url: String,
    limits: convoy_server::limits::HttpLimits,
) -> anyhow::Result<(u16, tokio::task::JoinHandle<()>)> {
    describe_metrics();
    let settings = ServerSettings {
        listen,
        webhook_secret,
        forge_web_url,
        auth,
        limits,
    };
    let app = Application::build(
        settings,
        storage.store.clone(),
        Arc::new(storage.jobs.clone()),
    )
    .await
    .with_context(|| {
        format!("cannot listen on {listen}: choose another address with --listen (127.0.0.1:0 picks a free port)")
    })?;
    let port = app.port();
    let handle = tokio::spawn(async move {
        if let Err(error) = app.run_until_stopped().await {
            tracing::error!(%error, "the HTTP server stopped");
        }
    });
    Ok((port, handle))
}
