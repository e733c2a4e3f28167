//! Issue 13's table, measured: whole releases of generated plans (`layers × width` components,
//! each layer depending on the whole layer below) run by `convoy demo --until-done` (server,
//! worker, SQLite, the real GitLab adapter over HTTP) against the simulator.
//!
//! Run: `cargo bench -p convoy --bench release`. `CONVOY_BENCH_PLANS` picks the runs
//! (`LAYERSxWIDTHxPIPELINE_MS`, optionally `@LATENCY_MS` for a GitLab that answers each request
//! that much later, `faults.latency_ms`; comma-separated; default
//! `10x20x1000,10x20x50,5x100x50,5x100x1000@50`) and
//! `CONVOY_BENCH_VIEWERS` how many live-feed viewers watch each release (default 200). With
//! `CONVOY_BENCH_KEEP` set, each run's directory (its scenario and `bench.db`, the release's
//! whole event log) is kept, and its path printed.
//!
//! Per run it prints: the makespan against the critical path (per layer, GitLab's own time: the
//! merge request pipeline, or the simulator's head-pipeline lag if that is longer, since GitLab
//! merges only once it links the pipeline; then the tag pipeline), Convoy's own time per layer (deploy time minus that bound,
//! over the layers), GitLab requests per component (counted by the simulator), peak memory of
//! the `convoy` process, the release detail's and release page's response time while the
//! release runs, and the live feed's delay from an event's commit to each viewer (for events
//! created once that viewer was connected: older ones come from the log as a backlog). Timings
//! are reported here, never asserted in tests.
//!
//! Every read (detail, page, live feed) carries the demo's bootstrap admin token, which the
//! bench chooses and passes as `CONVOY_API_TOKEN`: since sign-in, anonymous readers get 401.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use convoy_simulator::Scenario;
use futures::StreamExt;
use support::{bench_token, load_average, spawn_demo};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

mod support;

const DEFAULT_PLANS: &str = "10x20x1000,10x20x50,5x100x50,5x100x1000@50";
const DEFAULT_VIEWERS: usize = 200;
/// How often the release detail and page are read while the release runs.
const DETAIL_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy)]
struct Plan {
    layers: usize,
    width: usize,
    pipeline_ms: u64,
    latency_ms: u64,
}

impl Plan {
    /// GitLab's own time per layer, with nothing of Convoy's: the merge request pipeline runs
    /// while GitLab links it as the head pipeline (`UpdateHeadPipelineWorker`, the simulator's
    /// `head_pipeline_lag_ms`), the merge follows the later of the two, then the tag pipeline.
    fn bound_per_layer(&self) -> Duration {
        let pipeline = Duration::from_millis(self.pipeline_ms);
        let lag = Duration::from_millis(self.scenario().head_pipeline_lag_ms);
        pipeline.max(lag) + pipeline
    }

    fn scenario(&self) -> Scenario {
        let mut scenario = Scenario::layered(self.layers, self.width);
        scenario.pipeline_duration_ms = self.pipeline_ms;
        scenario.faults.latency_ms = self.latency_ms;
        scenario
    }
}

/// What one run measured.
#[derive(Debug, Default)]
struct Run {
    whole: Duration,
    analysis: Duration,
    requests: u64,
    components: u64,
    peak_kib: u64,
    detail_ms: Vec<f64>,
    page_ms: Vec<f64>,
    feed_ms: Vec<f64>,
}

fn main() {
    let plans = parse_plans(&std::env::var("CONVOY_BENCH_PLANS").unwrap_or(DEFAULT_PLANS.into()));
    let viewers = std::env::var("CONVOY_BENCH_VIEWERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_VIEWERS);
    let bin = env!("CARGO_BIN_EXE_convoy");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    println!(
        "command: cargo bench -p convoy --bench release (CONVOY_BENCH_PLANS={}, CONVOY_BENCH_VIEWERS={viewers})",
        plans
            .iter()
            .map(|p| format!(
                "{}x{}x{}@{}",
                p.layers, p.width, p.pipeline_ms, p.latency_ms
            ))
            .collect::<Vec<_>>()
            .join(",")
    );
    println!("load before: {}", load_average());
    println!(
        "critical path per layer: max(merge request pipeline, GitLab's head-pipeline lag of {} ms) + tag pipeline",
        Scenario::default().head_pipeline_lag_ms
    );
    println!();
    println!(
        "| plan | pipelines | makespan | critical path | ratio | Convoy per layer | GitLab requests per component | peak memory | detail p50 / max | page p50 / max | live feed p99 ({viewers} viewers) | load after |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for plan in plans {
        let run = runtime.block_on(release(bin, plan, viewers));
        print_row(plan, &run);
    }
}

fn parse_plans(text: &str) -> Vec<Plan> {
    text.split(',')
        .map(|plan| {
            let (shape, latency) = plan.trim().split_once('@').unwrap_or((plan.trim(), "0"));
            let parts: Vec<&str> = shape.split('x').collect();
            let number = |i: usize| -> u64 {
                parts
                    .get(i)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| {
                        panic!("plan {plan:?} is not LAYERSxWIDTHxPIPELINE_MS[@LATENCY_MS]")
                    })
            };
            Plan {
                layers: number(0) as usize,
                width: number(1) as usize,
                pipeline_ms: number(2),
                latency_ms: latency
                    .parse()
                    .unwrap_or_else(|_| panic!("plan {plan:?}: the latency is not a number")),
            }
        })
        .collect()
}

fn print_row(plan: Plan, run: &Run) {
    let bound = plan.bound_per_layer() * plan.layers as u32;
    let deploy = run.whole.saturating_sub(run.analysis);
    let own_per_layer = deploy.saturating_sub(bound) / plan.layers as u32;
    println!(
        "| {} x {} = {} | {} ms{} | {:.1} s | {:.1} s | {:.2} | {:.2} s | {:.1} | {} MB | {} | {} | {} | {} |",
        plan.layers,
        plan.width,
        plan.layers * plan.width,
        plan.pipeline_ms,
        match plan.latency_ms {
            0 => String::new(),
            ms => format!(", GitLab +{ms} ms"),
        },
        deploy.as_secs_f64(),
        bound.as_secs_f64(),
        deploy.as_secs_f64() / bound.as_secs_f64(),
        own_per_layer.as_secs_f64(),
        run.requests as f64 / run.components.max(1) as f64,
        run.peak_kib / 1024,
        median_and_max(&run.detail_ms),
        median_and_max(&run.page_ms),
        percentile(&run.feed_ms, 0.99)
            .map(|p| format!("{p:.0} ms ({} deliveries)", run.feed_ms.len()))
            .unwrap_or_else(|| "-".to_string()),
        load_average(),
    );
    println!(
        "|   analysis {:.1} s, whole release {:.1} s | | | | | | | | | | | |",
        run.analysis.as_secs_f64(),
        run.whole.as_secs_f64()
    );
}

/// Runs one release of a generated plan while reading its detail and watching its live feed.
async fn release(bin: &str, plan: Plan, viewers: usize) -> Run {
    let mut dir = tempfile::tempdir().expect("a temporary directory");
    if std::env::var_os("CONVOY_BENCH_KEEP").is_some() {
        dir.disable_cleanup(true);
        eprintln!("kept {}", dir.path().display());
    }
    let token = bench_token();
    let started = Instant::now();
    let args = [
        "--until-done",
        "--listen",
        "127.0.0.1:0",
        "--app",
        "bench/app",
        "--ref",
        "release/2.0.0",
    ];
    let mut child = spawn_demo(bin, &args, &plan.scenario(), dir.path(), &token);
    let lines = stdout_lines(&mut child);
    let pid = child.id();

    let mut run = Run::default();
    let mut url = None;
    let mut watchers = None;
    let mut next_detail = Instant::now();
    let client = reqwest::Client::new();
    loop {
        run.peak_kib = run.peak_kib.max(peak_memory_kib(pid));
        match lines.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                if let Some(found) = line.strip_prefix("dashboard: ") {
                    url = Some(found.trim_end_matches('/').to_string());
                }
                if let (Some(base), Some(id)) = (&url, release_id(&line))
                    && watchers.is_none()
                {
                    watchers = Some((id, watch(base, id, viewers, &token).await));
                }
                if let Some(seconds) = seconds_after(&line, "planned after ") {
                    run.analysis = Duration::from_secs_f64(seconds);
                }
                if let Some((requests, components)) = gitlab_requests(&line) {
                    run.requests = requests;
                    run.components = components;
                }
                if line.contains(" ended ") && !line.contains(" ended success ") {
                    eprintln!("the release did not succeed: {line}");
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if let (Some(base), Some((id, _))) = (&url, &watchers)
            && Instant::now() >= next_detail
            && run.analysis > Duration::ZERO
        {
            next_detail = Instant::now() + DETAIL_INTERVAL;
            if let Some(ms) =
                timed_get(&client, &token, &format!("{base}/api/v1/releases/{id}")).await
            {
                run.detail_ms.push(ms);
            }
            if let Some(ms) = timed_get(&client, &token, &format!("{base}/releases/{id}")).await {
                run.page_ms.push(ms);
            }
        }
    }
    let status = child.wait().expect("convoy ends");
    run.whole = started.elapsed();
    if !status.success() {
        panic!("the release of {plan:?} did not succeed");
    }
    if let Some((_, watchers)) = watchers {
        for watcher in watchers {
            watcher.abort();
            if let Ok(delays) = watcher.await {
                run.feed_ms.extend(delays);
            }
        }
    }
    run
}

/// The child's stdout, line by line, on a channel that closes when the child exits.
fn stdout_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

/// `Release 1 of bench/app at release/2.0.0: http://…/releases/1` gives 1.
fn release_id(line: &str) -> Option<i64> {
    if !line.starts_with("Release ") || !line.contains("/releases/") {
        return None;
    }
    line.rsplit('/').next()?.parse().ok()
}

/// `planned after 1.5s` gives 1.5.
fn seconds_after(line: &str, prefix: &str) -> Option<f64> {
    line.strip_prefix(prefix)?
        .trim_end_matches('s')
        .parse()
        .ok()
}

/// `GitLab requests: 120 (80 reads, 40 writes) for 20 components` gives (120, 20).
fn gitlab_requests(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("GitLab requests: ")?;
    let total = rest.split_whitespace().next()?.parse().ok()?;
    let components = rest
        .split(" for ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((total, components))
}

/// Opens `viewers` websockets on the release's live feed; each task collects, per event, the
/// milliseconds from the event's commit time to its arrival.
async fn watch(
    base: &str,
    id: i64,
    viewers: usize,
    token: &str,
) -> Vec<tokio::task::JoinHandle<Vec<f64>>> {
    // From the release's newest event on: what comes later arrives through the live hub (a
    // release just created has a handful of events, all in the first page).
    let client =
        convoy::client::ApiClient::new(base, Some(token.to_owned())).expect("an API client");
    let after = client
        .events(id, 0)
        .await
        .ok()
        .and_then(|events| events.last().map(|event| event.id))
        .unwrap_or(0);
    let ws = base.replacen("http", "ws", 1);
    let mut watchers = Vec::with_capacity(viewers);
    for _ in 0..viewers {
        let mut request = format!("{ws}/releases/{id}/live?after={after}")
            .into_client_request()
            .expect("a websocket request");
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("a header value"),
        );
        watchers.push(tokio::spawn(async move {
            let mut delays = Vec::new();
            let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
                return delays;
            };
            // Events committed before this viewer was connected reach it from the log as a
            // backlog: their age says how late it connected, not how fast the feed is.
            let connected = Utc::now();
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message
                    && let Some(delay) = delay_ms(&text, connected)
                {
                    delays.push(delay);
                }
            }
            delays
        }));
    }
    watchers
}

/// Milliseconds from the event's `created_at` to now, for an event created once the viewer
/// was connected.
fn delay_ms(text: &str, connected: DateTime<Utc>) -> Option<f64> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let created: DateTime<Utc> = value["event"]["created_at"].as_str()?.parse().ok()?;
    if created < connected {
        return None;
    }
    Some((Utc::now() - created).num_microseconds()? as f64 / 1000.0)
}

async fn timed_get(client: &reqwest::Client, token: &str, url: &str) -> Option<f64> {
    let started = Instant::now();
    let response = client.get(url).bearer_auth(token).send().await.ok()?;
    if !response.status().is_success() {
        eprintln!("GET {url} answered {}", response.status());
        return None;
    }
    response.bytes().await.ok()?;
    Some(started.elapsed().as_secs_f64() * 1000.0)
}

/// The process's peak resident memory so far (`VmHWM`), 0 once it is gone.
fn peak_memory_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(values: &[f64], fraction: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some(sorted[index])
}

fn median_and_max(values: &[f64]) -> String {
    match (
        percentile(values, 0.5),
        values.iter().copied().reduce(f64::max),
    ) {
        (Some(median), Some(max)) => format!("{median:.0} / {max:.0} ms"),
        _ => "-".to_string(),
    }
}
