//! The dashboard's browser tests (e2e/, playwright-core driving Debian's chromium against
//! `convoy demo`), run as part of `cargo test` so that the README's one test command covers
//! what a person clicks.

use std::path::Path;
use std::process::Command;

#[test]
fn the_dashboard_passes_its_browser_tests_in_chromium() {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e");
    assert!(
        e2e.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `bash .ci/setup` (it runs `npm ci` in e2e/)"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is not installed: run `bash .ci/setup`"
    );
    let output = Command::new("node")
        .args(["--test", "--test-concurrency=1", "."])
        .current_dir(&e2e)
        .env("CONVOY_BIN", env!("CARGO_BIN_EXE_convoy"))
        .output()
        .expect("node runs (it comes with the machine's Node.js)");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "browser tests failed:\n{report}");
    assert!(
        report.contains("# fail 0"),
        "the node test runner reported failures:\n{report}"
    );
    assert!(
        !report.contains("# pass 0"),
        "the node test runner ran no test:\n{report}"
    );
}
