//! A job queue that only records what it was given, for tests of the server (no worker runs).

use std::sync::Mutex;

use async_trait::async_trait;
use convoy_store::{Job, Jobs};

/// Collects pushed jobs so a test can assert whether, and how, the worker was nudged.
#[derive(Default)]
pub struct RecordingJobs {
    pushed: Mutex<Vec<Job>>,
}

impl RecordingJobs {
    /// Every job pushed so far, oldest first.
    pub fn pushed(&self) -> Vec<Job> {
        self.pushed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[async_trait]
impl Jobs for RecordingJobs {
    async fn push(&self, job: Job) -> anyhow::Result<()> {
        self.pushed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(job);
        Ok(())
    }
}
