//! `GET /health_check` (the process answers) and `GET /ready` (it can do its work: the
//! database answers, its schema is up to date, and GitLab can be reached). A load balancer
//! sends traffic on `/ready`; an orchestrator restarts on `/health_check`.
//!
//! A process that serves no API (`convoy work`) can serve these and `/metrics` on a port of
//! their own: [`serve_probes`].

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context as _;
use convoy_store::Jobs;
use convoy_store::Store;
use serde::Serialize;
use utoipa::ToSchema;

/// How long `/ready` waits for GitLab before calling it unreachable.
const GITLAB_TIMEOUT: Duration = Duration::from_secs(5);

/// Registers `/health_check` and `/ready`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Resources, so that another method gets 405 rather than 404.
    cfg.service(
        web::resource("/health_check")
            .route(web::get().to(health_check))
            .default_service(web::to(only_get)),
    )
    .service(
        web::resource("/ready")
            .route(web::get().to(ready))
            .default_service(web::to(only_get)),
    );
}

async fn only_get(request: actix_web::HttpRequest) -> HttpResponse {
    crate::api::errors::method_not_allowed(&request, &["GET"])
}

/// `GET /health_check`: 200 while the process runs.
#[utoipa::path(
    get,
    path = "/health_check",
    summary = "Liveness",
    tag = "probes",
    responses((status = 200, description = "The process runs")),
    security(())
)]
pub async fn health_check() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// The answer of `/ready`: `ready` is false when any check failed, and `problems` then holds
/// one sentence per failed check.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub ready: bool,
    pub database: &'static str,
    pub migrations: &'static str,
    pub gitlab: &'static str,
    pub problems: Vec<String>,
}

/// The GitLab `/ready` checks: its base URL (`https://gitlab.example.com`).
#[derive(Debug, Clone)]
pub struct GitLabAddress(pub String);

/// `GET /ready`: the database answers and has every migration, and GitLab answers.
#[utoipa::path(
    get,
    path = "/ready",
    summary = "Readiness",
    tag = "probes",
    responses(
        (status = 200, description = "Every check passed", body = Readiness),
        (status = 503, description = "A check failed; `problems` says which and why", body = Readiness),
    ),
    security(())
)]
pub async fn ready(store: web::Data<Store>, gitlab: web::Data<GitLabAddress>) -> HttpResponse {
    let (database, gitlab) = tokio::join!(check_database(&store), check_gitlab(&gitlab.0));
    let mut problems = Vec::new();
    let (database, migrations) = match database {
        Ok(Ok(())) => ("ok", "ok"),
        Ok(Err(problem)) => {
            problems.push(problem);
            ("ok", "missing")
        }
        Err(problem) => {
            problems.push(problem);
            ("unreachable", "unknown")
        }
    };
    let gitlab = match gitlab {
        Ok(()) => "ok",
        Err(problem) => {
            problems.push(problem);
            "unreachable"
        }
    };
    let readiness = Readiness {
        ready: problems.is_empty(),
        database,
        migrations,
        gitlab,
        problems,
    };
    if readiness.ready {
        HttpResponse::Ok().json(readiness)
    } else {
        HttpResponse::ServiceUnavailable().json(readiness)
    }
}

/// Outer error: the database does not answer. Inner error: it answers but lacks migrations.
async fn check_database(store: &Store) -> Result<Result<(), String>, String> {
    store
        .ping()
        .await
        .map_err(|error| format!("the database does not answer: {error}"))?;
    let missing = store
        .unapplied_migrations()
        .await
        .map_err(|error| format!("the database's migrations cannot be read: {error}"))?;
    if missing.is_empty() {
        return Ok(Ok(()));
    }
    let versions: Vec<String> = missing.iter().map(i64::to_string).collect();
    Ok(Err(format!(
        "the database lacks migration {}: start a Convoy of this version once to apply it",
        versions.join(", ")
    )))
}

/// GitLab is reachable when `GET /api/v4/version` gets any answer that is not a server error.
/// No token is sent: whether the token works is `convoy check-config`'s question, and the
/// server never holds the GitLab token.
async fn check_gitlab(base_url: &str) -> Result<(), String> {
    let url = format!("{}/api/v4/version", base_url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(GITLAB_TIMEOUT)
        .build()
        .map_err(|error| format!("cannot build an HTTP client to reach GitLab: {error}"))?;
    let response = client.get(&url).send().await.map_err(|error| {
        let why = if error.is_timeout() {
            "it did not answer within 5 s".to_owned()
        } else {
            format!("{error}")
        };
        format!("GitLab at {base_url} cannot be reached ({why}): check CONVOY_GITLAB_URL and the network")
    })?;
    if response.status().is_server_error() {
        return Err(format!(
            "GitLab at {base_url} answers {}: it is up but failing; try again later",
            response.status()
        ));
    }
    Ok(())
}

/// Serves `/health_check`, `/ready` and `/metrics` on `listen` (port 0 picks a free port),
/// for a process that serves no API. Returns the real port and the server to run.
pub fn serve_probes(
    listen: SocketAddr,
    store: Store,
    jobs: Arc<dyn Jobs>,
    gitlab_url: String,
) -> anyhow::Result<(u16, Server)> {
    let listener = TcpListener::bind(listen).with_context(|| {
        format!("cannot listen on {listen} for /health_check, /ready and /metrics: choose another address with CONVOY_PROBE_LISTEN")
    })?;
    let port = listener.local_addr()?.port();
    crate::metrics::recorder();
    let store = web::Data::new(store);
    let jobs: web::Data<dyn Jobs> = web::Data::from(jobs);
    let gitlab = web::Data::new(GitLabAddress(gitlab_url));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(store.clone())
            .app_data(jobs.clone())
            .app_data(gitlab.clone())
            .configure(configure)
            .configure(crate::metrics::configure)
    })
    .workers(1)
    .listen(listener)
    .context("could not start the probe server")?
    .run();
    Ok((port, server))
}
