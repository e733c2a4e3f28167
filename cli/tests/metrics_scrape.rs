//! `GET /metrics` after a release of the demo app: every series an operator graphs is there,
//! with values that fit what the release did. The recorder is global to the process, so this
//! file holds one test and asserts lower bounds rather than exact counts.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::{Options, fast_demo, spawn_convoy};

/// One sample of the text format: `name{label="value",…} number`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').expect("label=value");
                    (key.to_owned(), value.trim_matches('"').to_owned())
                })
                .collect();
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

/// The sum of the samples of `name` whose labels include `labels`.
fn total(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

async fn scrape(url: &str) -> (String, Vec<Sample>) {
    let response = reqwest::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scrape_after_a_release_shows_states_gitlab_calls_webhooks_and_the_queue() {
    let mut scenario = fast_demo();
    scenario.faults.rate_limit_rate = 0.05;
    scenario.faults.webhook_duplicate_rate = 0.5;
    let convoy = spawn_convoy(Options {
        scenario,
        ..Options::default()
    })
    .await;
    let release = convoy.release_all().await;
    assert_eq!(release.state, "success", "{release:#?}");

    // Deliveries are processed after the release may have ended: wait for the worker (and a
    // reconcile round) to have shown up, with a bound that only guards against hanging.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (text, samples) = loop {
        let (text, samples) = scrape(&convoy.url).await;
        let processed = total(&samples, "convoy_webhook_deliveries_processed_total", &[]);
        let rounds = total(
            &samples,
            "convoy_reconcile_rounds_total",
            &[("outcome", "ok")],
        );
        if processed.unwrap_or(0.0) > 0.0 && rounds.unwrap_or(0.0) > 0.0 {
            break (text, samples);
        }
        assert!(
            Instant::now() < deadline,
            "no processed delivery or reconcile round:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let get = |name: &str, labels: &[(&str, &str)]| {
        total(&samples, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{text}"))
    };

    // Releases and components by state, from the database.
    assert!(get("convoy_main_releases", &[("state", "success")]) >= 1.0);
    assert!(get("convoy_components", &[("state", "success")]) >= 4.0);
    // Time in each state a component went through: every component left waiting,
    // preparing and deploying at least once.
    for state in ["waiting", "preparing", "deploying"] {
        let left = get("convoy_component_state_seconds_count", &[("state", state)]);
        assert!(left >= 4.0, "{state}: {left}");
        assert!(get("convoy_component_state_seconds_sum", &[("state", state)]) > 0.0);
        let all = get(
            "convoy_component_state_seconds_bucket",
            &[("state", state), ("le", "+Inf")],
        );
        assert_eq!(all, left, "{state}: the +Inf bucket holds every sample");
    }

    // GitLab requests by endpoint and outcome, with latency; ids never become labels.
    assert!(get("convoy_gitlab_requests_total", &[("outcome", "2xx")]) > 10.0);
    assert!(
        get(
            "convoy_gitlab_requests_total",
            &[("endpoint", "projects/:id/merge_requests")]
        ) >= 4.0
    );
    assert!(get("convoy_gitlab_request_seconds_count", &[]) > 10.0);
    assert!(get("convoy_gitlab_request_seconds_sum", &[]) > 0.0);
    for sample in samples
        .iter()
        .filter(|s| s.name == "convoy_gitlab_requests_total")
    {
        let endpoint = &sample.labels["endpoint"];
        assert!(
            !endpoint.contains("%2F") && !endpoint.contains("kit"),
            "{endpoint}"
        );
    }
    // 5% of GitLab's answers were 429 with Retry-After: 1.
    let limited = get("convoy_gitlab_requests_total", &[("outcome", "429")]);
    let waits = get("convoy_gitlab_rate_limit_waits_total", &[]);
    assert!(limited >= 1.0, "{limited}");
    assert!(
        waits >= 1.0 && waits <= limited,
        "{waits} waits for {limited} answers 429"
    );
    assert!(get("convoy_gitlab_rate_limit_wait_seconds_total", &[]) >= waits);

    // Webhooks: half of GitLab's deliveries were sent twice.
    let received = get("convoy_webhook_deliveries_received_total", &[]);
    let duplicate = get("convoy_webhook_deliveries_duplicate_total", &[]);
    let processed = get("convoy_webhook_deliveries_processed_total", &[]);
    assert!(
        duplicate >= 1.0 && duplicate < received,
        "{duplicate} of {received}"
    );
    assert!(
        processed >= 1.0 && processed <= received,
        "{processed} of {received}"
    );
    assert_eq!(
        get("convoy_webhook_processing_lag_seconds_count", &[]),
        processed
    );

    // The queue, reconcile, leases and live feed.
    assert!(get("convoy_job_queue_depth", &[("status", "pending")]) >= 0.0);
    assert!(get("convoy_job_queue_depth", &[("status", "running")]) >= 0.0);
    assert!(get("convoy_reconcile_rounds_total", &[("outcome", "ok")]) >= 1.0);
    assert!(get("convoy_reconcile_found_total", &[]) >= 0.0);
    assert_eq!(get("convoy_lease_takeovers_total", &[]), 0.0);
    assert_eq!(get("convoy_live_connections", &[]), 0.0);
}
