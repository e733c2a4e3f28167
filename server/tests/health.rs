//! `/health_check` says the process answers; `/ready` says whether it can work, and why not.

use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use convoy_server::{Application, ServerSettings};
use convoy_store::Store;
use convoy_testkit::{RecordingJobs, TestDatabase};
use secrecy::SecretString;
use serde_json::Value;

/// A stand-in for GitLab: `/api/v4/version` answers 401 without a token, as GitLab does.
fn fake_gitlab() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(|| {
        App::new().route(
            "/api/v4/version",
            web::get().to(|| async {
                HttpResponse::Unauthorized()
                    .json(serde_json::json!({"message": "401 Unauthorized"}))
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}

/// An address where nothing listens.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

struct Served {
    address: String,
    store: Store,
    database: TestDatabase,
}

async fn serve(forge_web_url: String) -> Served {
    let database = TestDatabase::sqlite();
    let store = database.store().await;
    let settings = ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        webhook_secret: SecretString::from("secret"),
        forge_web_url,
        limits: Default::default(),
        auth: convoy_server::AuthSettings {
            allow_anonymous_reads: true,
            ..convoy_server::AuthSettings::default()
        },
    };
    let app = Application::build(settings, store.clone(), Arc::new(RecordingJobs::default()))
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    Served {
        address,
        store,
        database,
    }
}

async fn get(url: String) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn problems(body: &Value) -> String {
    body["problems"].to_string()
}

#[tokio::test]
async fn ready_when_the_database_is_up_to_date_and_gitlab_answers() {
    let app = serve(fake_gitlab()).await;
    let (status, body) = get(format!("{}/ready", app.address)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["database"], "ok");
    assert_eq!(body["migrations"], "ok");
    assert_eq!(body["gitlab"], "ok");
    assert_eq!(body["problems"], serde_json::json!([]));
}

#[tokio::test]
async fn not_ready_with_the_reason_when_gitlab_cannot_be_reached() {
    let gitlab = closed_port_url();
    let app = serve(gitlab.clone()).await;
    let (status, body) = get(format!("{}/ready", app.address)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(body["gitlab"], "unreachable");
    assert_eq!(body["database"], "ok");
    assert!(
        problems(&body).contains(&format!("GitLab at {gitlab} cannot be reached")),
        "{body}"
    );
    // Alive all the same: an orchestrator must not restart Convoy because GitLab is down.
    let alive = reqwest::get(format!("{}/health_check", app.address))
        .await
        .unwrap();
    assert_eq!(alive.status().as_u16(), 200);
}

#[tokio::test]
async fn not_ready_when_a_migration_was_not_applied() {
    let app = serve(fake_gitlab()).await;
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database.url)
        .await
        .unwrap();
    sqlx::query("DELETE FROM convoy_migrations WHERE version = 1")
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, body) = get(format!("{}/ready", app.address)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["migrations"], "missing");
    assert!(
        problems(&body).contains("the database lacks migration 1"),
        "{body}"
    );
}

#[tokio::test]
async fn not_ready_when_the_database_does_not_answer() {
    let app = serve(fake_gitlab()).await;
    app.store.close().await;
    let (status, body) = get(format!("{}/ready", app.address)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "unreachable");
    assert!(
        problems(&body).contains("the database does not answer"),
        "{body}"
    );
}

#[tokio::test]
async fn a_process_without_the_api_serves_health_ready_and_metrics_on_its_probe_port() {
    let database = TestDatabase::sqlite();
    let store = database.store().await;
    let (port, server) = convoy_server::health::serve_probes(
        "127.0.0.1:0".parse().unwrap(),
        store,
        Arc::new(RecordingJobs::default()),
        fake_gitlab(),
    )
    .unwrap();
    tokio::spawn(server);
    let address = format!("http://127.0.0.1:{port}");
    let alive = reqwest::get(format!("{address}/health_check"))
        .await
        .unwrap();
    assert_eq!(alive.status().as_u16(), 200);
    let (status, body) = get(format!("{address}/ready")).await;
    assert_eq!(
        (status, &body["ready"]),
        (200, &Value::Bool(true)),
        "{body}"
    );
    let metrics = reqwest::get(format!("{address}/metrics")).await.unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    let text = metrics.text().await.unwrap();
    // The server's own metrics (the worker's and the forge's are described by the process
    // that runs them, see `cli/tests/metrics_scrape.rs`).
    assert!(
        text.contains("# HELP convoy_webhook_deliveries_received_total"),
        "{text}"
    );
    // Only the probes: the API and the webhook endpoint are the server's.
    let api = reqwest::get(format!("{address}/api/v1/releases"))
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 404);
}
