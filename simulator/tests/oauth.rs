//! The simulator as GitLab's OAuth 2 provider: the sign-in page, the authorization code flow
//! with PKCE, `/api/v4/user` for the token, and project memberships.

use convoy_simulator::{AccessLevel, RunningSimulator, Scenario, SimulatorConfig};
use serde_json::Value;

const TOKEN: &str = "service-token";
const REDIRECT: &str = "http://convoy.test/auth/callback";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

async fn simulator() -> RunningSimulator {
    RunningSimulator::start(SimulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.to_string(),
        scenario: Scenario::demo(),
    })
    .await
    .expect("the simulator starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

fn challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

/// Signs `username` in through the pages and returns the code GitLab redirected with.
async fn code_for(sim: &RunningSimulator, client_id: &str, username: &str) -> String {
    let challenge = challenge(VERIFIER);
    let params = [
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("state", "the-state"),
        ("scope", "read_user"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let page = client()
        .get(format!(
            "{}/oauth/authorize?{}",
            sim.base_url(),
            form(&params)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("José Núñez (@jose)"), "{html}");
    assert!(html.contains("value=\"rosa\""), "{html}");

    let mut approve: Vec<(&str, &str)> = params.to_vec();
    approve.push(("username", username));
    let answer = client()
        .post(format!("{}/oauth/authorize", sim.base_url()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&approve))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT), "{location}");
    let query: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "the-state");
    query["code"].clone()
}

async fn exchange(
    sim: &RunningSimulator,
    client_id: &str,
    secret: &str,
    code: &str,
    verifier: &str,
) -> (u16, Value) {
    let answer = client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("client_secret", secret),
            ("code_verifier", verifier),
        ]))
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

#[tokio::test]
async fn a_user_signs_in_and_the_token_reads_their_profile() {
    let sim = simulator().await;
    let app = sim.people().register_oauth_application(REDIRECT);
    let code = code_for(&sim, &app.client_id, "jose").await;

    let (status, token) = exchange(&sim, &app.client_id, &app.client_secret, &code, VERIFIER).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 7200);
    assert_eq!(token["scope"], "read_user");
    let access_token = token["access_token"].as_str().unwrap();
    assert_eq!(access_token.len(), 64);

    let user: Value = client()
        .get(format!("{}/api/v4/user", sim.base_url()))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["username"], "jose");
    assert_eq!(user["name"], "José Núñez");
    assert_eq!(user["id"], sim.people().user("jose").unwrap().id);

    // read_user does not open the rest of the API.
    let projects = client()
        .get(format!("{}/api/v4/projects", sim.base_url()))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(projects.status(), 403);
    let body: Value = projects.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
    sim.stop().await;
}

#[tokio::test]
async fn a_wrong_verifier_or_a_reused_code_is_an_invalid_grant() {
    let sim = simulator().await;
    let app = sim.people().register_oauth_application(REDIRECT);
    let code = code_for(&sim, &app.client_id, "rosa").await;
    let (status, body) = exchange(
        &sim,
        &app.client_id,
        &app.client_secret,
        &code,
        "not-the-verifier",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let code = code_for(&sim, &app.client_id, "rosa").await;
    let (status, _) = exchange(&sim, &app.client_id, &app.client_secret, &code, VERIFIER).await;
    assert_eq!(status, 200);
    let (status, body) = exchange(&sim, &app.client_id, &app.client_secret, &code, VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let code = code_for(&sim, &app.client_id, "rosa").await;
    let (status, body) = exchange(&sim, &app.client_id, "wrong-secret", &code, VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    sim.stop().await;
}

#[tokio::test]
async fn an_unknown_client_or_redirect_uri_gets_an_error_page_not_a_redirect() {
    let sim = simulator().await;
    let app = sim.people().register_oauth_application(REDIRECT);
    for (client_id, redirect) in [
        ("unknown", REDIRECT),
        (app.client_id.as_str(), "http://evil.test/steal"),
    ] {
        let answer = client()
            .get(format!(
                "{}/oauth/authorize?{}",
                sim.base_url(),
                form(&[
                    ("client_id", client_id),
                    ("redirect_uri", redirect),
                    ("response_type", "code"),
                ])
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{client_id} {redirect}");
        assert!(answer.headers().get("location").is_none());
    }
    sim.stop().await;
}

#[tokio::test]
async fn members_all_answers_the_access_level_or_404() {
    let sim = simulator().await;
    let jose = sim.people().user("jose").unwrap();
    let member = |project: &str| {
        let url = format!(
            "{}/api/v4/projects/{}/members/all/{}",
            sim.base_url(),
            project.replace('/', "%2F"),
            jose.id
        );
        async move {
            let answer = client()
                .get(url)
                .header("PRIVATE-TOKEN", TOKEN)
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = member("ios/storage-kit").await;
    assert_eq!((status, body["access_level"].as_u64()), (200, Some(30)));
    assert_eq!(body["username"], "jose");
    let (status, body) = member("ios/core-kit").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("404 Not found"))
    );

    sim.people()
        .set_access_level("ios/storage-kit", "jose", None)
        .unwrap();
    let (status, _) = member("ios/storage-kit").await;
    assert_eq!(status, 404);
    sim.people()
        .set_access_level("ios/core-kit", "jose", Some(AccessLevel::Maintainer))
        .unwrap();
    let (status, body) = member("ios/core-kit").await;
    assert_eq!((status, body["access_level"].as_u64()), (200, Some(40)));

    // Without the service token the endpoint is closed.
    let answer = client()
        .get(format!(
            "{}/api/v4/projects/1/members/all/{}",
            sim.base_url(),
            jose.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    sim.stop().await;
}

/// `GET /groups/:id/members/all/:user_id` (`lib/api/members.rb`): members of a group and of its
/// parent groups; a group's members are members of its projects too; an unknown group is
/// `404 Group Not Found`.
#[tokio::test]
async fn group_members_count_inherited_memberships_and_reach_the_groups_projects() {
    let mut scenario = Scenario::demo();
    scenario.groups.push("mobile/release-managers".to_string());
    let sim = RunningSimulator::start(SimulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.to_string(),
        scenario,
    })
    .await
    .unwrap();
    let vera = sim.people().user("vera").unwrap();
    let ask = |source: &str, path: &str| {
        let url = format!(
            "{}/api/v4/{source}/{}/members/all/{}",
            sim.base_url(),
            path.replace('/', "%2F"),
            vera.id
        );
        async move {
            let answer = client()
                .get(url)
                .header("PRIVATE-TOKEN", TOKEN)
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = ask("groups", "mobile/release-managers").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("404 Not found"))
    );

    sim.people()
        .set_access_level("mobile", "vera", Some(AccessLevel::Maintainer))
        .unwrap();
    // Inherited from the parent group `mobile`.
    let (status, body) = ask("groups", "mobile/release-managers").await;
    assert_eq!((status, body["access_level"].as_u64()), (200, Some(40)));
    assert_eq!(body["username"], "vera");
    // The project `mobile/app` lives in `mobile`: the highest membership counts (40 > 20).
    let (status, body) = ask("projects", "mobile/app").await;
    assert_eq!((status, body["access_level"].as_u64()), (200, Some(40)));
    assert_eq!(
        sim.people()
            .group_access_level("mobile/release-managers", "vera"),
        Some(AccessLevel::Maintainer)
    );

    let (status, body) = ask("groups", "nobody/here").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("404 Group Not Found"))
    );
    sim.stop().await;
}

/// `visibility` in `GET /projects/:id` is the project's (`private` by default).
#[tokio::test]
async fn a_projects_visibility_is_private_by_default_and_can_change() {
    let sim = simulator().await;
    let visibility = || async {
        let body: Value = client()
            .get(format!("{}/api/v4/projects/mobile%2Fapp", sim.base_url()))
            .header("PRIVATE-TOKEN", TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["visibility"].as_str().unwrap().to_string()
    };
    assert_eq!(visibility().await, "private");
    sim.people()
        .set_visibility("mobile/app", convoy_simulator::Visibility::Internal)
        .unwrap();
    assert_eq!(visibility().await, "internal");
    sim.stop().await;
}
