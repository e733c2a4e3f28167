//! Schemathesis against a running `convoy demo --no-release`: requests generated from the
//! OpenAPI document (valid and invalid ones) never get a 5xx, and every answer matches the
//! document (status, content type, headers, body schema). `.ci/setup` installs schemathesis.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The version `.ci/setup` installs.
const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// The demo, stopped when the test ends however it ends.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the demo's world (simulator, server, worker) without a release; returns it and its URL.
fn start_demo(api_token: &str, webhook_secret: &str) -> (Demo, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["demo", "--no-release", "--listen", "127.0.0.1:0"])
        .env("CONVOY_API_TOKEN", api_token)
        .env("CONVOY_WEBHOOK_SECRET", webhook_secret)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("convoy demo starts");
    let stdout = child.stdout.take().unwrap();
    let demo = Demo(child);
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Some(url) = line.strip_prefix("dashboard: ") {
                let _ = sender.send(url.trim_end_matches('/').to_string());
            }
        }
    });
    // A bound against hanging only: the URL is printed once the server listens.
    let url = receiver
        .recv_timeout(Duration::from_secs(120))
        .expect("the demo printed its dashboard URL");
    (demo, url)
}

/// Reads `pipe` to its end on a thread of its own.
fn read_all(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn schemathesis() -> String {
    std::env::var("CONVOY_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".to_string())
}

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let version = Command::new(schemathesis()).arg("--version").output();
    let installed = match &version {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).to_string()
        }
        _ => panic!(
            "schemathesis is not installed (or not on PATH): run `bash .ci/setup`, which installs schemathesis=={SCHEMATHESIS_VERSION} with pip"
        ),
    };
    assert!(
        installed.contains(SCHEMATHESIS_VERSION),
        "schemathesis {SCHEMATHESIS_VERSION} is needed (its flags and checks are pinned), found {installed}: run `bash .ci/setup`"
    );

    let api_token = format!("conformance-token-{}", std::process::id());
    let webhook_secret = format!("conformance-hook-{}", std::process::id());
    let (_demo, url) = start_demo(&api_token, &webhook_secret);
    let workdir = tempfile::tempdir().unwrap();
    let seed = std::env::var("CONVOY_SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".to_string());

    let mut run = Command::new(schemathesis())
        .current_dir(workdir.path())
        .args(["--no-color", "run"])
        .arg(format!("{url}/api/v1/openapi.json"))
        // Every check but `positive_data_acceptance`: Convoy's inputs follow GitLab's path
        // rules and git's ref rules (`convoy_core::validate`), which the document states only
        // in part (lengths, characters); a value that fits the schema but breaks such a rule
        // gets a 400 with a sentence, which is right, and which that check counts as a failure.
        .args([
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
        ])
        .args(["--header", &format!("Authorization: Bearer {api_token}")])
        .args(["--header", &format!("X-Gitlab-Token: {webhook_secret}")])
        // Bounds the run's size (not a pass/fail timing): a few examples per operation.
        .args(["--max-examples", "10", "--seed", &seed, "--no-shrink"])
        .args(["--request-timeout", "60", "--workers", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("schemathesis starts");

    // Read both pipes while it runs, so a long report never blocks it.
    let stdout = read_all(run.stdout.take().unwrap());
    let stderr = read_all(run.stderr.take().unwrap());
    // A bound against hanging only.
    let deadline = Instant::now() + Duration::from_secs(900);
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            run.kill().unwrap();
            panic!("schemathesis did not finish within 15 minutes");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let report = format!("{}{}", stdout.join().unwrap(), stderr.join().unwrap());
    assert!(
        status.success(),
        "schemathesis found answers outside the document (seed {seed}):\n{report}"
    );
    let selected = report
        .lines()
        .find_map(|line| line.trim().strip_prefix("Selected: "))
        .unwrap_or_else(|| panic!("schemathesis names the operations it selected:\n{report}"));
    let (tested, total) = selected.split_once('/').expect("Selected: N/M");
    assert_eq!(tested, total, "every operation was tested:\n{report}");
    assert!(
        total.trim().parse::<u32>().unwrap() > 20,
        "the document has every operation:\n{report}"
    );
    assert!(
        report.contains("passed"),
        "schemathesis ran test cases:\n{report}"
    );
}
