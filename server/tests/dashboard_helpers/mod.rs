//! The whole HTTP server on a random port with a fresh SQLite database, and a release to look
//! at, for the dashboard's tests.

// Each test binary uses a different part of these helpers.
#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use convoy_core::{ComponentState, ReleasePlan};
use convoy_server::live::LiveHub;
use convoy_server::{Application, ServerSettings};
use convoy_store::{Change, NewMainRelease, Store};
use convoy_testkit::{RecordingJobs, TestDatabase, planned};
use secrecy::SecretString;

pub const FORGE_WEB_URL: &str = "http://forge.test";

pub struct TestDashboard {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    pub store: Store,
    pub client: reqwest::Client,
    _database: TestDatabase,
}

impl TestDashboard {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the server answers")
    }

    /// The websocket address of `path`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{path}", self.address.replacen("http://", "ws://", 1))
    }
}

async fn open_store() -> (Store, TestDatabase) {
    let database = TestDatabase::sqlite();
    (database.store().await, database)
}

fn settings() -> ServerSettings {
    ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        webhook_secret: SecretString::from("test-webhook-secret"),
        forge_web_url: FORGE_WEB_URL.to_string(),
        limits: Default::default(),
        auth: convoy_server::AuthSettings {
            allow_anonymous_reads: true,
            ..convoy_server::AuthSettings::default()
        },
    }
}

/// The whole server, as `convoy serve` runs it.
pub async fn spawn_dashboard() -> TestDashboard {
    let (store, database) = open_store().await;
    let application = Application::build(
        settings(),
        store.clone(),
        Arc::new(RecordingJobs::default()),
    )
    .await
    .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    TestDashboard {
        address,
        store,
        client: reqwest::Client::new(),
        _database: database,
    }
}

/// Only the dashboard's routes, with a live hub whose channel holds `capacity` events.
pub async fn spawn_dashboard_with_hub_capacity(capacity: usize) -> TestDashboard {
    spawn_dashboard_with_hub(capacity, convoy_server::live::SAFETY_POLL).await
}

/// Only the dashboard's routes, with a live hub whose channel holds `capacity` events and that
/// reads the log every `safety_poll` when no commit wakes it.
pub async fn spawn_dashboard_with_hub(capacity: usize, safety_poll: Duration) -> TestDashboard {
    let (store, database) = open_store().await;
    let hub = web::Data::new(LiveHub::start_with(store.clone(), capacity, safety_poll));
    let data = web::Data::new(store.clone());
    let settings = web::Data::new(settings());
    // Anonymous reads are allowed, so no role is ever looked up.
    let permissions = web::Data::new(convoy_server::auth::Permissions::new(
        None,
        Vec::new(),
        Duration::ZERO,
    ));
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(settings.clone())
            .app_data(hub.clone())
            .app_data(permissions.clone())
            .configure(convoy_server::dashboard::configure)
    })
    .listen(listener)
    .expect("the server listens")
    .run();
    tokio::spawn(server);
    TestDashboard {
        address: format!("http://127.0.0.1:{port}"),
        store,
        client: reqwest::Client::new(),
        _database: database,
    }
}

/// A release of `mobile/app` at `release/2.0.0` with the plan
///
/// ```text
/// CoreKit <- NetworkKit <- PaymentsKit
///         <- UIKitExtras <-
/// ```
///
/// (NetworkKit and UIKitExtras depend on CoreKit; PaymentsKit on both), all waiting, and
/// CoreKit failed with a reason.
pub async fn seed_release(store: &Store) -> i64 {
    seed_release_at(store, "release/2.0.0").await
}

/// `seed_release` at another ref of `mobile/app` (one active release per app and ref).
pub async fn seed_release_at(store: &Store, app_ref: &str) -> i64 {
    let release = store
        .create_main_release(&NewMainRelease {
            app_project: "mobile/app".to_string(),
            app_ref: app_ref.to_string(),
            started_by: "alice".to_string(),
            require_review: false,
        })
        .await
        .expect("the release is recorded");
    let plan = ReleasePlan {
        components: vec![
            planned("CoreKit", &[]),
            planned("NetworkKit", &["CoreKit"]),
            planned("UIKitExtras", &["CoreKit"]),
            planned("PaymentsKit", &["NetworkKit", "UIKitExtras"]),
        ],
    };
    let components = store
        .save_plan(release.id, &plan, "worker")
        .await
        .expect("the plan is stored");
    let core = components.iter().find(|c| c.name == "CoreKit").unwrap();
    let moved = store
        .transition_component(
            core.id,
            ComponentState::Waiting,
            ComponentState::Failed,
            &Change::by("worker").because("tag 0.1.0 exists: change the version and retry"),
        )
        .await
        .expect("the component moves");
    assert!(moved);
    release.id
}

/// A release of `count` components in layers of ten, each depending on two of the layer
/// before: the shape of a big app.
pub async fn seed_big_release(store: &Store, count: usize) -> i64 {
    let release = store
        .create_main_release(&NewMainRelease {
            app_project: "mobile/big-app".to_string(),
            app_ref: "release/9.0.0".to_string(),
            started_by: "alice".to_string(),
            require_review: false,
        })
        .await
        .expect("the release is recorded");
    let name = |i: usize| format!("Pod{i:03}");
    let components = (0..count)
        .map(|i| {
            let dependencies: Vec<String> = if i < 10 {
                Vec::new()
            } else {
                let layer_start = (i / 10 - 1) * 10;
                vec![name(layer_start + i % 10), name(layer_start + (i + 3) % 10)]
            };
            let dependencies: Vec<&str> = dependencies.iter().map(String::as_str).collect();
            planned(&name(i), &dependencies)
        })
        .collect();
    store
        .save_plan(release.id, &ReleasePlan { components }, "worker")
        .await
        .expect("the plan is stored");
    release.id
}
