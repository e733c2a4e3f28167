//! The jobs the server hands to the worker.
//!
//! A job is only a nudge: the durable record of what must happen is already in the database
//! (a release's `wake_requested` flag, an unprocessed webhook delivery), written in the same
//! transaction as the change that caused it. If a nudge is lost, the reconcile loop finds the
//! record anyway.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A unit of background work. Every job is idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Look at a release and carry out whatever its states require now.
    AdvanceRelease { release_id: i64 },
    /// Turn a recorded webhook delivery into changes on the releases it concerns.
    ProcessWebhook { delivery_id: i64 },
}

/// Where jobs are pushed (apalis storage in production).
#[async_trait]
pub trait Jobs: Send + Sync {
    async fn push(&self, job: Job) -> anyhow::Result<()>;

    /// How many jobs wait and run, for `/metrics`; `None` when the queue cannot tell.
    async fn depth(&self) -> anyhow::Result<Option<QueueDepth>> {
        Ok(None)
    }
}

/// Jobs in the queue by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDepth {
    pub pending: u64,
    pub running: u64,
}

/// The durable job queue on the same database as Convoy's tables: apalis' SQLite storage by
/// default, its PostgreSQL storage when Convoy runs on PostgreSQL.
#[derive(Clone)]
pub enum JobStorage {
    Sqlite(apalis_sqlite::SqliteStorage<Job>),
    Postgres(apalis_postgres::PostgresStorage<Job>),
}

impl JobStorage {
    /// Opens apalis' storage on `database_url` and runs its migrations. It uses its own pool
    /// because apalis' SQLite setup changes pragmas on the pool it is given, and its own
    /// migrations table (Convoy's is `convoy_migrations`), so the two coexist in one database.
    pub async fn connect(database_url: &str) -> anyhow::Result<JobStorage> {
        use anyhow::Context as _;
        if database_url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(database_url)
                .await
                .context("cannot connect to PostgreSQL for the job queue")?;
            apalis_postgres::PostgresStorage::setup(&pool)
                .await
                .context("cannot set up the job queue tables")?;
            return Ok(JobStorage::Postgres(apalis_postgres::PostgresStorage::new(
                &pool,
            )));
        }
        let options: sqlx::sqlite::SqliteConnectOptions = database_url
            .parse()
            .context("the SQLite database URL is not valid")?;
        let options = options
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::from_secs(10))
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .context("cannot open the SQLite database for the job queue")?;
        apalis_sqlite::SqliteStorage::setup(&pool)
            .await
            .context("cannot set up the job queue tables")?;
        Ok(JobStorage::Sqlite(apalis_sqlite::SqliteStorage::new(&pool)))
    }
}

#[async_trait]
impl Jobs for JobStorage {
    async fn push(&self, job: Job) -> anyhow::Result<()> {
        use apalis::prelude::TaskSink;
        match self.clone() {
            JobStorage::Sqlite(mut storage) => storage.push(job).await?,
            JobStorage::Postgres(mut storage) => storage.push(job).await?,
        }
        Ok(())
    }

    async fn depth(&self) -> anyhow::Result<Option<QueueDepth>> {
        Ok(Some(JobStorage::depth(self).await?))
    }
}
