//! The live hub: pushes newly recorded release events to open pages (issue 5).
//!
//! The hub polls the event log rather than listening to an in-process channel from the worker,
//! because the worker may be another process (or another machine, on PostgreSQL). One poller per
//! server process reads `events_since` every [`POLL_INTERVAL`] and broadcasts each new event to
//! every websocket session; a session that falls behind the channel reads the log itself
//! (see `dashboard::ws`), so a slow browser never makes another one miss anything.
//!
//! Contract used by startup: `LiveHub::start(store: convoy_store::Store) -> LiveHub` (Clone),
//! registered as `web::Data<LiveHub>`.

use std::sync::{Arc, Weak};
use std::time::Duration;

use convoy_store::{ReleaseEvent, Store};
use tokio::sync::broadcast;

/// How often the event log is read. Well under the 100 ms in which a change must reach a page.
pub const POLL_INTERVAL: Duration = Duration::from_millis(30);
/// How long to wait after the database failed before reading it again.
const ERROR_BACKOFF: Duration = Duration::from_secs(1);
/// Events read per query.
const BATCH: u32 = 500;
/// Events a session may be behind before it must catch up from the log.
const CHANNEL_CAPACITY: usize = 4096;

/// Broadcasts every newly recorded release event to its subscribers. Cheap to clone.
#[derive(Clone)]
pub struct LiveHub {
    sender: Arc<broadcast::Sender<ReleaseEvent>>,
}

impl LiveHub {
    /// Starts polling `store` from its newest event on. Must be called inside a tokio runtime
    /// (actix's included). The poller stops once every clone of the hub is dropped.
    pub fn start(store: Store) -> LiveHub {
        LiveHub::start_with_capacity(store, CHANNEL_CAPACITY)
    }

    /// Like [`LiveHub::start`], with room for `capacity` events per subscriber before it falls
    /// behind and must read the log (tests use a tiny one to make that happen).
    pub fn start_with_capacity(store: Store, capacity: usize) -> LiveHub {
        let (sender, _) = broadcast::channel(capacity);
        let sender = Arc::new(sender);
        tokio::spawn(poll(store, Arc::downgrade(&sender)));
        LiveHub { sender }
    }

    /// Receives every event recorded after this call (and possibly a few recorded just before:
    /// subscribers skip the ids they have seen).
    pub fn subscribe(&self) -> broadcast::Receiver<ReleaseEvent> {
        self.sender.subscribe()
    }
}

async fn poll(store: Store, sender: Weak<broadcast::Sender<ReleaseEvent>>) {
    // Start from the newest event: sessions read older ones from the log themselves.
    let mut last_id = loop {
        match store.last_event_id().await {
            Ok(id) => break id,
            Err(error) => {
                tracing::warn!(%error, "live hub cannot read the event log; retrying");
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
        }
        if sender.strong_count() == 0 {
            return;
        }
    };
    // Ids are taken in commit order on SQLite (one writer at a time), so reading "above the
    // last id seen" never skips an event there. On PostgreSQL a transaction holding a lower id
    // may commit after a higher one and that event is not pushed; pages stay right (they re-read
    // the release on the next event) but its timeline line shows only after a reload.
    let mut interval = tokio::time::interval(POLL_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(sender) = sender.upgrade() else {
            return;
        };
        match store.events_since(last_id, BATCH).await {
            Ok(events) => {
                let full = events.len() == BATCH as usize;
                for event in events {
                    last_id = event.id;
                    // No subscriber is not an error: nobody has a page open.
                    let _ = sender.send(event);
                }
                if full {
                    // More are waiting: read them now rather than at the next tick.
                    interval.reset_immediately();
                }
            }
            Err(error) => {
                tracing::warn!(%error, "live hub cannot read the event log; retrying");
                drop(sender);
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
        }
    }
}
