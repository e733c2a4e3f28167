//! How long whole releases take, end to end: `convoy demo --until-done` (server, worker,
//! SQLite, the real GitLab adapter over HTTP) against the simulator with generated plans of
//! `layers × width` components, each layer depending on the whole layer below.
//!
//! Run: `cargo bench -p convoy --bench release`. The simulator's pipelines take 50 ms each, so
//! the time is almost all Convoy's own: analysis, the four steps per component, webhooks and
//! database writes. Timings are reported here, never asserted in tests.

use std::process::Command;
use std::time::{Duration, Instant};

use convoy_simulator::Scenario;

const PLANS: [(usize, usize); 3] = [(2, 5), (4, 10), (8, 10)];

fn main() {
    let bin = env!("CARGO_BIN_EXE_convoy");
    println!("| components | layers x width | whole release | per layer |");
    println!("| ---: | ---: | ---: | ---: |");
    for (layers, width) in PLANS {
        let elapsed = release(bin, layers, width);
        let per_layer = elapsed / layers as u32;
        println!(
            "| {} | {layers} x {width} | {:.1} s | {:.2} s |",
            layers * width,
            elapsed.as_secs_f64(),
            per_layer.as_secs_f64()
        );
    }
}

/// Runs one release of a generated plan and returns its wall time.
fn release(bin: &str, layers: usize, width: usize) -> Duration {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let scenario_path = dir.path().join("scenario.yaml");
    let yaml =
        serde_yaml::to_string(&Scenario::layered(layers, width)).expect("the scenario serializes");
    std::fs::write(&scenario_path, yaml).expect("the scenario is written");
    let started = Instant::now();
    let output = Command::new(bin)
        .args([
            "demo",
            "--until-done",
            "--listen",
            "127.0.0.1:0",
            "--app",
            "bench/app",
            "--ref",
            "release/2.0.0",
        ])
        .arg("--scenario")
        .arg(&scenario_path)
        .arg("--database")
        .arg(dir.path().join("bench.db"))
        .output()
        .expect("convoy runs");
    let elapsed = started.elapsed();
    if !output.status.success() {
        panic!(
            "the release of {layers} x {width} did not succeed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    elapsed
}
