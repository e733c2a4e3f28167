//! The job queue as the server and the worker see it; the worker implements it on apalis
//! (`convoy_worker::queue::JobStorage`), so the server depends on this interface only.
//!
//! A job is only a nudge: the durable record of what must happen is already in the database
//! (a release's `wake_requested` flag, written in the same transaction as the change that
//! caused it). If a nudge is lost, the reconcile loop finds the record anyway. Webhook
//! deliveries need no job: the recorded delivery is the work item (`Store::record_delivery`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A unit of background work. Every job is idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Look at a release and carry out whatever its states require now.
    AdvanceRelease { release_id: i64 },
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
