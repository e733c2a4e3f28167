//! How long the manifest readers take as the input grows: `cargo bench -p convoy-core`.
//!
//! Prints one row per size with the best of a few runs and the time per pod; time per pod
//! staying flat from 5,000 to 100,000 pods is what "linear" means here. No pass/fail: this is a
//! measurement, not a test.
//!
//! The time is the CPU time of the thread (Linux `/proc/thread-self/schedstat`), so a loaded
//! machine that keeps the bench waiting does not show up as parsing time; elsewhere it is the
//! wall-clock time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use convoy_core::manifest::podfile::parse_podfile;
use convoy_core::manifest::podspec::parse_podspec;

const SIZES: &[usize] = &[5_000, 10_000, 20_000, 40_000, 50_000, 100_000];
const RUNS: usize = 5;

/// A Podfile with `pods` pods over targets of 1,000, like a large app's: spec repo pods, git
/// pods on a release branch, a conditional block and a helper called in every target.
fn podfile(pods: usize) -> String {
    let mut text =
        String::from("platform :ios, '15.0'\ndef shared_pods\n  pod 'Shared', '~> 1.0'\nend\n");
    for pod in 0..pods {
        if pod % 1000 == 0 {
            if pod > 0 {
                text.push_str("end\n");
            }
            text.push_str(&format!("target 'App{}' do\n  shared_pods\n", pod / 1000));
        }
        match pod % 10 {
            0 => text.push_str(&format!(
                "  pod 'G{pod}', :git => 'https://g/ios/g{pod}.git', :branch => 'release/1.0.0'\n"
            )),
            1 => text.push_str(&format!("  if ENV['CI']\n    pod 'C{pod}'\n  end\n")),
            _ => text.push_str(&format!("  pod 'P{pod}', '~> 1.{}'\n", pod % 7)),
        }
    }
    text.push_str("end\n");
    text
}

/// A podspec with `dependencies` subspec dependencies.
fn podspec(dependencies: usize) -> String {
    let mut text = String::from("Pod::Spec.new do |s|\n  s.name = 'Big'\n  s.version = '1.0.0'\n");
    for dependency in 0..dependencies {
        if dependency % 100 == 0 {
            if dependency > 0 {
                text.push_str("  end\n");
            }
            text.push_str(&format!("  s.subspec 'S{dependency}' do |ss|\n"));
        }
        text.push_str(&format!("    ss.dependency 'D{dependency}', '~> 1.0'\n"));
    }
    text.push_str("  end\nend\n");
    text
}

fn best_of<F: FnMut()>(mut run: F) -> Duration {
    (0..RUNS)
        .map(|_| {
            let (cpu, wall) = (thread_cpu_time(), Instant::now());
            run();
            match (cpu, thread_cpu_time()) {
                (Some(before), Some(after)) => after - before,
                _ => wall.elapsed(),
            }
        })
        .min()
        .unwrap_or_default()
}

/// The time this thread has spent on a CPU, when the platform tells.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn row(reader: &str, size: usize, bytes: usize, took: Duration) {
    let per_item = took.as_secs_f64() * 1e6 / size as f64;
    println!(
        "| {reader:<7} | {size:>6} | {:>7.2} | {:>9.1} | {per_item:>8.2} |",
        bytes as f64 / 1e6,
        took.as_secs_f64() * 1e3
    );
}

fn main() {
    println!("| reader  |  pods  |   MB    |  CPU ms   | µs/pod   |");
    println!("|---------|--------|---------|-----------|----------|");
    for &size in SIZES {
        let text = podfile(size);
        let took = best_of(|| {
            let parsed = parse_podfile(black_box(&text)).expect("the generated Podfile reads");
            assert!(parsed.dependencies.len() >= size);
        });
        row("Podfile", size, text.len(), took);
    }
    for &size in SIZES {
        let text = podspec(size);
        let took = best_of(|| {
            let parsed = parse_podspec(black_box(&text)).expect("the generated podspec reads");
            assert_eq!(parsed.dependencies.len(), size);
        });
        row("podspec", size, text.len(), took);
    }
}
