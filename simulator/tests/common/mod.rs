//! Helpers shared by the integration tests: a simulator on a free port with a small scenario,
//! an authenticated HTTP client, and a local webhook receiver.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use convoy_simulator::{RunningSimulator, Scenario, SimulatorConfig};
use serde_json::Value;

pub const TOKEN: &str = "test-token";

/// Two pods and a plain project:
/// - group/core publishes CoreKit (no dependency);
/// - group/net publishes NetworkKit, which needs CoreKit ~> 1.0 (not released at start);
/// - group/plain has no CI config.
pub const SCENARIO: &str = r#"
pipeline_duration_ms: 100
webhooks: { max_attempts: 3, retry_backoff_ms: 50, timeout_ms: 2000 }
projects:
  - path: group/core
    branches:
      - name: main
        files:
          .gitlab-ci.yml: &ci |
            stages: [lint, publish]
            lint:
              stage: lint
              script: pod lib lint
            publish:
              stage: publish
              script: pod repo push
              only: [tags]
          CoreKit.podspec: |
            Pod::Spec.new do |s|
              s.name    = 'CoreKit'
              s.version = '1.0.0'
            end
          docs/guide/intro.md: "intro\n"
          docs/readme.md: "docs\n"
      - name: release/1.0.0
        from: main
        files:
          Sources/Core.swift: "struct Core {}\n"
  - path: group/net
    branches:
      - name: main
        files:
          .gitlab-ci.yml: *ci
          NetworkKit.podspec: |
            Pod::Spec.new do |s|
              s.name    = 'NetworkKit'
              s.version = '1.0.0'
              s.dependency 'CoreKit', '~> 1.0'
              s.dependency 'Alamofire', '~> 5.0'
            end
      - name: release/1.0.0
        from: main
        files:
          Sources/Net.swift: "struct Net {}\n"
  - path: group/plain
    branches:
      - name: main
        files:
          README.md: "plain\n"
      - name: feature
        from: main
        files:
          README.md: "plain, improved\n"
"#;

pub async fn start() -> RunningSimulator {
    start_with(Scenario::from_yaml(SCENARIO).expect("the test scenario parses")).await
}

/// The test scenario with pipelines slow enough (1 s) that a call made right after creating
/// one surely finds it running, even on a loaded machine.
pub async fn start_slow() -> RunningSimulator {
    let mut scenario = Scenario::from_yaml(SCENARIO).expect("the test scenario parses");
    scenario.pipeline_duration_ms = 1_000;
    start_with(scenario).await
}

pub async fn start_with(scenario: Scenario) -> RunningSimulator {
    RunningSimulator::start(SimulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.to_string(),
        scenario,
    })
    .await
    .expect("the simulator starts")
}

/// A client for `{base}/api/v4` that sends the token.
pub struct Api {
    pub base: String,
    client: reqwest::Client,
}

impl Api {
    pub fn new(simulator: &RunningSimulator) -> Api {
        Api {
            base: format!("{}/api/v4", simulator.base_url()),
            client: reqwest::Client::new(),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("PRIVATE-TOKEN", TOKEN)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.request(reqwest::Method::POST, path).json(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.request(reqwest::Method::PUT, path).json(&body)).await
    }

    /// A form-encoded body, as the `gitlab` crate sends.
    pub async fn put_form(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        send(
            self.request(reqwest::Method::PUT, path)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    /// Polls a GET until `check` holds (or gives up after `seconds`); returns the last body.
    pub async fn wait_for(
        &self,
        path: &str,
        seconds: u64,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let (_, body) = self.get(path).await;
            if check(&body) || std::time::Instant::now() > deadline {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the simulator answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// One request a webhook receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A local HTTP server recording webhook POSTs; it answers 500 to the first `failures` requests.
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start(failures: usize) -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let store = received.clone();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let counter = Arc::new(Mutex::new(0usize));
                actix_web::HttpServer::new(move || {
                    let store = store.clone();
                    let counter = counter.clone();
                    actix_web::App::new().default_service(actix_web::web::to(
                        move |request: actix_web::HttpRequest, body: actix_web::web::Bytes| {
                            let store = store.clone();
                            let counter = counter.clone();
                            async move {
                                let mut count = counter.lock().unwrap();
                                *count += 1;
                                if *count <= failures {
                                    return actix_web::HttpResponse::InternalServerError().finish();
                                }
                                let headers = request
                                    .headers()
                                    .iter()
                                    .map(|(k, v)| {
                                        (k.to_string(), v.to_str().unwrap_or("").to_string())
                                    })
                                    .collect();
                                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                                store.lock().unwrap().push(Received { headers, body });
                                actix_web::HttpResponse::Ok().finish()
                            }
                        },
                    ))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .unwrap()
                .run()
                .await
                .unwrap();
            });
        });
        Receiver { url, received }
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `check` holds over what was received (or `seconds` pass).
    pub async fn wait_for(
        &self,
        seconds: u64,
        check: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let all = self.all();
            if check(&all) || std::time::Instant::now() > deadline {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

pub fn enc(path: &str) -> String {
    path.replace('/', "%2F")
}
