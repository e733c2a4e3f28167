//! A fresh database per test, on SQLite (a temporary file) or PostgreSQL (a new database on the
//! server named by `CONVOY_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`).

use convoy_core::{PlannedComponent, ReleasePlan};
use convoy_store::{NewMainRelease, Store};
use sqlx::Connection;
use tempfile::TempDir;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs each named test function (`async fn(&TestDb)`) once on SQLite and once on PostgreSQL,
/// as `<name>::on_sqlite` and `<name>::on_postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::support::{Backend, TestDb};

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    let db = TestDb::new(Backend::Sqlite).await;
                    super::$name(&db).await;
                    db.remove().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    let db = TestDb::new(Backend::Postgres).await;
                    super::$name(&db).await;
                    db.remove().await;
                }
            }
        )*
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An empty database that only this test uses.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    /// Holds the SQLite file until the test ends.
    _dir: Option<TempDir>,
    postgres: Option<PostgresDb>,
}

struct PostgresDb {
    admin_url: String,
    name: String,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("convoy.db").display());
                TestDb {
                    backend,
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let admin_url = std::env::var("CONVOY_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
                let name = format!("convoy_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = admin_connection(&admin_url).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .unwrap_or_else(|err| panic!("creating test database {name}: {err}"));
                let url = with_database(&admin_url, &name);
                TestDb {
                    backend,
                    url,
                    _dir: None,
                    postgres: Some(PostgresDb { admin_url, name }),
                }
            }
        }
    }

    /// Connects a store (running the migrations).
    pub async fn store(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|err| panic!("connecting the store on {:?}: {err}", self.backend))
    }

    /// Drops the PostgreSQL database (a failed test leaves it, to look at).
    pub async fn remove(self) {
        if let Some(postgres) = &self.postgres {
            let mut admin = admin_connection(&postgres.admin_url).await;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                postgres.name
            )))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|err| panic!("dropping test database {}: {err}", postgres.name));
        }
    }
}

async fn admin_connection(admin_url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(admin_url).await.unwrap_or_else(|err| {
        panic!(
            "the PostgreSQL tests need a server at {admin_url} (set CONVOY_TEST_POSTGRES_URL to \
             another one; `pg_isready -h 127.0.0.1` tells whether it runs): {err}"
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
        .expect("a PostgreSQL URL with a database");
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// A release of `ios/app` at a ref of its own (`release/5.0.N`): at most one release per app
/// and ref may be active, and tests create several. `release_of` names the ref.
pub fn new_release(started_by: &str) -> NewMainRelease {
    static NEXT_REF: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT_REF.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    release_of("ios/app", &format!("release/5.0.{n}"), started_by)
}

pub fn release_of(app_project: &str, app_ref: &str, started_by: &str) -> NewMainRelease {
    NewMainRelease {
        app_project: app_project.to_string(),
        app_ref: app_ref.to_string(),
        started_by: started_by.to_string(),
        require_review: false,
    }
}

/// ```text
///      A
///     / \
///    B   C      order: A, then B and C together, then D
///     \ /
///      D
/// ```
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

pub fn planned(name: &str, dependencies: &[&str]) -> PlannedComponent {
    let lower = name.to_lowercase();
    PlannedComponent {
        name: name.to_string(),
        git_url: format!("git@gitlab.example.com:pods/{lower}.git"),
        branch: "release/0.1.0".to_string(),
        project_path: format!("pods/{lower}"),
        podspec_path: format!("{name}.podspec"),
        podspec_version: Some("0.0.9".to_string()),
        default_version: "0.1.0".to_string(),
        dependencies: dependencies.iter().map(|d| d.to_string()).collect(),
    }
}
