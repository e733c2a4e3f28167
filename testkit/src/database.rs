//! A fresh database per test: a temporary SQLite file, or a new database on the PostgreSQL
//! server named by `CONVOY_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`;
//! `.ci/setup` starts it).

use convoy_store::Store;
use sqlx::Connection;
use tempfile::TempDir;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An empty database only this test uses. A PostgreSQL database stays after the test unless
/// [`TestDatabase::remove`] drops it (a failed test leaves it, to look at); a SQLite file goes
/// with the value.
pub struct TestDatabase {
    pub backend: Backend,
    /// What `Store::connect` takes.
    pub url: String,
    /// Holds the SQLite file until the test ends.
    _dir: Option<TempDir>,
    /// The PostgreSQL database's name.
    postgres_name: Option<String>,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        }
    }

    /// A new SQLite file in a temporary directory.
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("convoy.db").display());
        TestDatabase {
            backend: Backend::Sqlite,
            url,
            _dir: Some(dir),
            postgres_name: None,
        }
    }

    /// A new database on the PostgreSQL server.
    pub async fn postgres() -> TestDatabase {
        let admin_url = postgres_admin_url();
        let name = format!("convoy_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin_connection(&admin_url).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|err| panic!("creating test database {name}: {err}"));
        TestDatabase {
            backend: Backend::Postgres,
            url: with_database(&admin_url, &name),
            _dir: None,
            postgres_name: Some(name),
        }
    }

    /// Connects a store (running the migrations); each call is a pool of its own, as another
    /// process would have.
    pub async fn store(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|err| panic!("connecting the store on {:?}: {err}", self.backend))
    }

    /// Drops the PostgreSQL database; nothing to do on SQLite.
    pub async fn remove(&self) {
        if let Some(name) = &self.postgres_name {
            let mut admin = admin_connection(&postgres_admin_url()).await;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|err| panic!("dropping test database {name}: {err}"));
        }
    }
}

/// The PostgreSQL server's database the tests connect to in order to make their own.
pub fn postgres_admin_url() -> String {
    std::env::var("CONVOY_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

async fn admin_connection(admin_url: &str) -> sqlx::PgConnection {
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
        .expect("CONVOY_TEST_POSTGRES_URL names a database");
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}
