//! No client holds or floods the service: a body that trickles in is cut off with 408, and a
//! client asking for changes faster than its allowance gets 429 with `Retry-After` while
//! others, reads and GitLab's webhooks go on.

mod api_helpers;

use std::num::NonZeroU32;
use std::time::Duration;

use api_helpers::{WEBHOOK_SECRET, error_of, spawn_app_with_limits};
use convoy_server::limits::HttpLimits;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a test waits for an answer before calling the server stuck.
const STUCK: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_answered_408() {
    let app = spawn_app_with_limits(HttpLimits {
        body_timeout: Duration::from_secs(1),
        ..HttpLimits::default()
    })
    .await;
    for (path, extra) in [
        (
            "/api/v1/releases",
            "Authorization: Bearer test-bootstrap-token\r\n".to_string(),
        ),
        (
            "/webhooks/gitlab",
            format!("X-Gitlab-Token: {WEBHOOK_SECRET}\r\nX-Gitlab-Event: Push Hook\r\n"),
        ),
    ] {
        let address = app.address.trim_start_matches("http://");
        let mut connection = tokio::net::TcpStream::connect(address).await.unwrap();
        // The headers promise 100 bytes; one comes, the rest never does.
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{extra}Content-Length: 100\r\n\r\n{{"
        );
        connection.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        let read = async {
            loop {
                let n = connection.read(&mut chunk).await.unwrap();
                answer.extend_from_slice(&chunk[..n]);
                if n == 0 || String::from_utf8_lossy(&answer).contains("send it at once") {
                    break;
                }
            }
        };
        tokio::time::timeout(STUCK, read)
            .await
            .unwrap_or_else(|_| panic!("{path}: no answer while the body trickles in"));
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(
            answer.contains("the request body did not arrive within 1 s of its headers"),
            "{path}: {answer}"
        );
    }
}

#[tokio::test]
async fn changes_past_the_allowance_get_429_and_reads_and_webhooks_go_on() {
    // 8 a minute: a burst of 2, then one every 7.5 s — far slower than this test asks.
    let app = spawn_app_with_limits(HttpLimits {
        changes_per_minute: NonZeroU32::new(8).unwrap(),
        ..HttpLimits::default()
    })
    .await;
    let start = |n: u32| {
        app.post(
            "/api/v1/releases",
            json!({"app_project": "mobile/app", "app_ref": format!("release/9.0.{n}")}),
        )
    };
    assert_eq!(start(0).await.status().as_u16(), 201);
    assert_eq!(start(1).await.status().as_u16(), 201);
    let refused = start(2).await;
    assert_eq!(refused.status().as_u16(), 429);
    let retry_after: u64 = refused.headers()["Retry-After"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=8).contains(&retry_after), "{retry_after}");
    assert!(
        error_of(refused)
            .await
            .starts_with("too many changes at once: at most 8 a minute per person or token"),
    );
    let (_, total) = app.store.list_main_releases(1, 100).await.unwrap();
    assert_eq!(total, 2, "the refused start changed nothing");

    assert_eq!(app.get("/api/v1/releases").await.status().as_u16(), 200);
    let webhook = app
        .client
        .post(format!("{}/webhooks/gitlab", app.address))
        .header("X-Gitlab-Token", WEBHOOK_SECRET)
        .header("X-Gitlab-Event", "Push Hook")
        .json(&json!({"object_kind": "push", "project": {"path_with_namespace": "mobile/app"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status().as_u16(), 200, "GitLab is never refused");
}
