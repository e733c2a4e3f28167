//! Issue 13's webhook ingest rows, measured: GitLab deliveries posted to `POST /webhooks/gitlab`
//! of the real server, over many connections at once, on SQLite and on PostgreSQL.
//!
//! Run: `cargo bench -p convoy --bench ingest`. `CONVOY_BENCH_DELIVERIES` sets how many
//! deliveries are posted (default 20,000), `CONVOY_BENCH_CONNECTIONS` over how many connections
//! (default 64), `CONVOY_BENCH_POSTGRES_URL` the PostgreSQL server's admin database (default
//! `postgres://postgres@127.0.0.1:5432/test`; the run is skipped when it cannot be reached).
//!
//! Per database it prints deliveries per second, the answer time's median and p99, and checks
//! that nothing was lost: every delivery answered 200 and is recorded once. Only the server
//! runs (no worker), so the figure is what GitLab sees: the time to an answer after the commit.
//! Timings are reported here, never asserted in tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use convoy::wiring;
use secrecy::SecretString;
use sqlx::Connection;

const SECRET: &str = "bench-webhook-secret";
const DEFAULT_DELIVERIES: usize = 20_000;
const DEFAULT_CONNECTIONS: usize = 64;

fn main() {
    let deliveries = setting("CONVOY_BENCH_DELIVERIES", DEFAULT_DELIVERIES);
    let connections = setting("CONVOY_BENCH_CONNECTIONS", DEFAULT_CONNECTIONS);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        println!(
            "webhook ingest: {deliveries} deliveries over {connections} connections, load {}",
            load_average()
        );
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sqlite = format!("sqlite://{}", dir.path().join("ingest.db").display());
        measure("SQLite", &sqlite, deliveries, connections).await;
        match fresh_postgres_database().await {
            Ok(url) => measure("PostgreSQL", &url, deliveries, connections).await,
            Err(error) => println!("PostgreSQL: skipped ({error})"),
        }
    });
}

/// Posts `deliveries` deliveries over `connections` connections and prints what it measured.
async fn measure(database: &str, url: &str, deliveries: usize, connections: usize) {
    let storage = wiring::storage(url).await.expect("the database opens");
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let auth = convoy_server::AuthSettings {
        sign_in: None,
        public_url: None,
        bootstrap_token: None,
        admins: Vec::new(),
        release_manager_groups: Vec::new(),
        allow_anonymous_reads: false,
        role_cache: Duration::from_secs(60),
    };
    let (port, _server) = wiring::spawn_server(
        &storage,
        listen,
        SecretString::from(SECRET),
        auth,
        "http://gitlab.invalid".to_owned(),
        convoy_server::limits::HttpLimits::default(),
    )
    .await
    .expect("the server starts");
    let endpoint = Arc::new(format!("http://127.0.0.1:{port}/webhooks/gitlab"));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("an HTTP client");

    let started = Instant::now();
    let senders: Vec<_> = (0..connections)
        .map(|sender| {
            let (client, endpoint) = (client.clone(), endpoint.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for n in (sender..deliveries).step_by(connections) {
                    let sent = Instant::now();
                    let status = post(&client, &endpoint, n).await;
                    answers.push((status, sent.elapsed()));
                }
                answers
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(deliveries);
    for sender in senders {
        answers.extend(sender.await.expect("a sender finishes"));
    }
    let elapsed = started.elapsed();

    let refused = answers.iter().filter(|(status, _)| *status != 200).count();
    let recorded = storage
        .store
        .waiting_deliveries(u32::try_from(deliveries * 2).unwrap_or(u32::MAX))
        .await
        .expect("the deliveries can be read")
        .len();
    let mut times: Vec<Duration> = answers.iter().map(|(_, time)| *time).collect();
    times.sort();
    println!(
        "{database}: {:.0} deliveries/s, answer median {:.1} ms, p99 {:.1} ms; \
         {refused} not answered 200, {recorded} of {deliveries} recorded{}",
        deliveries as f64 / elapsed.as_secs_f64(),
        millis(percentile(&times, 50)),
        millis(percentile(&times, 99)),
        if refused == 0 && recorded == deliveries {
            " (nothing lost)"
        } else {
            " (LOST DELIVERIES)"
        }
    );
}

/// One Pipeline Hook delivery, unique by its idempotency key; the HTTP status, 0 when the
/// request failed.
async fn post(client: &reqwest::Client, endpoint: &str, n: usize) -> u16 {
    let body = serde_json::json!({
        "object_kind": "pipeline",
        "object_attributes": { "id": n, "ref": "release/0.1.0", "status": "running" },
        "project": { "path_with_namespace": format!("bench/project-{}", n % 100) },
    });
    client
        .post(endpoint)
        .header("X-Gitlab-Token", SECRET)
        .header("X-Gitlab-Event", "Pipeline Hook")
        .header("Idempotency-Key", format!("bench-{n}"))
        .json(&body)
        .send()
        .await
        .map(|answer| answer.status().as_u16())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// A new, empty database on the PostgreSQL server.
async fn fresh_postgres_database() -> Result<String, sqlx::Error> {
    let admin_url = std::env::var("CONVOY_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
    let name = format!("convoy_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(base, _)| base);
    Ok(format!("{base}/{name}"))
}
