//! A webhook receiver for the notification stories: it records every request it gets (headers
//! and body) and answers 500 to the first ones it is told to refuse, then 200.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub event: Option<String>,
    pub event_id: Option<String>,
    pub signature: Option<String>,
    pub body: String,
    /// Whether the receiver answered 200 (else 500).
    pub accepted: bool,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    refuse_first: usize,
}

/// A running receiver; it serves until the test process ends.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    /// Starts a receiver that answers 500 to its first `refuse_first` requests.
    pub fn start(refuse_first: usize) -> Receiver {
        let state = Arc::new(Mutex::new(State {
            refuse_first,
            ..State::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}/convoy-events", listener.local_addr().unwrap());
        super::serve_on_a_thread(listener, web::Data::from(state.clone()), |routes| {
            routes.route("/convoy-events", web::post().to(receive));
        });
        Receiver { url, state }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .received
            .clone()
    }
}

async fn receive(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<State>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let accepted = state.received.len() >= state.refuse_first;
    state.received.push(Received {
        event: header("X-Convoy-Event"),
        event_id: header("X-Convoy-Event-Id"),
        signature: header("X-Convoy-Signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
        accepted,
    });
    if accepted {
        HttpResponse::Ok().finish()
    } else {
        HttpResponse::InternalServerError().finish()
    }
}
