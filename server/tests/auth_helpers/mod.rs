//! A Convoy whose sign-in goes to the GitLab simulator (as `convoy demo` runs it), with a
//! release of the demo app whose plan is stored, and browsers and tokens for each kind of
//! person.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use convoy_core::{MainReleaseState, PlannedComponent, ReleasePlan};
use convoy_server::{Application, AuthSettings, ServerSettings, SignInSettings};
use convoy_simulator::{AccessLevel, RunningSimulator, Scenario, SimulatorConfig, UserSpec};
use convoy_store::{Change, NewMainRelease, Store};
use convoy_testkit::RecordingJobs;
use secrecy::SecretString;
use serde_json::Value;

pub const SERVICE_TOKEN: &str = "service-token";
pub const APP: &str = "mobile/app";
/// The GitLab group whose Maintainers are release managers (`CONVOY_RELEASE_MANAGER_GROUPS`).
pub const RELEASE_MANAGERS: &str = "mobile/release-managers";

pub struct TrustApp {
    pub address: String,
    pub store: Store,
    pub jobs: Arc<RecordingJobs>,
    pub sim: RunningSimulator,
    pub database_path: std::path::PathBuf,
    /// The OAuth application's secret (for tests that look for it where it must not be).
    pub client_secret: String,
    _dir: tempfile::TempDir,
}

/// The demo's users, plus `omar` (owner of CoreKit only), `ada` (an admin with no project),
/// `gina` (Maintainer of the release managers' group, no project of her own) and `nadia`
/// (signed in, but no member of anything: she cannot read the private app project).
fn scenario() -> Scenario {
    let mut scenario = Scenario::demo();
    scenario.users.push(UserSpec {
        username: "omar".to_string(),
        name: "Omar Ødegård".to_string(),
        public_email: None,
        access: [
            ("mobile/app".to_string(), AccessLevel::Reporter),
            ("ios/core-kit".to_string(), AccessLevel::Developer),
        ]
        .into_iter()
        .collect(),
    });
    scenario.users.push(UserSpec {
        username: "ada".to_string(),
        name: "Ada".to_string(),
        public_email: None,
        access: Default::default(),
    });
    scenario.groups.push(RELEASE_MANAGERS.to_string());
    scenario.users.push(UserSpec {
        username: "gina".to_string(),
        name: "Gina Ghiță".to_string(),
        public_email: None,
        access: [(RELEASE_MANAGERS.to_string(), AccessLevel::Maintainer)]
            .into_iter()
            .collect(),
    });
    scenario.users.push(UserSpec {
        username: "nadia".to_string(),
        name: "Nadia".to_string(),
        public_email: None,
        access: Default::default(),
    });
    scenario
}

/// Every change asks GitLab afresh (no role cache), so a removed member loses the role at once.
pub async fn spawn_trust_app() -> TrustApp {
    spawn_trust_app_with_role_cache(Duration::ZERO).await
}

/// With GitLab's answers trusted for `role_cache`.
pub async fn spawn_trust_app_with_role_cache(role_cache: Duration) -> TrustApp {
    let sim = RunningSimulator::start(SimulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: SERVICE_TOKEN.to_string(),
        scenario: scenario(),
    })
    .await
    .expect("the simulator starts");
    let oauth = sim
        .people()
        .register_oauth_application("http://127.0.0.1/auth/callback");
    let dir = tempfile::tempdir().unwrap();
    let database_path = dir.path().join("convoy.db");
    let store = Store::connect(&format!("sqlite://{}", database_path.display()))
        .await
        .expect("the database opens");
    let jobs = Arc::new(RecordingJobs::default());
    let settings = ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        webhook_secret: SecretString::from("hook-secret"),
        forge_web_url: sim.base_url(),
        limits: Default::default(),
        auth: AuthSettings {
            sign_in: Some(SignInSettings {
                gitlab_url: sim.base_url(),
                client_id: oauth.client_id.clone(),
                client_secret: SecretString::from(oauth.client_secret.clone()),
                service_token: SecretString::from(SERVICE_TOKEN),
            }),
            public_url: None,
            bootstrap_token: None,
            admins: vec!["ada".to_string()],
            release_manager_groups: vec![RELEASE_MANAGERS.to_string()],
            allow_anonymous_reads: false,
            role_cache,
        },
    };
    let application = Application::build(settings, store.clone(), jobs.clone())
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    sim.people()
        .set_redirect_uri(&oauth.client_id, &format!("{address}/auth/callback"))
        .unwrap();
    TrustApp {
        address,
        store,
        jobs,
        client_secret: oauth.client_secret.clone(),
        sim,
        database_path,
        _dir: dir,
    }
}

/// A browser: keeps the cookies Convoy set, follows no redirect by itself.
pub struct Browser {
    http: reqwest::Client,
    cookies: Mutex<HashMap<String, String>>,
    pub csrf_token: String,
    /// The OAuth authorization code GitLab sent back at sign-in.
    pub oauth_code: String,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Mutex::new(HashMap::new()),
            csrf_token: String::new(),
            oauth_code: String::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps (or, when emptied, forgets) every cookie the answer sets; returns the raw headers.
    fn keep_cookies(&self, response: &reqwest::Response) -> Vec<String> {
        let mut raw = Vec::new();
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap().to_string();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let mut cookies = self.cookies.lock().unwrap();
            if value.is_empty() {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_string(), value.to_string());
            }
            raw.push(text);
        }
        raw
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        let response = self
            .http
            .get(url)
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    /// A change with the session cookie and the given CSRF token (`None`: no header at all).
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
        csrf: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, url)
            .header("Cookie", self.cookie_header());
        if let Some(csrf) = csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        self.keep_cookies(&response);
        response
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.lock().unwrap().contains_key(name)
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

/// Signs `username` in through Convoy's sign-in link and the simulator's OAuth pages; returns
/// the browser and the `Set-Cookie` header of the session.
pub async fn sign_in(app: &TrustApp, username: &str) -> (Browser, String) {
    let mut browser = Browser::new();
    let leave = browser.get(&format!("{}/auth/sign-in", app.address)).await;
    assert_eq!(leave.status(), 302);
    let authorize = location(&leave);
    assert!(authorize.starts_with(&format!("{}/oauth/authorize?", app.sim.base_url())));
    let url = url::Url::parse(&authorize).unwrap();
    let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(get("scope").as_deref(), Some("read_user"));
    assert!(get("state").is_some_and(|s| s.len() >= 16));
    let page = browser.get(&authorize).await;
    assert_eq!(page.status(), 200);

    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in &params {
        form.append_pair(name, value);
    }
    form.append_pair("username", username);
    let approved = browser
        .http
        .post(format!("{}/oauth/authorize", app.sim.base_url()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 302);
    let callback = url::Url::parse(&location(&approved)).unwrap();
    browser.oauth_code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("GitLab sends a code back");
    let back = browser.get(&location(&approved)).await;
    assert_eq!(back.status(), 302, "{:?}", back.text().await);
    let set_cookies: Vec<String> = back
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = set_cookies
        .into_iter()
        .find(|c| c.starts_with("convoy_session="))
        .expect("a session cookie");
    let me: Value = browser
        .get(&format!("{}/auth/me", app.address))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], username, "{me}");
    browser.csrf_token = me["csrf_token"].as_str().unwrap().to_string();
    (browser, session)
}

/// A release of the demo app whose plan (CoreKit, NetworkKit, StorageKit, FeatureKit) is
/// stored, waiting to be deployed. Each at a ref of its own (`release/2.1.N`): at most one
/// release per app and ref may be active.
pub async fn waiting_release(store: &Store) -> i64 {
    waiting_release_of(store, APP).await
}

/// The same, of another app project.
pub async fn waiting_release_of(store: &Store, app_project: &str) -> i64 {
    static NEXT_REF: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT_REF.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = store
        .create_main_release(&NewMainRelease {
            app_project: app_project.to_string(),
            app_ref: format!("release/2.1.{n}"),
            started_by: "test".to_string(),
            require_review: false,
        })
        .await
        .unwrap()
        .id;
    for (from, to) in [
        (MainReleaseState::Created, MainReleaseState::Analyzing),
        (MainReleaseState::Analyzing, MainReleaseState::Waiting),
    ] {
        store
            .transition_main_release(id, from, to, &Change::by("convoy"))
            .await
            .unwrap();
        if to == MainReleaseState::Analyzing {
            store.save_plan(id, &plan(), "convoy").await.unwrap();
        }
    }
    id
}

fn plan() -> ReleasePlan {
    let component = |name: &str, project: &str, deps: &[&str]| PlannedComponent {
        name: name.to_string(),
        git_url: format!("http://gitlab.test/{project}.git"),
        branch: "release/0.1.0".to_string(),
        project_path: project.to_string(),
        podspec_path: format!("{name}.podspec"),
        podspec_version: Some("0.1.0".to_string()),
        default_version: "0.1.0".to_string(),
        dependencies: deps.iter().map(|d| d.to_string()).collect(),
    };
    ReleasePlan {
        components: vec![
            component("CoreKit", "ios/core-kit", &[]),
            component("NetworkKit", "ios/network-kit", &["CoreKit"]),
            component("StorageKit", "ios/storage-kit", &["CoreKit"]),
            component(
                "FeatureKit",
                "ios/feature-kit",
                &["NetworkKit", "StorageKit"],
            ),
        ],
    }
}

/// The `error` sentence of an error answer.
pub async fn error_of(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("an error answer is JSON");
    body["error"].as_str().unwrap_or_default().to_string()
}
