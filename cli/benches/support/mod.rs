//! What the benchmarks that run `convoy demo` share: the demo process on a generated scenario,
//! and the machine's load.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use convoy_simulator::Scenario;

/// Starts `convoy demo ARGS` on `scenario` (written to `dir`), with its database in `dir` and
/// `token` as the bootstrap admin token; its stdout is piped for the caller to read.
pub fn spawn_demo(bin: &str, args: &[&str], scenario: &Scenario, dir: &Path, token: &str) -> Child {
    let scenario_path = dir.join("scenario.yaml");
    let yaml = serde_yaml::to_string(scenario).expect("the scenario serializes");
    std::fs::write(&scenario_path, yaml).expect("the scenario is written");
    Command::new(bin)
        .arg("demo")
        .args(args)
        .arg("--scenario")
        .arg(&scenario_path)
        .arg("--database")
        .arg(dir.join("bench.db"))
        .env("CONVOY_API_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("convoy runs")
}

/// A bootstrap admin token for one run (a random v4 UUID).
pub fn bench_token() -> String {
    format!("bench-{}", uuid::Uuid::new_v4().simple())
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_string())
}
