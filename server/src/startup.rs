//! Builds the HTTP server: binds the listener first (so port 0 yields a real port before the
//! server runs), then registers the shared state and every route.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use convoy_store::Jobs;
use convoy_store::Store;
use tracing_actix_web::TracingLogger;

use crate::auth::Permissions;
use crate::auth::gitlab::GitLabPeople;
use crate::delivery_writer::DeliveryWriter;
use crate::limits::ChangeLimiter;
use crate::live::LiveHub;
use crate::settings::ServerSettings;

/// A bound, ready-to-run HTTP server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `settings.listen` and prepares the server. Must be called inside a tokio runtime.
    pub async fn build(
        settings: ServerSettings,
        store: Store,
        jobs: Arc<dyn Jobs>,
    ) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("could not listen on {}", settings.listen))?;
        let port = listener
            .local_addr()
            .context("could not read the address the server listens on")?
            .port();
        crate::metrics::recorder();
        let gitlab = web::Data::new(crate::health::GitLabAddress(settings.forge_web_url.clone()));
        let live = web::Data::new(LiveHub::start(store.clone()));
        let deliveries = web::Data::new(DeliveryWriter::start(store.clone()));
        let permissions = web::Data::new(permissions(&settings)?);
        let store = web::Data::new(store);
        let jobs: web::Data<dyn Jobs> = web::Data::from(jobs);
        let (header_timeout, max_connections) = (
            settings.limits.header_timeout,
            settings.limits.max_connections,
        );
        let limits = web::Data::new(settings.limits.clone());
        let change_limiter = web::Data::new(ChangeLimiter::new(&settings.limits));
        let settings = web::Data::new(settings);

        let server = HttpServer::new(move || {
            App::new()
                // Inside the guard: the limits know who the caller is.
                .wrap(actix_web::middleware::from_fn(crate::limits::limit))
                .wrap(actix_web::middleware::from_fn(crate::auth::guard::guard))
                .wrap(TracingLogger::<crate::request_log::RedactedRootSpan>::new())
                .app_data(permissions.clone())
                .app_data(store.clone())
                .app_data(jobs.clone())
                .app_data(settings.clone())
                .app_data(live.clone())
                .app_data(deliveries.clone())
                .app_data(gitlab.clone())
                .app_data(limits.clone())
                .app_data(change_limiter.clone())
                .configure(crate::health::configure)
                .configure(crate::metrics::configure)
                .configure(crate::auth::sign_in::configure)
                .configure(crate::api::configure)
                .configure(crate::webhooks::configure)
                .configure(crate::dashboard::configure)
        })
        .client_request_timeout(header_timeout)
        .max_connections(max_connections)
        .listen(listener)
        .context("could not start the HTTP server")?
        .run();
        tracing::info!(port, "Convoy is listening");
        Ok(Application { port, server })
    }

    /// The port the server listens on (the real one when `listen` asked for port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves requests until the server is stopped (Ctrl-C or SIGTERM).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Role checks, with GitLab behind them when sign-in is configured.
fn permissions(settings: &ServerSettings) -> anyhow::Result<Permissions> {
    let people = match &settings.auth.sign_in {
        Some(sign_in) => Some(GitLabPeople::new(
            &sign_in.gitlab_url,
            sign_in.service_token.clone(),
        )?),
        None => None,
    };
    Ok(Permissions::new(
        people,
        settings.auth.admins.clone(),
        settings.auth.role_cache,
    )
    .with_release_manager_groups(settings.auth.release_manager_groups.clone()))
}
