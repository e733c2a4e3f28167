//! Putting the parts together: store, job queue, forge, server and worker. `convoy run`,
//! `serve`, `work` and `demo` all start Convoy through these functions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use convoy_forge::Forge;
use convoy_forge::gitlab::{GitLab, GitLabOptions};
use convoy_server::settings::ServerSettings;
use convoy_server::startup::Application;
use convoy_store::Store;
use convoy_worker::queue::JobStorage;
use convoy_worker::{Context, ParseWebhook, WorkerSettings};
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

/// The GitLab adapter.
pub fn gitlab(url: &str, token: &SecretString) -> anyhow::Result<Arc<dyn Forge>> {
    let gitlab = GitLab::new(
        url,
        token.expose_secret().to_owned(),
        GitLabOptions::default(),
    )?;
    Ok(Arc::new(gitlab))
}

/// GitLab's webhook payloads, parsed for the worker.
pub fn gitlab_webhooks() -> ParseWebhook {
    Arc::new(|event, body| {
        convoy_forge::gitlab::parse_webhook(event, body).map_err(|e| e.to_string())
    })
}

/// What a worker needs besides storage and forge.
pub struct WorkerOptions {
    pub public_url: Option<String>,
    pub webhook_secret: SecretString,
    pub reconcile_interval: Duration,
    pub max_running_pipelines: Option<usize>,
    pub lease_ttl: Duration,
}

impl WorkerOptions {
    /// A lease long enough for a slow pass against a slow forge.
    pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(120);
}

/// Starts the worker (job consumers and reconcile loop) on the current runtime.
pub fn spawn_worker(
    storage: &Storage,
    forge: Arc<dyn Forge>,
    options: WorkerOptions,
) -> tokio::task::JoinHandle<()> {
    let settings = WorkerSettings {
        worker_id: format!("worker-{}", std::process::id()),
        public_url: options.public_url,
        webhook_secret: options.webhook_secret.expose_secret().to_owned(),
        reconcile_interval: options.reconcile_interval,
        max_running_pipelines: options.max_running_pipelines,
        analysis_concurrency: 8,
        lease_ttl: options.lease_ttl,
    };
    let ctx = Context {
        store: storage.store.clone(),
        forge,
        jobs: Arc::new(storage.jobs.clone()),
        parse_webhook: gitlab_webhooks(),
        settings,
    };
    let jobs = storage.jobs.clone();
    tokio::spawn(async move {
        let never = std::future::pending::<std::io::Result<()>>();
        if let Err(error) = convoy_worker::runner::run(ctx, jobs, never).await {
            tracing::error!(%error, "the worker stopped");
        }
    })
}

/// Binds the HTTP server and starts it on the current runtime; returns its port.
pub async fn spawn_server(
    storage: &Storage,
    listen: SocketAddr,
    webhook_secret: SecretString,
    api_token: Option<SecretString>,
    forge_web_url: String,
) -> anyhow::Result<(u16, tokio::task::JoinHandle<()>)> {
    let settings = ServerSettings {
        listen,
        webhook_secret,
        forge_web_url,
        api_token,
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
