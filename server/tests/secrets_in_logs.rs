//! Secrets never reach the logs nor the database: the real server (with the simulator as GitLab
//! and its OAuth provider) runs with every log line captured as JSON, a person signs in through
//! OAuth, creates a token and uses it, GitLab posts a webhook with its secret; then neither the
//! captured log nor the database file holds any of those secrets (the database only digests).

mod auth_helpers;

use std::io::Write;
use std::sync::{Arc, Mutex};

use auth_helpers::{SERVICE_TOKEN, sign_in, spawn_trust_app, waiting_release};
use serde_json::{Value, json};

/// Every log line the test binary writes, kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn no_token_cookie_oauth_secret_webhook_secret_or_gitlab_token_is_logged_or_stored() {
    let captured = Captured::default();
    let writer = captured.clone();
    // JSON lines, as `CONVOY_LOG_FORMAT=json`, and more than the default level: Convoy's debug
    // lines too.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "info,convoy_server=debug,convoy_store=debug",
        ))
        .with_writer(move || writer.clone())
        .init();

    let app = spawn_trust_app().await;
    let id = waiting_release(&app.store).await;
    let (rosa, session_cookie) = sign_in(&app, "rosa").await;
    let session = session_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("convoy_session=")
        .to_string();
    let created: Value = rosa
        .send(
            reqwest::Method::POST,
            &format!("{}/api/v1/tokens", app.address),
            Some(json!({"name": "ci", "expires_in_days": 7})),
            Some(&rosa.csrf_token),
        )
        .await
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    let client = reqwest::Client::new();
    let used = client
        .post(format!("{}/api/v1/releases/{id}/cancel", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(used.status(), 200);
    // A token in the query string is not how to send one, but it must not be logged either.
    let _ = client
        .get(format!(
            "{}/api/v1/releases?private_token={token}",
            app.address
        ))
        .send()
        .await
        .unwrap();
    let hook = client
        .post(format!("{}/webhooks/gitlab", app.address))
        .header("X-Gitlab-Token", "hook-secret")
        .header("X-Gitlab-Event", "Push Hook")
        .json(&json!({"object_kind": "push"}))
        .send()
        .await
        .unwrap();
    assert_ne!(hook.status(), 401, "the webhook secret is accepted");
    // The requests above were logged (the capture works) before anything is looked for.
    let log = captured.text();
    assert!(
        log.contains("/api/v1/tokens"),
        "nothing was captured: {log}"
    );

    let secrets = [
        ("the personal API token", token.clone()),
        ("the session cookie", session.clone()),
        ("the CSRF token", rosa.csrf_token.clone()),
        ("the OAuth code", rosa.oauth_code.clone()),
        ("the OAuth client secret", app.client_secret.clone()),
        ("the webhook secret", "hook-secret".to_string()),
        ("Convoy's GitLab token", SERVICE_TOKEN.to_string()),
    ];
    for (what, secret) in &secrets {
        assert!(secret.len() >= 8, "{what} is long enough to look for");
        assert!(!log.contains(secret.as_str()), "{what} is in the log");
    }

    // The database: the SQLite file and its write-ahead log, byte for byte.
    let mut stored = Vec::new();
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", app.database_path.display());
        if let Ok(bytes) = std::fs::read(&path) {
            stored.extend(bytes);
        }
    }
    assert!(!stored.is_empty());
    let stored = String::from_utf8_lossy(&stored);
    for (what, secret) in &secrets {
        if *what == "the CSRF token" {
            continue; // kept with the session, as it must be shown to the page
        }
        assert!(
            !stored.contains(secret.as_str()),
            "{what} is in the database"
        );
    }
    // What the database holds instead: digests.
    let digest = convoy_server::auth::secrets::digest(&token);
    assert!(stored.contains(&digest), "the token's digest is stored");
}
