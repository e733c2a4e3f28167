//! `convoy run`, `convoy serve`, `convoy work`: the service, in one process or split.

use std::path::Path;
use std::process::ExitCode;

use convoy_server::limits::HttpLimits;

use crate::config::Settings;
use crate::wiring::{self, WorkerOptions};

/// Which parts this process runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Worker,
    Both,
}

pub async fn run(
    config: Option<&Path>,
    role: Role,
    allow_anonymous: bool,
) -> anyhow::Result<ExitCode> {
    crate::telemetry::init("info,sqlx=warn,apalis=warn");
    let settings = Settings::load(config)?;
    // Checked before anything starts: a Convoy nobody can sign in to must be asked for.
    let auth = match role {
        Role::Worker => None,
        Role::Server | Role::Both => Some(settings.auth(allow_anonymous)?),
    };
    let storage = wiring::storage(&settings.database_url).await?;
    if let Some(listen) = settings.probe_listen {
        let port = wiring::spawn_probes(&storage, listen, settings.gitlab_url.clone())?;
        tracing::info!(port, "/health_check, /ready and /metrics on port {port}");
    }
    let mut worker = None;
    if role != Role::Server {
        let forge = wiring::gitlab(
            &settings.gitlab_url,
            &settings.gitlab_token,
            settings.gitlab_requests_per_second,
        )?;
        let options = WorkerOptions {
            public_url: settings.public_url.clone(),
            webhook_secret: settings.webhook_secret.clone(),
            reconcile_interval: settings.reconcile_interval,
            max_running_pipelines: settings.max_running_pipelines,
            lease_ttl: WorkerOptions::DEFAULT_LEASE_TTL,
            owners: settings.owners.clone(),
            chat: settings.chat.clone(),
            webhooks: settings.webhooks.clone(),
            notify_rules: settings.notify_rules.clone(),
        };
        worker = Some(wiring::spawn_worker(&storage, forge, options));
        tracing::info!("worker started");
    }
    if let Some(auth) = auth {
        let (port, _server) = wiring::spawn_server(
            &storage,
            settings.listen,
            settings.webhook_secret.clone(),
            auth,
            settings.gitlab_url.clone(),
            HttpLimits {
                changes_per_minute: settings.changes_per_minute,
                ..HttpLimits::default()
            },
        )
        .await?;
        tracing::info!(port, "dashboard on http://{}:{port}/", settings.listen.ip());
    }
    crate::shutdown::requested().await?;
    tracing::info!("stopping");
    if let Some(worker) = worker {
        // Finishes the pass in progress (or abandons it after a grace period) and gives up
        // the worker's leases, so another worker carries on at once.
        worker.stop().await;
    }
    storage.store.close().await;
    Ok(ExitCode::SUCCESS)
}
