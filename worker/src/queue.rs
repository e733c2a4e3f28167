//! The job queue on apalis: [`convoy_store::Jobs`] implemented on apalis' storage.

use async_trait::async_trait;
use convoy_store::{Job, Jobs, QueueDepth};

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
    /// The pool is configured as the store's (`convoy_store::SQLITE_BUSY_TIMEOUT`,
    /// `POSTGRES_MAX_CONNECTIONS`); on SQLite it keeps to 4 connections, enough for its polls.
    pub async fn connect(database_url: &str) -> anyhow::Result<JobStorage> {
        use anyhow::Context as _;
        if database_url.starts_with("postgres") {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(convoy_store::POSTGRES_MAX_CONNECTIONS)
                .connect(database_url)
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
            .busy_timeout(convoy_store::SQLITE_BUSY_TIMEOUT)
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
