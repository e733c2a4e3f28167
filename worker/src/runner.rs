//! Running the worker: apalis consumers for the job queue, plus the reconcile loop.

use std::future::Future;
use std::time::Duration;

use apalis::prelude::*;

use crate::context::Context;
use crate::queue::{Job, JobStorage};
use crate::reconcile::reconcile_forever;
use crate::{advance_release, process_delivery};

/// How often an idle consumer looks for new jobs.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Consumers per process: jobs of different releases run side by side.
const CONSUMERS: usize = 4;

/// Runs the worker until `shutdown` completes.
pub async fn run<S>(ctx: Context, storage: JobStorage, shutdown: S) -> anyhow::Result<()>
where
    S: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let reconcile = tokio::spawn(reconcile_forever(ctx.clone()));
    let monitor = match storage {
        JobStorage::Sqlite(storage) => Monitor::new().register_n(CONSUMERS, {
            let ctx = ctx.clone();
            move |i, _restarts| {
                WorkerBuilder::new(format!("{}-{i}", ctx.settings.worker_id))
                    .backend(storage.clone().poll_with_interval(POLL_INTERVAL))
                    .data(ctx.clone())
                    .build(handle_job)
            }
        }),
        JobStorage::Postgres(storage) => Monitor::new().register_n(CONSUMERS, {
            let ctx = ctx.clone();
            move |i, _restarts| {
                WorkerBuilder::new(format!("{}-{i}", ctx.settings.worker_id))
                    .backend(storage.clone().poll_with_interval(POLL_INTERVAL))
                    .data(ctx.clone())
                    .build(handle_job)
            }
        }),
    };
    let result = monitor.run_with_signal(shutdown).await;
    reconcile.abort();
    result.map_err(|error| anyhow::anyhow!("the job queue stopped: {error}"))
}

/// Carries out one job. An error leaves the durable record (wake flag, unprocessed delivery)
/// in place for the reconcile loop.
async fn handle_job(job: Job, ctx: Data<Context>) -> Result<(), BoxDynError> {
    let result = match job {
        Job::AdvanceRelease { release_id } => advance_release(&ctx, release_id).await,
        Job::ProcessWebhook { delivery_id } => process_delivery(&ctx, delivery_id).await,
    };
    if let Err(error) = &result {
        tracing::warn!(?job, %error, "job failed; reconcile will try again");
    }
    Ok(())
}
