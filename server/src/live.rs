//! The live hub: pushes newly recorded release events to open pages (issue 5).
//!
//! The hub follows the event log rather than an in-process channel from the worker, because the
//! worker may be another process (or another machine, on PostgreSQL). One reader per server
//! process reads `events_since` when the store says events were committed (an in-process
//! signal, and PostgreSQL `LISTEN/NOTIFY` across processes), and at the latest every
//! [`SAFETY_POLL`]. Each new event is serialized once and the same bytes go to every websocket
//! session; a session that falls behind the channel reads the log itself (see
//! `dashboard::ws`), so a slow browser never makes another one miss anything.
//!
//! Contract used by startup: `LiveHub::start(store: convoy_store::Store) -> LiveHub` (Clone),
//! registered as `web::Data<LiveHub>`.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytestring::ByteString;
use convoy_store::{ReleaseEvent, Store};
use serde::Serialize;
use tokio::sync::broadcast;

/// How often the log is read when no wake-up came: events written by another process on
/// SQLite show within this, and a lost notification costs no more.
pub const SAFETY_POLL: Duration = Duration::from_secs(1);
/// How long to wait after the database failed before reading it again.
const ERROR_BACKOFF: Duration = Duration::from_secs(1);
/// Events read per query.
const BATCH: u32 = 500;
/// Events a session may be behind before it must catch up from the log.
const CHANNEL_CAPACITY: usize = 4096;

/// One event as the hub hands it to sessions: what they filter on, and the message already
/// serialized (cloning it shares the bytes).
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub id: i64,
    pub release_id: i64,
    /// The websocket message: `{"type":"event","event":{…}}`.
    pub message: ByteString,
}

impl LiveEvent {
    /// Serializes `event` as the websocket message pages read.
    pub fn new(event: &ReleaseEvent) -> Result<LiveEvent, serde_json::Error> {
        Ok(LiveEvent {
            id: event.id,
            release_id: event.release_id,
            message: message(event)?,
        })
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Outgoing<'a> {
    Event { event: &'a ReleaseEvent },
}

/// The websocket message for one event, the one format both the hub and a catching-up session
/// send.
pub fn message(event: &ReleaseEvent) -> Result<ByteString, serde_json::Error> {
    Ok(serde_json::to_string(&Outgoing::Event { event })?.into())
}

/// Broadcasts every newly recorded release event to its subscribers. Cheap to clone.
#[derive(Clone)]
pub struct LiveHub {
    sender: Arc<broadcast::Sender<LiveEvent>>,
}

impl LiveHub {
    /// Starts following `store` from its newest event on. Must be called inside a tokio runtime
    /// (actix's included). The reader stops once every clone of the hub is dropped.
    pub fn start(store: Store) -> LiveHub {
        LiveHub::start_with(store, CHANNEL_CAPACITY, SAFETY_POLL)
    }

    /// Like [`LiveHub::start`], with room for `capacity` events per subscriber before it falls
    /// behind and must read the log, and a log read every `safety_poll` when no wake-up comes
    /// (tests use a tiny capacity, or a poll too slow to matter).
    pub fn start_with(store: Store, capacity: usize, safety_poll: Duration) -> LiveHub {
        let (sender, _) = broadcast::channel(capacity);
        let sender = Arc::new(sender);
        tokio::spawn(follow(store, Arc::downgrade(&sender), safety_poll));
        LiveHub { sender }
    }

    /// Receives every event recorded after this call (and possibly a few recorded just before:
    /// subscribers skip the ids they have seen).
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.sender.subscribe()
    }
}

async fn follow(store: Store, sender: Weak<broadcast::Sender<LiveEvent>>, safety_poll: Duration) {
    // Listen before reading the newest id: an event committed in between wakes the first read.
    let mut wakeups = store.event_wakeups().await;
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
    // Ids are taken in commit order (one writer at a time on SQLite, an advisory lock around
    // appends on PostgreSQL), so reading "above the last id seen" never skips an event.
    let mut more_waiting = false;
    loop {
        if !more_waiting {
            tokio::select! {
                () = wakeups.next() => {}
                () = tokio::time::sleep(safety_poll) => {}
            }
        }
        let Some(sender) = sender.upgrade() else {
            return;
        };
        match store.events_since(last_id, BATCH).await {
            Ok(events) => {
                // A full batch: more are waiting, read them now rather than at the next wake.
                more_waiting = events.len() == BATCH as usize;
                for event in events {
                    last_id = event.id;
                    match LiveEvent::new(&event) {
                        // No subscriber is not an error: nobody has a page open.
                        Ok(live) => {
                            let _ = sender.send(live);
                        }
                        // Sessions that need it read it from the log and report it there.
                        Err(error) => {
                            tracing::error!(%error, id = event.id, "cannot encode an event")
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "live hub cannot read the event log; retrying");
                drop(sender);
                more_waiting = false;
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
        }
    }
}
