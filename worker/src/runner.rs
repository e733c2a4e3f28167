//! Running the worker: apalis consumers for the job queue, the delivery loop that turns
//! webhook deliveries into wake-ups, the reconcile loop, the takeover loop that carries on what
//! a dead worker held, and the notification loop.

use std::time::Duration;

use apalis::layers::prometheus::PrometheusLayer;
use apalis::prelude::*;
use futures::StreamExt;

use crate::advance::now_ms;
use crate::context::Context;
use convoy_store::Job;

use crate::advance_release;
use crate::queue::JobStorage;
use crate::reconcile::reconcile_forever;
use crate::webhooks::process_deliveries_forever;

/// How often an idle consumer looks for new jobs.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Consumers per process: jobs of different releases run side by side.
const CONSUMERS: usize = 4;
/// After a stop is requested, how long a pass in progress may take to finish before it is
/// abandoned (every step is safe to run again, so abandoning loses nothing).
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Releases taken over at once from dead workers.
const TAKEOVER_CONCURRENCY: usize = 4;

/// Runs the worker until `ctx.stop` fires, then gives up the leases it holds.
pub async fn run(ctx: Context, storage: JobStorage) -> anyhow::Result<()> {
    // Loops of this worker: they end with it, also when its task is aborted.
    let loops = [
        AbortOnDrop(tokio::spawn(reconcile_forever(ctx.clone()))),
        AbortOnDrop(tokio::spawn(take_over_forever(ctx.clone()))),
        AbortOnDrop(tokio::spawn(crate::notify::notify_forever(ctx.clone()))),
        AbortOnDrop(tokio::spawn(process_deliveries_forever(ctx.clone()))),
        AbortOnDrop(tokio::spawn(nudge_forever(ctx.clone()))),
    ];
    let stop = {
        let stop = ctx.stop.clone();
        async move {
            stop.requested().await;
            Ok(())
        }
    };
    let monitor = match storage {
        JobStorage::Sqlite(storage) => Monitor::new().register_n(CONSUMERS, {
            let ctx = ctx.clone();
            move |i, _restarts| {
                WorkerBuilder::new(format!("{}-{i}", ctx.settings.worker_id))
                    .backend(storage.clone().poll_with_interval(POLL_INTERVAL))
                    .data(ctx.clone())
                    .layer(PrometheusLayer::default())
                    .build(handle_job)
            }
        }),
        JobStorage::Postgres(storage) => Monitor::new().register_n(CONSUMERS, {
            let ctx = ctx.clone();
            move |i, _restarts| {
                WorkerBuilder::new(format!("{}-{i}", ctx.settings.worker_id))
                    .backend(storage.clone().poll_with_interval(POLL_INTERVAL))
                    .data(ctx.clone())
                    .layer(PrometheusLayer::default())
                    .build(handle_job)
            }
        }),
    };
    let result = monitor
        .with_terminator(async { tokio::time::sleep(STOP_GRACE).await })
        .run_with_signal(stop)
        .await;
    for task in loops {
        task.stop().await;
    }
    // Whatever is still held belongs to a pass that was abandoned: the wake flags are still
    // set, so another worker (or the next life of this one) carries on at once.
    let owners = format!("{}#", ctx.settings.worker_id);
    let released = ctx.store.release_leases_of(&owners).await?;
    tracing::info!(released, "worker stopped; leases given up");
    result.map_err(|error| anyhow::anyhow!("the job queue stopped: {error}"))
}

/// A spawned loop that is aborted when its handle is dropped (a plain `JoinHandle` detaches).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl AbortOnDrop {
    /// Aborts the loop and waits until it ended.
    async fn stop(mut self) {
        self.0.abort();
        let _ = (&mut self.0).await;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Carries out one job. An error leaves the durable record (the wake flag) in place for the
/// reconcile loop.
async fn handle_job(job: Job, ctx: Data<Context>) -> Result<(), BoxDynError> {
    let result = match job {
        Job::AdvanceRelease { release_id } => advance_release(&ctx, release_id).await,
    };
    if let Err(error) = &result {
        tracing::warn!(?job, %error, "job failed; reconcile will try again");
    }
    Ok(())
}

/// Advances each release nudged in this process ([`crate::context::Nudges`]) in a task of
/// its own: releases run side by side, and a release whose lease is held returns at once (its
/// holder sees the wake flag). The tasks end with the loop.
async fn nudge_forever(ctx: Context) {
    let mut running = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            nudged = ctx.nudges.take() => {
                for release_id in nudged {
                    let ctx = ctx.clone();
                    running.spawn(async move {
                        if let Err(error) = advance_release(&ctx, release_id).await {
                            tracing::warn!(release_id, %error, "release not advanced; reconcile will");
                        }
                    });
                }
            }
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
}

/// Every few seconds (a sixth of the lease), advances the releases whose holder stopped
/// renewing its lease: a worker killed mid-pass delays its releases by at most one lease.
async fn take_over_forever(ctx: Context) {
    let mut ticker = tokio::time::interval((ctx.settings.lease_ttl / 6).max(POLL_INTERVAL));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let abandoned = match ctx.store.abandoned_release_ids(now_ms()).await {
            Ok(ids) => ids,
            Err(error) => {
                tracing::warn!(%error, "cannot look for abandoned releases");
                continue;
            }
        };
        futures::stream::iter(abandoned)
            .for_each_concurrent(TAKEOVER_CONCURRENCY, |release_id| {
                let ctx = &ctx;
                async move {
                    tracing::info!(release_id, "taking over a release its worker left");
                    if let Err(error) = advance_release(ctx, release_id).await {
                        tracing::warn!(release_id, %error, "release not advanced; will retry");
                    }
                }
            })
            .await;
    }
}
