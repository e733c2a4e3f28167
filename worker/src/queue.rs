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
}
