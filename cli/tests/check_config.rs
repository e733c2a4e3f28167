//! `convoy check-config`, run as an operator runs it, against the GitLab simulator.

mod support;

use std::process::{Command, Output};

use convoy_simulator::{RunningSimulator, Scenario, SimulatorConfig};
use support::{Options, spawn_convoy};

const TOKEN: &str = "check-config-token-value";

async fn simulator(scopes: Option<Vec<String>>) -> RunningSimulator {
    let mut scenario = Scenario::demo();
    scenario.token_scopes = scopes;
    RunningSimulator::start(SimulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.to_owned(),
        scenario,
    })
    .await
    .unwrap()
}

/// Runs `convoy check-config` with only `env` set (and `args`).
fn check_config(env: &[(&str, &str)], args: &[&str]) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .arg("check-config")
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("convoy runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, format!("{stdout}{stderr}"))
}

/// The report's line for `setting`.
fn line<'a>(report: &'a str, setting: &str) -> &'a str {
    report
        .lines()
        .find(|line| line.trim_start().starts_with(setting))
        .unwrap_or_else(|| panic!("no line for {setting} in:\n{report}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_configuration_is_described_with_its_sources_and_passes() {
    let convoy = spawn_convoy(Options::default()).await;
    let gitlab = simulator(None).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let config = dir.path().join("convoy.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:9999\"\nreconcile_seconds = 5\n",
    )
    .unwrap();
    let token_path = token_file.display().to_string();
    let gitlab_url = gitlab.base_url();
    let env = [
        ("CONVOY_GITLAB_URL", gitlab_url.as_str()),
        ("CONVOY_GITLAB_TOKEN_FILE", token_path.as_str()),
        ("CONVOY_WEBHOOK_SECRET", "hook-secret-value"),
        ("CONVOY_PUBLIC_URL", convoy.url.as_str()),
    ];
    let (output, report) = check_config(&env, &["--config", &config.display().to_string()]);
    assert!(output.status.success(), "{report}");

    assert!(
        line(&report, "listen address").contains("127.0.0.1:9999"),
        "{report}"
    );
    assert!(
        line(&report, "listen address").contains("(config file, listen)"),
        "{report}"
    );
    assert!(line(&report, "reconcile interval").contains("(config file, reconcile_seconds)"));
    assert!(line(&report, "database").contains("(default)"), "{report}");
    // The trust settings are listed too.
    let role_cache = line(&report, "role cache");
    assert!(
        role_cache.contains(" 30 ") && role_cache.ends_with("(default)"),
        "{report}"
    );
    assert!(line(&report, "admins").contains("(not set)"), "{report}");
    assert!(
        line(&report, "release manager groups").contains("(not set)"),
        "{report}"
    );
    assert!(
        line(&report, "OAuth application id").contains("(not set)"),
        "{report}"
    );
    assert!(line(&report, "GitLab URL").contains("(environment, CONVOY_GITLAB_URL)"));
    let token = line(&report, "GitLab token");
    assert!(
        token.contains(" set ") && token.contains("CONVOY_GITLAB_TOKEN_FILE="),
        "{token}"
    );
    assert!(line(&report, "webhook secret").contains("(environment, CONVOY_WEBHOOK_SECRET)"));
    assert!(line(&report, "API token").contains("unset"), "{report}");
    // Secrets are never printed.
    assert!(
        !report.contains(TOKEN) && !report.contains("hook-secret-value"),
        "{report}"
    );
    // The token was tried at GitLab, and the public URL answered.
    assert!(report.contains("GitLab token: authenticates @"), "{report}");
    assert!(report.contains("scopes api"), "{report}");
    assert!(report.contains("answers from this machine"), "{report}");
    assert!(report.contains("no problem found"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_gitlab_refuses_is_a_problem_with_what_to_do() {
    let gitlab = simulator(None).await;
    let gitlab_url = gitlab.base_url();
    let env = [
        ("CONVOY_GITLAB_URL", gitlab_url.as_str()),
        ("CONVOY_GITLAB_TOKEN", "not-the-token"),
        ("CONVOY_WEBHOOK_SECRET", "s"),
    ];
    let (output, report) = check_config(&env, &[]);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains("problem: GitLab at") && report.contains("refuses the token (401)"),
        "{report}"
    );
    assert!(report.contains("with the api scope"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_without_the_api_scope_is_a_problem() {
    let gitlab = simulator(Some(vec!["read_api".to_owned()])).await;
    let gitlab_url = gitlab.base_url();
    let env = [
        ("CONVOY_GITLAB_URL", gitlab_url.as_str()),
        ("CONVOY_GITLAB_TOKEN", TOKEN),
        ("CONVOY_WEBHOOK_SECRET", "s"),
    ];
    let (output, report) = check_config(&env, &[]);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains("lacks the api scope (it has read_api)"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_settings_and_an_unreachable_public_url_are_each_a_sentence() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let public_url = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let (output, report) = check_config(&[("CONVOY_PUBLIC_URL", public_url.as_str())], &[]);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        line(&report, "GitLab URL").contains("(not set)"),
        "{report}"
    );
    assert!(line(&report, "GitLab token").contains("unset"), "{report}");
    assert!(
        report.contains("problem: no GitLab URL: set CONVOY_GITLAB_URL"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "problem: the public URL {public_url} cannot be reached"
        )),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_setting_is_its_own_sentence() {
    let env = [
        ("CONVOY_LISTEN", "everywhere"),
        ("CONVOY_RECONCILE_SECONDS", "soon"),
        ("CONVOY_DATABASE_URL", "mysql://db"),
        ("CONVOY_GITLAB_TOKEN_FILE", "/nonexistent/token"),
    ];
    let (output, report) = check_config(&env, &[]);
    assert_eq!(output.status.code(), Some(1), "{report}");
    for sentence in [
        "problem: the listen address \"everywhere\" (environment, CONVOY_LISTEN) is not an address like 127.0.0.1:8080",
        "problem: the reconcile interval (s) \"soon\" (environment, CONVOY_RECONCILE_SECONDS) is not a whole number of seconds",
        "problem: the database \"mysql://db\" (environment, CONVOY_DATABASE_URL) must start with sqlite:// or postgres://",
        "problem: no GitLab URL: set CONVOY_GITLAB_URL",
        "problem: the GitLab token file /nonexistent/token cannot be read",
        "problem: no webhook secret: set CONVOY_WEBHOOK_SECRET or CONVOY_WEBHOOK_SECRET_FILE",
    ] {
        assert!(report.contains(sentence), "{sentence}\nin:\n{report}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_config_file_is_a_problem_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("convoy.toml");
    std::fs::write(&config, "listen = [oops\n").unwrap();
    let (output, report) = check_config(&[], &["--config", &config.display().to_string()]);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(report.contains("is not valid"), "{report}");
}
