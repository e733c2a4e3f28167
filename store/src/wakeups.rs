//! Wake-ups after commits: a reader that follows a table (the event log, the webhook
//! deliveries) waits for one instead of polling it often.
//!
//! A commit announces itself to this process through a `watch` channel of the store, and on
//! PostgreSQL to every process through `NOTIFY` on a channel named for the table, which a
//! reader hears with `LISTEN`. A wake-up is a hint, not the data: a reader still looks now and
//! then on its own, so a lost one (another process on SQLite, a dropped `LISTEN` connection)
//! delays it by no more than its own poll.

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::db::Store;

/// When a `LISTEN` connection fails, how long before a reader looks at the table anyway.
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// See [`Store::event_wakeups`] and [`Store::delivery_wakeups`].
pub struct Wakeups {
    local: watch::Receiver<u64>,
    listener: Option<PgListener>,
}

impl Wakeups {
    /// Wake-ups from `local` (this process's commits) and, on PostgreSQL, from `channel`.
    pub(crate) async fn new(store: &Store, local: &watch::Sender<u64>, channel: &str) -> Wakeups {
        let mut local = local.subscribe();
        local.mark_unchanged();
        let listener = if store.is_postgres() {
            match listen(store.database_url(), channel).await {
                Ok(listener) => Some(listener),
                Err(error) => {
                    tracing::warn!(%error, channel, "cannot LISTEN; other processes' commits show on the slow poll");
                    None
                }
            }
        } else {
            None
        };
        Wakeups { local, listener }
    }

    /// Returns once something may have been committed since the last call.
    pub async fn next(&mut self) {
        let Wakeups { local, listener } = self;
        match listener {
            Some(listener) => tokio::select! {
                changed = local.changed() => {
                    if changed.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                received = listener.recv() => {
                    if let Err(error) = received {
                        // PgListener reconnects on the next call; meanwhile do not spin.
                        tracing::warn!(%error, "LISTEN failed; reconnecting");
                        tokio::time::sleep(LISTEN_RETRY).await;
                    }
                }
            },
            None => {
                if local.changed().await.is_err() {
                    // The store is gone; only the reader's own poll is left.
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

/// Tells this process's readers that a commit happened.
pub(crate) fn announce(local: &watch::Sender<u64>) {
    local.send_modify(|count| *count = count.wrapping_add(1));
}

async fn listen(database_url: &str, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(database_url).await?;
    listener.listen(channel).await?;
    Ok(listener)
}
