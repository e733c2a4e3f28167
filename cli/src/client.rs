//! A small client for Convoy's JSON API, used by `convoy release` and `convoy demo` — the same
//! API the dashboard and any CI script use.
//!
//! Redirects are never followed: the API token would go along to wherever they point. A 3xx
//! answer is an error naming the address to use instead.

use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Deserialize;
use serde_json::json;

/// A release as the API shows it (the fields the terminal needs).
#[derive(Debug, Clone, Deserialize)]
pub struct ReleaseView {
    pub id: i64,
    pub app_project: String,
    pub app_ref: String,
    pub state: String,
    pub reason: Option<String>,
    pub components: Vec<ComponentView>,
}

impl ReleaseView {
    /// True once the release will not move by itself any more.
    pub fn is_finished(&self) -> bool {
        matches!(self.state.as_str(), "success" | "failed" | "canceled")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ComponentView {
    pub name: String,
    pub state: String,
    pub version: Option<String>,
    pub reason: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// GitLab usernames; empty: no owner.
    #[serde(default)]
    pub owners: Vec<String>,
    pub merge_request: Option<LinkView>,
    pub tag: Option<TagView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LinkView {
    /// `None` when GitLab's address was not an `http`/`https` URL.
    pub web_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TagView {
    pub name: String,
}

/// One entry of a release's event log.
#[derive(Debug, Clone, Deserialize)]
pub struct EventView {
    pub id: i64,
    pub component_name: Option<String>,
    pub actor: String,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reason: Option<String>,
    pub created_at: String,
}

#[derive(Deserialize)]
struct EventsPage {
    events: Vec<EventView>,
}

/// Talks to one Convoy server.
pub struct ApiClient {
    base: String,
    http: reqwest::Client,
    /// A personal API token (or the bootstrap admin token); the server records its owner.
    token: Option<String>,
}

impl ApiClient {
    pub fn new(base: &str, token: Option<String>) -> anyhow::Result<ApiClient> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(ApiClient {
            base: base.trim_end_matches('/').to_owned(),
            http,
            token,
        })
    }

    pub async fn create_release(
        &self,
        project: &str,
        git_ref: &str,
        require_review: bool,
    ) -> anyhow::Result<ReleaseView> {
        let body =
            json!({ "app_project": project, "app_ref": git_ref, "require_review": require_review });
        self.send(self.http.post(self.url("/api/v1/releases")).json(&body))
            .await
    }

    pub async fn release(&self, id: i64) -> anyhow::Result<ReleaseView> {
        self.send(self.http.get(self.url(&format!("/api/v1/releases/{id}"))))
            .await
    }

    pub async fn events(&self, id: i64, after: i64) -> anyhow::Result<Vec<EventView>> {
        let url = self.url(&format!(
            "/api/v1/releases/{id}/events?after={after}&limit=500"
        ));
        let page: EventsPage = self.send(self.http.get(url)).await?;
        Ok(page.events)
    }

    pub async fn deploy_all(&self, id: i64) -> anyhow::Result<ReleaseView> {
        self.send(
            self.http
                .post(self.url(&format!("/api/v1/releases/{id}/deploy"))),
        )
        .await
    }

    pub async fn mark_released(
        &self,
        id: i64,
        component: &str,
        reason: &str,
    ) -> anyhow::Result<ReleaseView> {
        let url = self.url(&format!(
            "/api/v1/releases/{id}/components/{component}/released"
        ));
        self.send(self.http.post(url).json(&json!({ "reason": reason })))
            .await
    }

    pub async fn set_version(
        &self,
        id: i64,
        component: &str,
        version: &str,
    ) -> anyhow::Result<ReleaseView> {
        let url = self.url(&format!(
            "/api/v1/releases/{id}/components/{component}/version"
        ));
        self.send(self.http.put(url).json(&json!({ "version": version })))
            .await
    }

    pub async fn retry_component(&self, id: i64, component: &str) -> anyhow::Result<ReleaseView> {
        let url = self.url(&format!(
            "/api/v1/releases/{id}/components/{component}/retry"
        ));
        self.send(self.http.post(url)).await
    }

    pub async fn cancel(&self, id: i64) -> anyhow::Result<ReleaseView> {
        self.send(
            self.http
                .post(self.url(&format!("/api/v1/releases/{id}/cancel"))),
        )
        .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<T> {
        let mut request = request;
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach Convoy at {}", self.base))?;
        let status = response.status();
        if status.is_redirection() {
            bail!("{}", redirect_sentence(&self.base, &response));
        }
        let text = response.text().await?;
        if !status.is_success() {
            let sentence = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or(text);
            bail!("{sentence} (HTTP {status})");
        }
        serde_json::from_str(&text)
            .with_context(|| format!("Convoy answered something unexpected: {text}"))
    }
}

/// "Convoy at … answered 307 to …: set CONVOY_URL (or --server) to that address".
fn redirect_sentence(base: &str, response: &reqwest::Response) -> String {
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| response.url().join(value).ok())
        .map(|mut target| {
            let _ = target.set_username("");
            let _ = target.set_password(None);
            target.set_query(None);
            target.set_fragment(None);
            target.to_string()
        })
        .unwrap_or_else(|| "another address".to_owned());
    format!(
        "Convoy at {base} answered {} to {location}: set CONVOY_URL (or --server) to that address",
        response.status().as_u16()
    )
}

/// Prints every new event of the release until `done` says stop; returns the last view.
pub async fn follow(
    client: &ApiClient,
    id: i64,
    last_event: &mut i64,
    done: impl Fn(&ReleaseView) -> bool,
) -> anyhow::Result<ReleaseView> {
    loop {
        for event in client.events(id, *last_event).await? {
            *last_event = event.id;
            println!("{}", event_line(&event));
        }
        let release = client.release(id).await?;
        if done(&release) {
            // Events recorded between the two reads above.
            for event in client.events(id, *last_event).await? {
                *last_event = event.id;
                println!("{}", event_line(&event));
            }
            return Ok(release);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `12:00:01  NetworkKit   pending → merged   merge request merged   (convoy)`.
pub fn event_line(event: &EventView) -> String {
    let time = event.created_at.get(11..19).unwrap_or(&event.created_at);
    let subject = event.component_name.as_deref().unwrap_or("release");
    let what = match (&event.from_state, &event.to_state) {
        (Some(from), Some(to)) if from != to => format!("{from} → {to}"),
        (_, Some(to)) => to.clone(),
        _ => event.kind.clone(),
    };
    let reason = event
        .reason
        .as_deref()
        .map(|r| format!("  {r}"))
        .unwrap_or_default();
    format!(
        "{time}  {subject:<14} {what:<22}{reason}  ({})",
        event.actor
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A server answering every request with `reply`; it records the head of each request.
    async fn server(reply: String) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = vec![0u8; 16 * 1024];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        (base, seen)
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_and_the_token_stays_home() {
        let (elsewhere, elsewhere_seen) = server(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".to_owned(),
        )
        .await;
        let (base, seen) = server(format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {elsewhere}/api/v1/releases/1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ))
        .await;
        let client = ApiClient::new(&base, Some("api-secret-token".into())).unwrap();
        let error = client.cancel(1).await.unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "Convoy at {base} answered 307 to {elsewhere}/api/v1/releases/1: set CONVOY_URL (or --server) to that address"
            )
        );
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert!(seen.lock().unwrap()[0].contains("api-secret-token"));
        assert!(
            elsewhere_seen.lock().unwrap().is_empty(),
            "the other origin got {:?}",
            elsewhere_seen.lock().unwrap()
        );
    }
}
