//! The connection pool, migrations, and the conversions every query shares.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use convoy_core::StateName;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyConnection, AnyPool};
use tokio::sync::watch;

use crate::error::StoreError;

/// Convoy's own migrations table. apalis keeps its migrations in sqlx's default
/// `_sqlx_migrations` on the same database; two migrators sharing one table would each see the
/// other's versions as "applied but missing" and refuse to run.
const MIGRATIONS_TABLE: &str = "convoy_migrations";

/// Run on every new SQLite connection. WAL lets readers work while the worker writes; the busy
/// timeout makes a writer wait for another instead of failing at once.
fn sqlite_pragmas() -> [String; 3] {
    [
        format!("PRAGMA busy_timeout = {}", SQLITE_BUSY_TIMEOUT.as_millis()),
        "PRAGMA foreign_keys = ON".to_owned(),
        "PRAGMA journal_mode = WAL".to_owned(),
    ]
}

/// How long a SQLite writer waits for the write lock before it fails with "database is
/// locked": the `busy_timeout` of every pool on the file, Convoy's and the job queue's.
pub const SQLITE_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(5000);

/// Connections of a PostgreSQL pool, Convoy's and the job queue's.
pub const POSTGRES_MAX_CONNECTIONS: u32 = 10;

/// Connections of a SQLite file pool (the readers). A worker steps up to 32 components of a
/// release at once, each holding a connection for a query now and then (most of a step waits
/// on GitLab), while the server answers
/// webhooks and pages and the job queue polls: with 5, those waited seconds for a connection.
/// WAL lets the readers among them run in parallel; writers still take turns (busy timeout).
const SQLITE_MAX_CONNECTIONS: u32 = 24;

/// How many times a SQLite migration runs before its error is returned (see `migrate`).
const SQLITE_MIGRATION_ATTEMPTS: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbKind {
    Sqlite,
    Postgres,
}

/// Convoy's database, SQLite or PostgreSQL. Cheap to clone (a pool handle).
#[derive(Clone)]
pub struct Store {
    /// For reads (and, on PostgreSQL, writes: it is the same pool there).
    pub(crate) pool: AnyPool,
    /// For every write. On a SQLite file it is one connection: SQLite lets one writer in at a
    /// time anyway, and Convoy's writers then wait their turn in the pool's queue instead of
    /// in SQLite's busy handler, which sleeps up to 100 ms a round between looks at the lock.
    pub(crate) writer: AnyPool,
    kind: DbKind,
    /// Counts commits that appended events, for readers of the log in this process.
    pub(crate) events_committed: Arc<watch::Sender<u64>>,
    /// Counts webhook deliveries recorded, for the worker's delivery loop in this process.
    pub(crate) deliveries_recorded: Arc<watch::Sender<u64>>,
    /// Kept to open a `LISTEN` connection on PostgreSQL; never printed (it may hold a password).
    database_url: Arc<str>,
    /// The plans read so far.
    pub(crate) plans: Arc<PlanCache>,
}

/// The stored plans this process has read: a plan is saved once, with the release's analysis,
/// and never changes after, while every pass and every release detail needs it (5 layers of
/// 100 components have 40,000 edges to read). Holds the last few releases' plans.
#[derive(Debug, Default)]
pub(crate) struct PlanCache(std::sync::Mutex<Vec<(i64, Arc<convoy_core::ReleasePlan>)>>);

/// Plans kept, newest first; the oldest is dropped for a new one.
const PLANS_KEPT: usize = 16;

impl PlanCache {
    pub(crate) fn get(&self, release_id: i64) -> Option<Arc<convoy_core::ReleasePlan>> {
        let plans = self.lock();
        plans
            .iter()
            .find(|(id, _)| *id == release_id)
            .map(|(_, plan)| plan.clone())
    }

    pub(crate) fn put(&self, release_id: i64, plan: Arc<convoy_core::ReleasePlan>) {
        let mut plans = self.lock();
        plans.retain(|(id, _)| *id != release_id);
        plans.insert(0, (release_id, plan));
        plans.truncate(PLANS_KEPT);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(i64, Arc<convoy_core::ReleasePlan>)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the URL: it may hold a password.
        f.debug_struct("Store").field("kind", &self.kind).finish()
    }
}

impl Store {
    /// Opens the database at `database_url` (`sqlite://path` or `postgres://…`) and brings its
    /// schema up to date. A SQLite file is created on first run.
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let kind = kind_of(database_url)?;
        let (pool, writer) = match kind {
            DbKind::Sqlite if is_in_memory(database_url) => {
                let pool = sqlite_pool(database_url, SqlitePool::InMemory).await?;
                (pool.clone(), pool)
            }
            DbKind::Sqlite => (
                sqlite_pool(database_url, SqlitePool::Readers).await?,
                sqlite_pool(database_url, SqlitePool::Writer).await?,
            ),
            DbKind::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(POSTGRES_MAX_CONNECTIONS)
                    .connect(database_url)
                    .await?;
                (pool.clone(), pool)
            }
        };
        migrate(&writer, kind).await?;
        Ok(Store {
            pool,
            writer,
            kind,
            events_committed: Arc::new(watch::Sender::new(0)),
            deliveries_recorded: Arc::new(watch::Sender::new(0)),
            database_url: database_url.into(),
            plans: Arc::default(),
        })
    }

    /// A transaction that writes. On SQLite it takes the write lock at its start
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later fails with
    /// "database is locked" (`SQLITE_BUSY_SNAPSHOT`, no busy timeout helps) when another writer
    /// committed in between, while an immediate one waits its turn on the busy timeout.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        let tx = match self.kind {
            DbKind::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            DbKind::Postgres => self.writer.begin().await?,
        };
        Ok(tx)
    }

    /// Whether this store runs on PostgreSQL (else SQLite).
    pub fn is_postgres(&self) -> bool {
        self.kind == DbKind::Postgres
    }

    /// The URL the store was opened with (it may hold a password: never log it).
    pub(crate) fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Closes every connection; waits for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// Brings the schema up to date, in Convoy's own migrations table.
///
/// PostgreSQL migrations run under an advisory lock. SQLite has none: when several processes
/// start together on a new file, all but one fail on the tables the first one just created.
/// Running again then skips what was applied, so a failure on SQLite is retried a few times.
async fn migrate(pool: &AnyPool, kind: DbKind) -> Result<(), StoreError> {
    let mut migrator = match kind {
        DbKind::Sqlite => sqlx::migrate!("../migrations/sqlite"),
        DbKind::Postgres => sqlx::migrate!("../migrations/postgres"),
    };
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    let mut attempt = 1;
    loop {
        match migrator.run(pool).await {
            Ok(()) => return Ok(()),
            Err(err) if kind == DbKind::Sqlite && attempt < SQLITE_MIGRATION_ATTEMPTS => {
                tracing::debug!(attempt, error = %err, "SQLite migration failed, running again");
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                attempt += 1;
            }
            Err(err) => return Err(err.into()),
        }
    }
}

fn kind_of(database_url: &str) -> Result<DbKind, StoreError> {
    if database_url.starts_with("sqlite:") {
        Ok(DbKind::Sqlite)
    } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        Ok(DbKind::Postgres)
    } else {
        Err(StoreError::Database(sqlx::Error::Configuration(
            "the database URL must start with sqlite:// or postgres://".into(),
        )))
    }
}

/// An in-memory SQLite database lives as long as its one connection: keep exactly one, forever.
/// The pools of a SQLite database.
#[derive(Clone, Copy)]
enum SqlitePool {
    /// An in-memory database lives as long as its one connection: one pool does everything.
    InMemory,
    /// A file's readers (WAL lets them read while one writes).
    Readers,
    /// A file's one writer.
    Writer,
}

async fn sqlite_pool(database_url: &str, role: SqlitePool) -> Result<AnyPool, sqlx::Error> {
    let options = match role {
        SqlitePool::InMemory => AnyPoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None),
        SqlitePool::Readers => AnyPoolOptions::new().max_connections(SQLITE_MAX_CONNECTIONS),
        SqlitePool::Writer => AnyPoolOptions::new().max_connections(1),
    };
    options
        .after_connect(|conn, _| {
            Box::pin(async move {
                for pragma in sqlite_pragmas() {
                    sqlx::query(sqlx::AssertSqlSafe(pragma))
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect(&sqlite_url_creating_file(database_url))
        .await
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// A SQLite URL without a `mode` is opened read-write-create, so that the first run creates
/// the file.
fn sqlite_url_creating_file(url: &str) -> String {
    if url.contains("mode=") || is_in_memory(url) {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Now, at the precision the database keeps, so that a value written and read back is equal.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The one text form of a time in the database: `2026-11-21T20:07:39.123456Z`. It sorts in
/// time order.
pub(crate) fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|err| StoreError::Corrupt(format!("time {text:?}: {err}")))
}

pub(crate) fn parse_optional_time(
    text: Option<String>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.as_deref().map(parse_time).transpose()
}

/// The state stored as `name` (see [`StateName`]).
pub(crate) fn parse_state<S: StateName>(name: &str) -> Result<S, StoreError> {
    S::parse(name).ok_or_else(|| StoreError::Corrupt(format!("unknown state {name:?}")))
}

pub(crate) fn flag(value: bool) -> i64 {
    i64::from(value)
}

pub(crate) fn parse_flag(value: i64) -> bool {
    value != 0
}

/// GitLab ids and durations are stored as BIGINT; a negative one cannot come from GitLab.
pub(crate) fn unsigned(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} is negative: {value}")))
}

pub(crate) fn optional_unsigned(value: Option<i64>, what: &str) -> Result<Option<u64>, StoreError> {
    value.map(|value| unsigned(value, what)).transpose()
}

pub(crate) fn signed(value: u64) -> i64 {
    // GitLab ids and durations in seconds are far below i64::MAX.
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Makes the row of release `id` the first write of the transaction and requests a wake-up.
///
/// Taking the write lock first matters: on SQLite a transaction that reads and then writes
/// fails with "database is locked" when another writer got in between (no busy wait applies);
/// on PostgreSQL it serialises writers of the same release on its row lock.
pub(crate) async fn lock_and_wake_release(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<(), StoreError> {
    let done =
        sqlx::query("UPDATE main_releases SET wake_requested = 1, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(time_text(now()))
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("main release {id}")));
    }
    Ok(())
}

/// Requests a wake-up of release `id` without touching anything else.
pub(crate) async fn wake_release(conn: &mut AnyConnection, id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE main_releases SET wake_requested = 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) fn not_found_unless_changed(
    rows_affected: u64,
    what: impl FnOnce() -> String,
) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound(what()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_with_microseconds_and_z() {
        let time = DateTime::parse_from_rfc3339("2026-11-21T20:07:39.5+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(time_text(time), "2026-11-21T19:07:39.500000Z");
        assert_eq!(parse_time(&time_text(time)).unwrap(), time);
    }

    #[test]
    fn a_sqlite_url_without_mode_creates_the_file() {
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db"),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db?cache=shared"),
            "sqlite://a.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }

    #[test]
    fn states_are_stored_under_their_lowercase_names() {
        use convoy_core::ComponentState;
        assert_eq!(
            parse_state::<ComponentState>("merged").unwrap(),
            ComponentState::Merged
        );
        assert!(matches!(
            parse_state::<ComponentState>("lost"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
