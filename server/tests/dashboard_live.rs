//! The websockets: every event of a release reaches an open page exactly once and in order,
//! even when the page's connection drops and comes back with the last id it saw.

mod dashboard_helpers;

use std::time::Duration;

use convoy_store::{NewEvent, NewMainRelease, ReleaseEvent, Store};
use dashboard_helpers::{
    TestDashboard, seed_release, seed_release_at, spawn_dashboard, spawn_dashboard_with_hub,
    spawn_dashboard_with_hub_capacity,
};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Generous: a slow machine must not fail a test, only a missing event.
const WAIT: Duration = Duration::from_secs(20);

async fn connect(app: &TestDashboard, path: &str) -> Socket {
    let (socket, _) = connect_async(app.ws_url(path))
        .await
        .expect("the websocket opens");
    socket
}

/// The next `count` events on `socket`; fails unless they all arrive within [`WAIT`].
async fn events(socket: &mut Socket, count: usize) -> Vec<ReleaseEvent> {
    tokio::time::timeout(WAIT, async {
        let mut events = Vec::with_capacity(count);
        while events.len() < count {
            events.push(next_event(socket).await);
        }
        events
    })
    .await
    .unwrap_or_else(|_| panic!("{count} events did not arrive in time"))
}

/// The next event on `socket`, answering pings on the way.
async fn next_event(socket: &mut Socket) -> ReleaseEvent {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("an event arrives in time")
            .expect("the connection stays open")
            .expect("a valid frame");
        match message {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).expect("JSON");
                assert_eq!(value["type"], "event", "{value}");
                return serde_json::from_value(value["event"].clone()).expect("an event");
            }
            Message::Ping(bytes) => socket.send(Message::Pong(bytes)).await.unwrap(),
            other => panic!("unexpected message {other:?}"),
        }
    }
}

async fn note(store: &Store, release_id: i64, n: usize) -> i64 {
    store
        .append_event(&NewEvent {
            release_id,
            component_id: None,
            actor: "test".to_string(),
            kind: "note".to_string(),
            reason: Some(format!("note {n}")),
        })
        .await
        .expect("the event is recorded")
}

async fn all_ids(store: &Store, release_id: i64) -> Vec<i64> {
    store
        .events(release_id, 0, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|event| event.id)
        .collect()
}

#[tokio::test]
async fn a_page_that_reconnects_with_its_last_event_id_gets_every_event_exactly_once_in_order() {
    let app = spawn_dashboard().await;
    let release_id = seed_release(&app.store).await;
    // Another release's events interleave and must not reach this release's page.
    let other = seed_release_at(&app.store, "release/2.1.0").await;

    // Events keep being recorded the whole time, while the page is connected and while not.
    let writer = {
        let store = app.store.clone();
        tokio::spawn(async move {
            for n in 0..150 {
                note(&store, release_id, n).await;
                if n % 3 == 0 {
                    note(&store, other, n).await;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let mut socket = connect(&app, &format!("/releases/{release_id}/live?after=0")).await;
    let mut received = events(&mut socket, 40).await;
    // The connection drops mid-release.
    drop(socket);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let last_id = received.last().unwrap().id;
    let mut socket = connect(
        &app,
        &format!("/releases/{release_id}/live?after={last_id}"),
    )
    .await;
    writer.await.unwrap();
    let expected = all_ids(&app.store, release_id).await;
    received.extend(events(&mut socket, expected.len() - received.len()).await);

    let ids: Vec<i64> = received.iter().map(|event| event.id).collect();
    assert_eq!(ids, expected);
    assert!(received.iter().all(|event| event.release_id == release_id));
    // Nothing more comes: no event was sent twice.
    let extra = tokio::time::timeout(Duration::from_millis(300), socket.next()).await;
    assert!(
        !matches!(extra, Ok(Some(Ok(Message::Text(_))))),
        "{extra:?}"
    );
}

#[tokio::test]
async fn a_page_receives_an_event_recorded_after_it_connected() {
    let app = spawn_dashboard().await;
    let release_id = seed_release(&app.store).await;
    let after = app.store.last_event_id().await.unwrap();
    let mut socket = connect(&app, &format!("/releases/{release_id}/live?after={after}")).await;

    let id = note(&app.store, release_id, 1).await;

    let event = next_event(&mut socket).await;
    assert_eq!(event.id, id);
    assert_eq!(event.kind, "note");
    assert_eq!(event.reason.as_deref(), Some("note 1"));
}

#[tokio::test]
async fn a_committed_event_wakes_the_hub_without_waiting_for_its_poll() {
    // The hub's own poll comes only after an hour: the event can only arrive because the
    // commit woke the hub.
    let app = spawn_dashboard_with_hub(16, Duration::from_secs(3600)).await;
    let release_id = seed_release(&app.store).await;
    let after = app.store.last_event_id().await.unwrap();
    let mut socket = connect(&app, &format!("/releases/{release_id}/live?after={after}")).await;
    let mut list = connect(&app, &format!("/live?after={after}")).await;

    let first = note(&app.store, release_id, 1).await;
    let second = note(&app.store, release_id, 2).await;

    let ids: Vec<i64> = events(&mut socket, 2).await.iter().map(|e| e.id).collect();
    assert_eq!(ids, [first, second]);
    let ids: Vec<i64> = events(&mut list, 2).await.iter().map(|e| e.id).collect();
    assert_eq!(ids, [first, second]);
}

#[tokio::test]
async fn the_list_feed_carries_the_events_of_every_release() {
    let app = spawn_dashboard().await;
    let after = app.store.last_event_id().await.unwrap();
    let mut socket = connect(&app, &format!("/live?after={after}")).await;

    let first = app
        .store
        .create_main_release(&NewMainRelease {
            app_project: "mobile/app".to_string(),
            app_ref: "release/2.1.0".to_string(),
            started_by: "alice".to_string(),
            require_review: false,
        })
        .await
        .unwrap();
    let second = seed_release(&app.store).await;

    let expected = app.store.events_since(after, 1000).await.unwrap();
    let seen = events(&mut socket, expected.len()).await;
    assert_eq!(seen, expected);
    assert!(seen.iter().any(|event| event.release_id == first.id));
    assert!(seen.iter().any(|event| event.release_id == second));
}

#[tokio::test]
async fn a_websocket_for_an_unknown_release_is_refused() {
    let app = spawn_dashboard().await;

    let refused = connect_async(app.ws_url("/releases/999/live")).await;

    assert!(refused.is_err());
}

#[tokio::test]
async fn a_page_that_falls_behind_the_live_feed_catches_up_from_the_log() {
    // A hub whose channel holds 4 events: the poller broadcasts up to 500 at once, so a
    // session falls behind and must read what it missed from the event log.
    let app = spawn_dashboard_with_hub_capacity(4).await;
    let release_id = seed_release(&app.store).await;
    let after = app.store.last_event_id().await.unwrap();
    let mut socket = connect(&app, &format!("/releases/{release_id}/live?after={after}")).await;

    for n in 0..1_000 {
        note(&app.store, release_id, n).await;
    }

    let expected: Vec<i64> = all_ids(&app.store, release_id)
        .await
        .into_iter()
        .filter(|id| *id > after)
        .collect();
    let ids: Vec<i64> = events(&mut socket, expected.len())
        .await
        .iter()
        .map(|event| event.id)
        .collect();
    assert_eq!(ids, expected);
}
