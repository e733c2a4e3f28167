//! Issue 13's analysis row: how long Convoy takes to plan a wide app against a GitLab that
//! answers every request after a delay, from the release entering analyzing to its plan being
//! ready (both times as the event log records them).
//!
//! Run: `cargo bench -p convoy --bench analysis`. `CONVOY_BENCH_ANALYSIS` picks the runs
//! (`LAYERSxWIDTH@LATENCY_MS`, comma-separated; default `5x100@50`): a generated app of
//! `LAYERS × WIDTH` components (`Scenario::layered`) on a simulator whose every answer waits
//! `LATENCY_MS` (`faults.latency_ms`). `convoy demo --no-release` serves it; the bench creates
//! the release through the API. Timings are reported here, never asserted in tests.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use convoy::client::{ApiClient, EventView};
use convoy_simulator::Scenario;
use support::{bench_token, load_average, spawn_demo};

mod support;

const DEFAULT_RUNS: &str = "5x100@50";
/// How often the bench asks whether the plan is ready (the answer's time is the log's, not
/// this poll's).
const POLL: Duration = Duration::from_millis(200);
/// A run that takes longer than this is reported as not finished.
const PATIENCE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct Run {
    layers: usize,
    width: usize,
    latency_ms: u64,
}

fn main() {
    let text = std::env::var("CONVOY_BENCH_ANALYSIS").unwrap_or(DEFAULT_RUNS.into());
    let runs: Vec<Run> = text.split(',').map(parse_run).collect();
    println!("command: cargo bench -p convoy --bench analysis (CONVOY_BENCH_ANALYSIS={text})");
    println!("load before: {}", load_average());
    println!();
    println!("| app | GitLab latency | analysis | components planned | load after |");
    println!("| --- | ---: | ---: | ---: | --- |");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    for run in runs {
        let (analysis, planned) = runtime.block_on(analyze(env!("CARGO_BIN_EXE_convoy"), run));
        println!(
            "| {} x {} = {} | {} ms | {} | {planned} | {} |",
            run.layers,
            run.width,
            run.layers * run.width,
            run.latency_ms,
            analysis
                .map(|d| format!("{:.2} s", d.as_secs_f64()))
                .unwrap_or_else(|| "not finished".to_owned()),
            load_average()
        );
    }
}

fn parse_run(text: &str) -> Run {
    let parsed = (|| {
        let (shape, latency) = text.trim().split_once('@')?;
        let (layers, width) = shape.split_once('x')?;
        Some(Run {
            layers: layers.parse().ok()?,
            width: width.parse().ok()?,
            latency_ms: latency.parse().ok()?,
        })
    })();
    parsed.unwrap_or_else(|| panic!("run {text:?} is not LAYERSxWIDTH@LATENCY_MS"))
}

/// Serves the generated app, creates its release and returns how long its analysis took (by
/// the event log) and how many components the plan has.
async fn analyze(bin: &str, run: Run) -> (Option<Duration>, usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut scenario = Scenario::layered(run.layers, run.width);
    scenario.faults.latency_ms = run.latency_ms;
    let token = bench_token();
    let args = ["--no-release", "--listen", "127.0.0.1:0"];
    let mut child = spawn_demo(bin, &args, &scenario, dir.path(), &token);
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("dashboard: ").map(str::to_owned))
        .expect("the demo prints its dashboard's URL");
    // Keep reading what the demo prints, so that it never writes to a closed pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    let client = ApiClient::new(&url, Some(token)).expect("an API client");
    let release = client
        .create_release("bench/app", "release/2.0.0", false)
        .await
        .expect("the release is created");
    let started = Instant::now();
    let mut planned = 0;
    while started.elapsed() < PATIENCE {
        let now = client
            .release(release.id)
            .await
            .expect("the release is read");
        if !matches!(now.state.as_str(), "created" | "analyzing") {
            planned = now.components.len();
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let events = all_events(&client, release.id).await;
    let _ = child.kill();
    let _ = child.wait();
    (analysis_time(&events), planned)
}

/// The release's whole log, page by page.
async fn all_events(client: &ApiClient, release_id: i64) -> Vec<EventView> {
    let mut events: Vec<EventView> = Vec::new();
    loop {
        let after = events.last().map_or(0, |e| e.id);
        match client.events(release_id, after).await {
            Ok(page) if !page.is_empty() => events.extend(page),
            _ => return events,
        }
    }
}

/// From the release entering analyzing to its leaving it, as the log records them.
fn analysis_time(events: &[EventView]) -> Option<Duration> {
    let at = |from: Option<&str>, to: &str| {
        events
            .iter()
            .find(|e| {
                e.component_name.is_none()
                    && e.kind == "state"
                    && e.to_state.as_deref() == Some(to)
                    && (from.is_none() || e.from_state.as_deref() == from)
            })
            .and_then(|e| e.created_at.parse::<DateTime<Utc>>().ok())
    };
    let started = at(None, "analyzing")?;
    let ended = at(Some("analyzing"), "waiting")?;
    (ended - started).to_std().ok()
}
