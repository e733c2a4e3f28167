//! `spawn_app()`: the whole HTTP server on a random port with a fresh SQLite database, and a job
//! queue that records what the server pushed.

// Each test binary uses a different part of these helpers.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use convoy_core::{MainReleaseState, PlannedComponent, ReleasePlan};
use convoy_server::limits::HttpLimits;
use convoy_server::{Application, AuthSettings, ServerSettings};
use convoy_store::{Change, Store};
use convoy_store::{Job, Jobs};
use secrecy::SecretString;
use serde_json::{Value, json};

pub const WEBHOOK_SECRET: &str = "test-webhook-secret";
pub const FORGE_WEB_URL: &str = "http://forge.test";
/// The bootstrap admin token `post` and `put` act with.
pub const BOOTSTRAP_TOKEN: &str = "test-bootstrap-token";
/// How the event log names what the bootstrap token did.
pub const ACTOR: &str = "bootstrap admin token";

/// Collects pushed jobs so a test can assert the worker was nudged.
#[derive(Default)]
pub struct RecordingJobs {
    pushed: Mutex<Vec<Job>>,
}

impl RecordingJobs {
    pub fn pushed(&self) -> Vec<Job> {
        self.pushed.lock().unwrap().clone()
    }
}

#[async_trait]
impl Jobs for RecordingJobs {
    async fn push(&self, job: Job) -> anyhow::Result<()> {
        self.pushed.lock().unwrap().push(job);
        Ok(())
    }
}

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

/// The database only this test uses.
enum TestDatabase {
    /// Holds the SQLite file until the test ends.
    Sqlite(tempfile::TempDir),
    /// A database created on the PostgreSQL server for this test.
    Postgres { admin_url: String, name: String },
}

/// The PostgreSQL server the store's tests use too.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A server without sign-in, on a fresh SQLite file: anyone reads, the bootstrap token changes.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_limits(HttpLimits::default()).await
}

/// `spawn_app()` with other timeouts and limits.
pub async fn spawn_app_with_limits(limits: HttpLimits) -> TestApp {
    let database_dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!(
        "sqlite://{}",
        database_dir.path().join("convoy.db").display()
    );
    spawn(&url, TestDatabase::Sqlite(database_dir), limits).await
}

/// A server on a fresh database of the PostgreSQL server named by `CONVOY_TEST_POSTGRES_URL`
/// (default `postgres://postgres@127.0.0.1:5432/test`). Call `remove_database` at the end.
pub async fn spawn_app_on_postgres() -> TestApp {
    let admin_url = std::env::var("CONVOY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
    let name = format!("convoy_server_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = admin_connection(&admin_url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|err| panic!("creating test database {name}: {err}"));
    let url = with_database(&admin_url, &name);
    spawn(
        &url,
        TestDatabase::Postgres { admin_url, name },
        HttpLimits::default(),
    )
    .await
}

async fn admin_connection(admin_url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|err| {
            panic!(
                "the PostgreSQL tests need a server at {admin_url} (set CONVOY_TEST_POSTGRES_URL \
                 to another one; `pg_isready -h 127.0.0.1` tells whether it runs): {err}"
            )
        })
}

/// `postgres://u@h:5432/test?x=y` with database `name` instead of `test`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (server, _) = base
        .rsplit_once('/')
        .expect("a PostgreSQL URL names a database");
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

async fn spawn(url: &str, database: TestDatabase, limits: HttpLimits) -> TestApp {
    let store = Store::connect(url).await.expect("the test database opens");
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
        if let TestDatabase::Postgres { admin_url, name } = &self.database {
            let mut admin = admin_connection(admin_url).await;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|err| panic!("dropping test database {name}: {err}"));
        }
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

/// The A, B, C, D plan.
pub fn abcd_plan() -> ReleasePlan {
    ReleasePlan {
        components: vec![
            planned("A", &[]),
            planned("B", &["A"]),
            planned("C", &["A"]),
            planned("D", &["B", "C"]),
        ],
    }
}

fn planned(name: &str, dependencies: &[&str]) -> PlannedComponent {
    let project = name.to_lowercase();
    PlannedComponent {
        name: name.to_string(),
        git_url: format!("https://forge.test/ios/{project}.git"),
        branch: "release/0.1.0".to_string(),
        project_path: format!("ios/{project}"),
        podspec_path: format!("{name}.podspec"),
        podspec_version: Some("0.0.9".to_string()),
        default_version: "0.1.0".to_string(),
        dependencies: dependencies.iter().map(|d| d.to_string()).collect(),
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
