//! A fake Slack Web API for the chat stories, speaking the methods Convoy calls as Slack
//! documents them (https://api.slack.com/methods): `chat.postMessage` and `chat.update` (JSON
//! bodies), `conversations.history`, `conversations.replies` and `users.lookupByEmail` (form
//! bodies), answering `{"ok": false, "error": …}` with HTTP 200 the way Slack does, and 503
//! while it is made unavailable.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use convoy_worker::notify::ChatSettings;
use serde_json::{Value, json};

/// The bot token the fake accepts.
const SLACK_TOKEN: &str = "xoxb-test-bot-token";
/// The one channel it has.
const SLACK_CHANNEL: &str = "C0RELEASES";

#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessage {
    pub ts: String,
    pub text: String,
    /// The message it replies to, for a reply in a thread.
    pub thread_ts: Option<String>,
    pub metadata: Option<Value>,
    /// How many times `chat.update` replaced its text.
    pub edits: u32,
}

#[derive(Default)]
struct State {
    messages: Vec<SlackMessage>,
    /// Every call by method name, in order.
    calls: Vec<String>,
    /// email → user id (`users.lookupByEmail`).
    users: HashMap<String, String>,
    unavailable: bool,
    next_ts: u64,
}

/// A running fake; it serves until the test process ends.
#[derive(Clone)]
pub struct FakeSlack {
    pub api_url: String,
    state: Arc<Mutex<State>>,
}

impl FakeSlack {
    /// The worker's chat settings for this fake, with the token and channel it expects.
    pub fn settings(&self) -> ChatSettings {
        ChatSettings {
            api_url: self.api_url.clone(),
            token: SLACK_TOKEN.to_owned().into(),
            channel: SLACK_CHANNEL.to_owned(),
        }
    }

    /// Starts the fake on a free port, knowing `users` as `(email, user id)`.
    pub fn start(users: &[(&str, &str)]) -> FakeSlack {
        let state = Arc::new(Mutex::new(State {
            users: users
                .iter()
                .map(|(email, id)| ((*email).to_owned(), (*id).to_owned()))
                .collect(),
            next_ts: 1_700_000_000,
            ..State::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let api_url = format!("http://{}/api", listener.local_addr().unwrap());
        super::serve_on_a_thread(listener, web::Data::from(state.clone()), |routes| {
            routes.route("/api/{method}", web::post().to(answer));
        });
        FakeSlack { api_url, state }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes every call answer 503 (or answer again).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.lock().unavailable = unavailable;
    }

    /// Every message of the channel, oldest first (replies included).
    pub fn messages(&self) -> Vec<SlackMessage> {
        self.lock().messages.clone()
    }

    /// How many calls of `method` succeeded.
    pub fn calls(&self, method: &str) -> usize {
        self.lock().calls.iter().filter(|m| *m == method).count()
    }
}

async fn answer(
    request: HttpRequest,
    method: web::Path<String>,
    body: web::Bytes,
    state: web::Data<Mutex<State>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    if state.unavailable {
        return HttpResponse::ServiceUnavailable().body("upstream unavailable");
    }
    let authorized = request
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {SLACK_TOKEN}"));
    if !authorized {
        return refuse("invalid_auth");
    }
    let json_body = request
        .headers()
        .get("Content-Type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let args: Value = if json_body {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    } else {
        let pairs: serde_json::Map<String, Value> = url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Value::Object(pairs)
    };
    let method = method.into_inner();
    // Slack reads JSON only for its write methods.
    let writes = matches!(method.as_str(), "chat.postMessage" | "chat.update");
    if writes != json_body {
        return refuse("invalid_arguments");
    }
    if method != "users.lookupByEmail" && args["channel"] != SLACK_CHANNEL {
        return refuse("channel_not_found");
    }
    let reply = match method.as_str() {
        "chat.postMessage" => post(&mut state, &args),
        "chat.update" => update(&mut state, &args),
        "conversations.history" => Ok(history(&state, &args)),
        "conversations.replies" => replies(&state, &args),
        "users.lookupByEmail" => match args["email"].as_str().and_then(|e| state.users.get(e)) {
            Some(id) => Ok(json!({ "ok": true, "user": { "id": id } })),
            None => Err("users_not_found"),
        },
        _ => Err("unknown_method"),
    };
    match reply {
        Ok(reply) => {
            state.calls.push(method);
            HttpResponse::Ok().json(reply)
        }
        Err(error) => refuse(error),
    }
}

fn refuse(error: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "ok": false, "error": error }))
}

fn post(state: &mut State, args: &Value) -> Result<Value, &'static str> {
    let Some(text) = args["text"].as_str().filter(|t| !t.is_empty()) else {
        return Err("no_text");
    };
    let thread_ts = args["thread_ts"].as_str().map(str::to_owned);
    if let Some(parent) = &thread_ts
        && !state.messages.iter().any(|m| &m.ts == parent)
    {
        return Err("thread_not_found");
    }
    state.next_ts += 1;
    let message = SlackMessage {
        ts: format!("{}.000100", state.next_ts),
        text: text.to_owned(),
        thread_ts,
        metadata: args.get("metadata").cloned(),
        edits: 0,
    };
    let reply = json!({ "ok": true, "channel": SLACK_CHANNEL, "ts": message.ts, "message": message_json(&message, true) });
    state.messages.push(message);
    Ok(reply)
}

fn update(state: &mut State, args: &Value) -> Result<Value, &'static str> {
    let text = args["text"].as_str().ok_or("no_text")?;
    let ts = args["ts"].as_str().ok_or("message_not_found")?;
    let message = state
        .messages
        .iter_mut()
        .find(|m| m.ts == ts)
        .ok_or("message_not_found")?;
    message.text = text.to_owned();
    message.edits += 1;
    Ok(json!({ "ok": true, "channel": SLACK_CHANNEL, "ts": ts, "text": text }))
}

/// Top-level messages, newest first.
fn history(state: &State, args: &Value) -> Value {
    let metadata = args["include_all_metadata"] == "true";
    let messages: Vec<Value> = state
        .messages
        .iter()
        .rev()
        .filter(|m| m.thread_ts.is_none())
        .map(|m| message_json(m, metadata))
        .collect();
    json!({ "ok": true, "messages": messages, "has_more": false })
}

/// The parent, then its replies, oldest first.
fn replies(state: &State, args: &Value) -> Result<Value, &'static str> {
    let ts = args["ts"].as_str().ok_or("thread_not_found")?;
    if !state.messages.iter().any(|m| m.ts == ts) {
        return Err("thread_not_found");
    }
    let metadata = args["include_all_metadata"] == "true";
    let messages: Vec<Value> = state
        .messages
        .iter()
        .filter(|m| m.ts == ts || m.thread_ts.as_deref() == Some(ts))
        .map(|m| message_json(m, metadata))
        .collect();
    Ok(json!({ "ok": true, "messages": messages, "has_more": false }))
}

fn message_json(m: &SlackMessage, with_metadata: bool) -> Value {
    let mut message = json!({ "type": "message", "ts": m.ts, "text": m.text });
    if let Some(thread_ts) = &m.thread_ts {
        message["thread_ts"] = json!(thread_ts);
    }
    if let (true, Some(metadata)) = (with_metadata, &m.metadata) {
        message["metadata"] = metadata.clone();
    }
    message
}
