//! `CONVOY_LOG_FORMAT=json`: the binary's log is one JSON object per line, and a line logged
//! inside a worker step carries its release and component. Without it, the log is for people.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Runs `convoy demo --until-done` with `format` (if any); returns its log (stderr).
fn demo_log(format: Option<&str>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_convoy"));
    command
        .args(["demo", "--until-done", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info,sqlx=warn,apalis=warn")
        .env_remove("CONVOY_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(format) = format {
        command.env("CONVOY_LOG_FORMAT", format);
    }
    let mut child = command.spawn().expect("convoy starts");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut log = String::new();
        stderr.read_to_string(&mut log).unwrap();
        log
    });
    // A bound against hanging only: the demo ends by itself.
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the demo did not end within 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = reader.join().unwrap();
    assert!(status.success(), "the demo release failed:\n{log}");
    log
}

#[test]
fn json_logs_are_one_object_per_line_with_release_and_component_inside_a_step() {
    let log = demo_log(Some("json"));
    let lines: Vec<Value> = log
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"))
        })
        .collect();
    assert!(lines.iter().all(Value::is_object));
    assert!(
        lines
            .iter()
            .all(|l| l["timestamp"].is_string() && l["level"].is_string())
    );

    let moves: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "component moved")
        .collect();
    // Four components, each moving several times.
    assert!(moves.len() >= 16, "{} moves in:\n{log}", moves.len());
    for line in moves {
        let spans = line["spans"].as_array().expect("the spans the line is in");
        let release = spans.iter().find(|s| s["name"] == "release");
        let component = spans.iter().find(|s| s["name"] == "component");
        assert!(
            release.is_some_and(|s| s["release_id"].as_i64() == Some(1)),
            "{line}"
        );
        let name = component
            .and_then(|s| s["component"].as_str())
            .unwrap_or("");
        assert!(
            ["CoreKit", "NetworkKit", "StorageKit", "FeatureKit"].contains(&name),
            "{line}"
        );
        assert_eq!(line["span"]["component"], name, "{line}");
    }
}

#[test]
fn without_a_format_the_log_is_for_people() {
    let log = demo_log(None);
    let moves: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("component moved"))
        .collect();
    assert!(!moves.is_empty(), "{log}");
    for line in moves {
        assert!(serde_json::from_str::<Value>(line).is_err(), "{line}");
        assert!(
            line.contains("INFO") && line.contains("release{release_id=1}"),
            "{line}"
        );
        assert!(line.contains("component{component="), "{line}");
        // Not a terminal: no colour codes.
        assert!(!line.contains('\u{1b}'), "{line}");
    }
}
