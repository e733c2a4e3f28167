//! The websockets that keep pages live.
//!
//! `GET /releases/{id}/live?after=N` sends every event of that release with an id above N,
//! first from the event log, then as the live hub sees them; `GET /live?after=N` does the same
//! for every release. Each event is sent exactly once and in id order: the session subscribes to
//! the hub before reading the log, and skips any hub event at or below the last id it sent.
//!
//! Messages are JSON: `{"type":"event","event":{…release event…}}`.
//!
//! A feed carries only the events of releases the person may read (the viewer role of the
//! release's app, `auth::reading`), checked per event through the role cache: someone who
//! loses the role stops receiving events within the cache lifetime.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use convoy_store::{ReleaseEvent, Store, StoreError};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};

use super::pages::PageError;
use crate::auth::reading::{reader, require_reader};
use crate::auth::{Identity, Permissions};
use crate::live::{self, LiveEvent, LiveHub};

/// How often the server pings an idle browser.
const PING_INTERVAL: Duration = Duration::from_secs(10);
/// A browser that answers no ping for this long is gone.
const PONG_TIMEOUT: Duration = Duration::from_secs(30);
/// Events read from the log per query.
const BATCH: u32 = 500;

#[derive(Deserialize)]
pub struct LiveQuery {
    /// The last event id the page has seen; 0 (or absent) for everything.
    after: Option<i64>,
}

/// Which events a session sends.
#[derive(Debug, Clone, Copy)]
enum Feed {
    Release(i64),
    All,
}

impl Feed {
    fn includes(self, release_id: i64) -> bool {
        match self {
            Feed::Release(id) => release_id == id,
            Feed::All => true,
        }
    }

    async fn read(self, store: &Store, after: i64) -> Result<Vec<ReleaseEvent>, StoreError> {
        match self {
            Feed::Release(id) => store.events(id, after, BATCH).await,
            Feed::All => store.events_since(after, BATCH).await,
        }
    }
}

/// `GET /releases/{id}/live?after=N`
pub async fn release_live(
    req: HttpRequest,
    body: web::Payload,
    id: web::Path<i64>,
    query: web::Query<LiveQuery>,
    store: web::Data<Store>,
    hub: web::Data<LiveHub>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, actix_web::Error> {
    let id = id.into_inner();
    let Some(app_project) = store
        .release_app_project(id)
        .await
        .map_err(PageError::from)?
    else {
        return Err(PageError::NotFound(format!("There is no release #{id}.")).into());
    };
    require_reader(&req, &permissions, &app_project)
        .await
        .map_err(PageError::from)?;
    let access = Access::new(&req, permissions)?;
    start(
        &req,
        body,
        &store,
        &hub,
        Feed::Release(id),
        query.after,
        access,
    )
}

/// `GET /live?after=N`
pub async fn all_live(
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<LiveQuery>,
    store: web::Data<Store>,
    hub: web::Data<LiveHub>,
    permissions: web::Data<Permissions>,
) -> Result<HttpResponse, actix_web::Error> {
    let access = Access::new(&req, permissions)?;
    start(&req, body, &store, &hub, Feed::All, query.after, access)
}

/// Whose feed it is, and which releases they may read.
struct Access {
    /// `None`: an anonymous reader under `--allow-anonymous`, who reads everything.
    who: Option<Identity>,
    permissions: web::Data<Permissions>,
    /// Release id → its app project (a release never changes app).
    apps: HashMap<i64, String>,
}

impl Access {
    fn new(
        req: &HttpRequest,
        permissions: web::Data<Permissions>,
    ) -> Result<Access, actix_web::Error> {
        let who = reader(req).map_err(PageError::from)?;
        Ok(Access {
            who,
            permissions,
            apps: HashMap::new(),
        })
    }

    /// Whether the person may read release `release_id`'s events now.
    async fn reads(&mut self, store: &Store, release_id: i64) -> Result<bool, End> {
        let Some(who) = &self.who else {
            return Ok(true);
        };
        let app = match self.apps.get(&release_id) {
            Some(app) => app.clone(),
            None => {
                let Some(app) = store
                    .release_app_project(release_id)
                    .await
                    .map_err(End::Store)?
                else {
                    return Ok(false);
                };
                self.apps.insert(release_id, app.clone());
                app
            }
        };
        self.permissions
            .reads(who, &app)
            .await
            .map_err(|_| End::RoleLookup)
    }
}

fn start(
    req: &HttpRequest,
    body: web::Payload,
    store: &Store,
    hub: &LiveHub,
    feed: Feed,
    after: Option<i64>,
    access: Access,
) -> Result<HttpResponse, actix_web::Error> {
    crate::auth::guard::check_origin(req)?;
    let (response, session, messages) = actix_ws::handle(req, body)?;
    // Subscribe before the session reads the log: an event recorded in between is then in the
    // log or in the channel (or both, and skipped the second time).
    let live = hub.subscribe();
    let connection = Connection {
        session,
        store: store.clone(),
        feed,
        access,
        last_sent: after.unwrap_or(0).max(0),
    };
    actix_web::rt::spawn(connection.run(messages, live));
    Ok(response)
}

/// Why a session ends.
enum End {
    /// The browser closed the connection (or it dropped).
    Browser(Option<CloseReason>),
    /// The browser answered no ping in time.
    Silent,
    /// The server is shutting down (the hub is gone).
    ServerStopping,
    /// The event log could not be read.
    Store(StoreError),
    /// GitLab could not tell whether the person may read a release.
    RoleLookup,
    /// An event could not be written as JSON.
    Encode(serde_json::Error),
    /// Sending failed: the connection is already closed.
    Closed,
}

struct Connection {
    session: Session,
    store: Store,
    feed: Feed,
    access: Access,
    /// The id of the last event sent or skipped (or the one the browser says it has).
    last_sent: i64,
}

impl Connection {
    async fn run(mut self, messages: MessageStream, live: broadcast::Receiver<LiveEvent>) {
        let _counted = crate::metrics::LiveConnection::open();
        let end = self.serve(messages, live).await;
        let reason = match end {
            End::Browser(reason) => reason,
            End::Silent => Some(CloseReason::from((CloseCode::Away, "no answer to ping"))),
            End::ServerStopping => Some(CloseCode::Restart.into()),
            End::Store(error) => {
                tracing::warn!(%error, "live session cannot read the event log");
                Some(CloseReason::from((
                    CloseCode::Error,
                    "cannot read events; reconnect",
                )))
            }
            End::RoleLookup => Some(CloseReason::from((
                CloseCode::Again,
                "cannot check your role at GitLab; reconnect",
            ))),
            End::Encode(error) => {
                tracing::error!(%error, "live session cannot encode an event");
                Some(CloseReason::from((
                    CloseCode::Error,
                    "cannot encode events",
                )))
            }
            End::Closed => return,
        };
        let _ = self.session.close(reason).await;
    }

    async fn serve(
        &mut self,
        mut messages: MessageStream,
        mut live: broadcast::Receiver<LiveEvent>,
    ) -> End {
        if let Err(end) = self.catch_up().await {
            return end;
        }
        let mut ping = tokio::time::interval(PING_INTERVAL);
        ping.tick().await;
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                message = messages.recv() => {
                    last_heard = Instant::now();
                    match message {
                        Some(Ok(Message::Ping(bytes))) => {
                            if self.session.pong(&bytes).await.is_err() {
                                return End::Closed;
                            }
                        }
                        Some(Ok(Message::Close(reason))) => return End::Browser(reason),
                        // Pongs only prove the browser is there; pages send nothing else.
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => return End::Browser(None),
                    }
                }
                received = live.recv() => {
                    let sent = match received {
                        Ok(event) => self.send_live(event).await,
                        // The channel dropped events this session had not read: read the log.
                        Err(RecvError::Lagged(_)) => self.catch_up().await,
                        Err(RecvError::Closed) => return End::ServerStopping,
                    };
                    if let Err(end) = sent {
                        return end;
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > PONG_TIMEOUT {
                        return End::Silent;
                    }
                    if self.session.ping(b"").await.is_err() {
                        return End::Closed;
                    }
                }
            }
        }
    }

    /// Sends every event of the feed above `last_sent` from the log.
    async fn catch_up(&mut self) -> Result<(), End> {
        loop {
            let events = self
                .feed
                .read(&self.store, self.last_sent)
                .await
                .map_err(End::Store)?;
            let full = events.len() == BATCH as usize;
            for event in &events {
                self.send(event).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Sends an event read from the log if it belongs to the feed and is newer than anything
    /// sent.
    async fn send(&mut self, event: &ReleaseEvent) -> Result<(), End> {
        if !self.wants(event.id, event.release_id)
            || !self.readable(event.id, event.release_id).await?
        {
            return Ok(());
        }
        let message = live::message(event).map_err(End::Encode)?;
        self.deliver(event.id, message).await
    }

    /// Sends an event from the hub, already serialized (its bytes are shared with every other
    /// session), under the same rule.
    async fn send_live(&mut self, event: LiveEvent) -> Result<(), End> {
        if !self.wants(event.id, event.release_id)
            || !self.readable(event.id, event.release_id).await?
        {
            return Ok(());
        }
        self.deliver(event.id, event.message).await
    }

    /// Whether the person may read the event; one they may not is skipped for good (counted as
    /// sent, so that catching up moves past it).
    async fn readable(&mut self, id: i64, release_id: i64) -> Result<bool, End> {
        if self.access.reads(&self.store, release_id).await? {
            return Ok(true);
        }
        self.last_sent = id;
        Ok(false)
    }

    fn wants(&self, id: i64, release_id: i64) -> bool {
        self.feed.includes(release_id) && id > self.last_sent
    }

    async fn deliver(&mut self, id: i64, message: bytestring::ByteString) -> Result<(), End> {
        self.session.text(message).await.map_err(|_| End::Closed)?;
        self.last_sent = id;
        Ok(())
    }
}
