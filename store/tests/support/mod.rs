//! Each store test on both databases, on a fresh database of the test kit (SQLite: a temporary
//! file; PostgreSQL: a new database on the server named by `CONVOY_TEST_POSTGRES_URL`).

use convoy_store::NewMainRelease;
pub use convoy_testkit::{Backend, TestDatabase as TestDb};

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
