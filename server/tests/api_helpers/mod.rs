//! `spawn_app()`: the whole HTTP server on a random port with a fresh SQLite database, and a job
//! queue that records what the server pushed.

// Each test binary uses a different part of these helpers.
#![allow(dead_code)]

use std::sync::Arc;

use convoy_core::MainReleaseState;
use convoy_server::limits::HttpLimits;
use convoy_server::{Application, AuthSettings, ServerSettings};
use convoy_store::{Change, Store};
use convoy_testkit::{RecordingJobs, TestDatabase, abcd_plan};
use secrecy::SecretString;
use serde_json::{Value, json};

pub const WEBHOOK_SECRET: &str = "test-webhook-secret";
pub const FORGE_WEB_URL: &str = "http://forge.test";
/// The bootstrap admin token `post` and `put` act with.
pub const BOOTSTRAP_TOKEN: &str = "test-bootstrap-token";
/// How the event log names what the bootstrap token did.
pub const ACTOR: &str = "bootstrap admin token";

pub struct TestApp {
    pub address: String,
    pub store: Store,
    pub jobs: Arc<RecordingJobs>,
    pub client: reqwest::Client,
    database: TestDatabase,
    /// How many releases `create_release` started: each gets a ref of its own, since at most
    /// one release per app and ref may be active.
    releases_started: std::sync::atomic::AtomicU32,
}

/// A server without sign-in, on a fresh SQLite file: anyone reads, the bootstrap token changes.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_limits(HttpLimits::default()).await
}

/// `spawn_app()` with other timeouts and limits.
pub async fn spawn_app_with_limits(limits: HttpLimits) -> TestApp {
    spawn(TestDatabase::sqlite(), limits).await
}

/// A server on a fresh database of the PostgreSQL server named by `CONVOY_TEST_POSTGRES_URL`
/// (default `postgres://postgres@127.0.0.1:5432/test`). Call `remove_database` at the end.
pub async fn spawn_app_on_postgres() -> TestApp {
    spawn(TestDatabase::postgres().await, HttpLimits::default()).await
}

async fn spawn(database: TestDatabase, limits: HttpLimits) -> TestApp {
    let store = database.store().await;
    let jobs = Arc::new(RecordingJobs::default());
    let settings = ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        webhook_secret: SecretString::from(WEBHOOK_SECRET),
        forge_web_url: FORGE_WEB_URL.to_string(),
        limits,
        auth: AuthSettings {
            bootstrap_token: Some(SecretString::from(BOOTSTRAP_TOKEN)),
            allow_anonymous_reads: true,
            ..AuthSettings::default()
        },
    };
    let application = Application::build(settings, store.clone(), jobs.clone())
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    TestApp {
        address,
        store,
        jobs,
        client: reqwest::Client::new(),
        database,
        releases_started: std::sync::atomic::AtomicU32::new(0),
    }
}

impl TestApp {
    /// Drops a PostgreSQL test database (a failed test leaves it, to look at).
    pub async fn remove_database(self) {
        self.database.remove().await;
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the request is sent")
    }

    /// A read with the bootstrap token (the audit log is not open to anonymous readers).
    pub async fn get_as_admin(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .bearer_auth(BOOTSTRAP_TOKEN)
            .send()
            .await
            .expect("the request is sent")
    }

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .bearer_auth(BOOTSTRAP_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("the request is sent")
    }

    pub async fn put(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .put(format!("{}{path}", self.address))
            .bearer_auth(BOOTSTRAP_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("the request is sent")
    }

    /// Starts a release of mobile/app through the API; returns its id. The first is at
    /// release/2.0.0, the next ones at release/2.0.1, release/2.0.2, … (one active release per
    /// app and ref).
    pub async fn create_release(&self) -> i64 {
        let n = self
            .releases_started
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = self
            .post(
                "/api/v1/releases",
                json!({"app_project": "mobile/app", "app_ref": format!("release/2.0.{n}")}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 201);
        let body: Value = response.json().await.unwrap();
        body["id"].as_i64().unwrap()
    }

    /// A release whose analysis is done: the A, B, C, D plan stored, release waiting.
    ///
    /// ```text
    ///      A
    ///     / \
    ///    B   C
    ///     \ /
    ///      D
    /// ```
    pub async fn waiting_release(&self) -> i64 {
        let id = self.create_release().await;
        self.store
            .save_plan(id, &abcd_plan(), "worker")
            .await
            .expect("the plan is saved");
        let moved = self
            .store
            .transition_main_release(
                id,
                MainReleaseState::Analyzing,
                MainReleaseState::Waiting,
                &Change::by("worker"),
            )
            .await
            .unwrap();
        assert!(moved, "the release was analyzing");
        id
    }
}

/// The `error` sentence of an error answer.
pub async fn error_of(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("an error answer is JSON");
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error sentence in {body}"))
        .to_string()
}
