//! `GET /metrics`: Prometheus' text format, rendered by `metrics-exporter-prometheus` from
//! the process-wide recorder of the `metrics` crate, which every part of Convoy (and apalis)
//! reports to. Counters and histograms are this process's; the gauges of releases, components
//! and queued jobs are read from the shared database at each scrape, so every process that
//! serves `/metrics` tells the same about them.

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

use actix_web::{HttpResponse, web};
use convoy_store::Jobs;
use convoy_store::Store;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Main releases in each state (gauge, label `state`).
pub const MAIN_RELEASES: &str = "convoy_main_releases";
/// Component releases in each state (gauge, label `state`).
pub const COMPONENTS: &str = "convoy_components";
/// Jobs in the queue (gauge, label `status`: `pending` or `running`).
pub const JOB_QUEUE_DEPTH: &str = "convoy_job_queue_depth";
/// Open live-feed websocket connections (gauge).
pub const LIVE_CONNECTIONS: &str = "convoy_live_connections";
/// Authentic webhook deliveries received, duplicates included (counter).
pub const WEBHOOKS_RECEIVED: &str = "convoy_webhook_deliveries_received_total";
/// Deliveries recognised as ones already recorded (counter).
pub const WEBHOOKS_DUPLICATE: &str = "convoy_webhook_deliveries_duplicate_total";

/// Bucket bounds in seconds, shared by every histogram: from a fast GitLab request (5 ms) to
/// a component waiting hours for a person.
const BUCKETS: [f64; 20] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    1800.0, 3600.0, 7200.0, 21600.0,
];

/// The process's recorder, installed on first use. `metrics` allows one global recorder per
/// process, so every server of a process (tests start many) shares this one.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("the bucket list is not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed in this process");
        describe();
        handle
    })
}

/// Help texts, and the unlabelled series set to zero so that a scrape shows them before the
/// first event.
fn describe() {
    metrics::describe_gauge!(MAIN_RELEASES, "Main releases in each state.");
    metrics::describe_gauge!(COMPONENTS, "Component releases in each state.");
    metrics::describe_gauge!(JOB_QUEUE_DEPTH, "Jobs in the queue, by status.");
    metrics::describe_gauge!(LIVE_CONNECTIONS, "Open live-feed websocket connections.");
    metrics::describe_counter!(
        WEBHOOKS_RECEIVED,
        "Authentic GitLab webhook deliveries received."
    );
    metrics::describe_counter!(
        WEBHOOKS_DUPLICATE,
        "Webhook deliveries already recorded before."
    );
    metrics::gauge!(LIVE_CONNECTIONS).set(0.0);
    metrics::counter!(WEBHOOKS_RECEIVED).absolute(0);
    metrics::counter!(WEBHOOKS_DUPLICATE).absolute(0);
    convoy_store::describe_metrics();
}

/// Registers `GET /metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(scrape));
}

async fn scrape(store: web::Data<Store>, jobs: web::Data<dyn Jobs>) -> HttpResponse {
    let handle = recorder();
    refresh_gauges(&store, jobs.get_ref()).await;
    handle.run_upkeep();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}

/// Sets the gauges that describe the shared database. A failed query leaves the last values
/// (and logs why): a scrape must still answer when the database hiccups.
async fn refresh_gauges(store: &Store, jobs: &dyn Jobs) {
    static RELEASE_STATES: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    static COMPONENT_STATES: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    match store.main_releases_by_state().await {
        Ok(counts) => set_by_state(MAIN_RELEASES, &RELEASE_STATES, counts),
        Err(error) => tracing::warn!(%error, "metrics: cannot count main releases"),
    }
    match store.components_by_state().await {
        Ok(counts) => set_by_state(COMPONENTS, &COMPONENT_STATES, counts),
        Err(error) => tracing::warn!(%error, "metrics: cannot count components"),
    }
    match jobs.depth().await {
        Ok(Some(depth)) => {
            metrics::gauge!(JOB_QUEUE_DEPTH, "status" => "pending").set(depth.pending as f64);
            metrics::gauge!(JOB_QUEUE_DEPTH, "status" => "running").set(depth.running as f64);
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "metrics: cannot read the job queue's depth"),
    }
}

/// One gauge per state; a state seen before and now empty is set to 0 rather than left at
/// its old value.
fn set_by_state(name: &'static str, seen: &Mutex<BTreeSet<String>>, counts: Vec<(String, i64)>) {
    let mut seen = seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for state in seen.iter() {
        if !counts.iter().any(|(s, _)| s == state) {
            metrics::gauge!(name, "state" => state.clone()).set(0.0);
        }
    }
    for (state, count) in counts {
        metrics::gauge!(name, "state" => state.clone()).set(count as f64);
        seen.insert(state);
    }
}

/// Counts an authentic delivery as received, and as a duplicate when it was one.
pub fn record_webhook(duplicate: bool) {
    metrics::counter!(WEBHOOKS_RECEIVED).increment(1);
    if duplicate {
        metrics::counter!(WEBHOOKS_DUPLICATE).increment(1);
    }
}

/// Held by an open live-feed connection: counts it in [`LIVE_CONNECTIONS`] until dropped.
pub struct LiveConnection(());

impl LiveConnection {
    pub fn open() -> LiveConnection {
        metrics::gauge!(LIVE_CONNECTIONS).increment(1.0);
        LiveConnection(())
    }
}

impl Drop for LiveConnection {
    fn drop(&mut self) {
        metrics::gauge!(LIVE_CONNECTIONS).decrement(1.0);
    }
}
