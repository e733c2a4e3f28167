//! Trust: who may do what. Sign-in through the simulator's OAuth pages, sessions and CSRF,
//! roles from GitLab memberships, personal API tokens, the audit log, and the security headers.
//! The matrix sends every mutating route as every kind of caller and checks the exact answer,
//! and that a refusal changes nothing.

mod auth_helpers;

use auth_helpers::{
    Browser, RELEASE_MANAGERS, TrustApp, error_of, sign_in, spawn_trust_app,
    spawn_trust_app_with_role_cache, waiting_release, waiting_release_of,
};
use convoy_core::ComponentState;
use convoy_store::Change;
use reqwest::Method;
use serde_json::{Value, json};

/// Every change the API offers, on release `id`'s StorageKit where a component is named.
fn routes(id: i64) -> Vec<(Method, String, Option<Value>, &'static str)> {
    let c = format!("/api/v1/releases/{id}/components/StorageKit");
    vec![
        (
            Method::POST,
            "/api/v1/releases".to_string(),
            Some(json!({"app_project": "mobile/app", "app_ref": "release/2.0.0"})),
            "starting a release of mobile/app needs the release manager role on mobile/app (Maintainer)",
        ),
        (
            Method::POST,
            format!("/api/v1/releases/{id}/deploy"),
            None,
            "deploying release {id} needs the release manager role on mobile/app (Maintainer)",
        ),
        (
            Method::POST,
            format!("/api/v1/releases/{id}/retry"),
            None,
            "retrying release {id} needs the release manager role on mobile/app (Maintainer)",
        ),
        (
            Method::POST,
            format!("/api/v1/releases/{id}/cancel"),
            None,
            "canceling release {id} needs the release manager role on mobile/app (Maintainer)",
        ),
        (
            Method::PUT,
            format!("{c}/version"),
            Some(json!({"version": "0.2.0"})),
            "changing the version of StorageKit needs the release manager role on mobile/app (Maintainer)",
        ),
        (
            Method::POST,
            format!("{c}/deploy"),
            None,
            "deploying StorageKit needs the release manager role on mobile/app (Maintainer)",
        ),
        (
            Method::POST,
            format!("{c}/reviewed"),
            None,
            "marking StorageKit reviewed needs the component owner role on ios/storage-kit (Developer) or the release manager role on mobile/app (Maintainer)",
        ),
        (
            Method::POST,
            format!("{c}/released"),
            Some(json!({"reason": "tagged by hand"})),
            "marking StorageKit released needs the release manager role on mobile/app (Maintainer)",
        ),
        (
            Method::POST,
            format!("{c}/retry"),
            None,
            "retrying StorageKit needs the component owner role on ios/storage-kit (Developer) or the release manager role on mobile/app (Maintainer)",
        ),
        (
            Method::POST,
            format!("{c}/cancel"),
            None,
            "canceling StorageKit needs the release manager role on mobile/app (Maintainer)",
        ),
    ]
}

const NOT_SIGNED_IN: &str = "sign in first: open Convoy in a browser and sign in with GitLab, or send a personal API token as `Authorization: Bearer <token>`";
const BAD_CSRF: &str = "this change did not carry the page's CSRF token (a form on another site cannot make changes here): reload the Convoy page and try again";

/// Everything a refusal must leave as it was: the releases, their states and event logs.
async fn snapshot(app: &TrustApp) -> Vec<String> {
    let (releases, _) = app.store.list_main_releases(1, 100).await.unwrap();
    let mut seen = Vec::new();
    for summary in releases {
        let release = summary.release;
        seen.push(format!("{} {:?}", release.id, release.state));
        for component in app.store.components(release.id).await.unwrap() {
            seen.push(format!(
                "{} {:?} {:?} {}",
                component.name, component.state, component.version, component.reviewed
            ));
        }
        seen.push(format!(
            "{} events",
            app.store.events(release.id, 0, 1000).await.unwrap().len()
        ));
    }
    seen
}

/// A personal API token of `browser`'s user.
async fn token_of(app: &TrustApp, browser: &Browser, read_only: bool) -> (i64, String) {
    let created = browser
        .send(
            Method::POST,
            &format!("{}/api/v1/tokens", app.address),
            Some(json!({"name": "ci", "expires_in_days": 7, "read_only": read_only})),
            Some(&browser.csrf_token),
        )
        .await;
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    (
        body["id"].as_i64().unwrap(),
        body["token"].as_str().unwrap().to_string(),
    )
}

async fn with_token(
    app: &TrustApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_change_is_refused_to_whoever_lacks_the_role_and_nothing_changes() {
    let app = spawn_trust_app().await;
    let id = waiting_release(&app.store).await;
    let (vera, _) = sign_in(&app, "vera").await; // viewer
    let (omar, _) = sign_in(&app, "omar").await; // owner of CoreKit
    let (jose, _) = sign_in(&app, "jose").await; // owner of StorageKit
    let (rosa, _) = sign_in(&app, "rosa").await; // release manager
    let (nadia, _) = sign_in(&app, "nadia").await; // cannot even read the app project
    let (revoked_id, revoked) = token_of(&app, &rosa, false).await;
    let revoke = rosa
        .send(
            Method::DELETE,
            &format!("{}/api/v1/tokens/{revoked_id}", app.address),
            None,
            Some(&rosa.csrf_token),
        )
        .await;
    assert_eq!(revoke.status(), 204);
    let (_, read_only) = token_of(&app, &rosa, true).await;
    // An expired token, as if created 8 days ago for 7 days.
    let expired = "convoy_expired-token-secret";
    let rosa_user = app.store.api_tokens_of(0).await.unwrap(); // nobody has id 0
    assert!(rosa_user.is_empty());
    let rosa_id = app.sim.people().user("rosa").unwrap().id as i64;
    app.store
        .create_api_token(&convoy_store::NewApiToken {
            secret_hash: &convoy_server::auth::secrets::digest(expired),
            user_id: rosa_id,
            name: "old",
            read_only: false,
            expires_at: chrono::Utc::now() - chrono::Duration::days(1),
        })
        .await
        .unwrap();

    let before = snapshot(&app).await;
    let jobs_before = app.jobs.pushed().len();
    for (method, path, body, role_sentence) in routes(id) {
        // The role can also come from the configured group.
        let role_sentence = format!(
            "{}, or Maintainer in the GitLab group {RELEASE_MANAGERS}",
            role_sentence.replace("{id}", &id.to_string())
        );
        let url = format!("{}{path}", app.address);
        let owner_may =
            path.ends_with("/reviewed") || path.ends_with("/retry") && path.contains("components");

        let anonymous = reqwest::Client::new()
            .request(method.clone(), &url)
            .json(&body.clone().unwrap_or(json!({})))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401, "{method} {path} anonymous");
        assert_eq!(error_of(anonymous).await, NOT_SIGNED_IN);

        for (who, browser) in [
            ("viewer", &vera),
            ("owner of CoreKit", &omar),
            ("non-reader", &nadia),
        ] {
            let answer = browser
                .send(
                    method.clone(),
                    &url,
                    body.clone(),
                    Some(&browser.csrf_token),
                )
                .await;
            assert_eq!(answer.status(), 403, "{method} {path} as {who}");
            assert_eq!(
                error_of(answer).await,
                role_sentence,
                "{method} {path} as {who}"
            );
        }
        if !owner_may {
            let answer = jose
                .send(method.clone(), &url, body.clone(), Some(&jose.csrf_token))
                .await;
            assert_eq!(answer.status(), 403, "{method} {path} as the owner");
            assert_eq!(error_of(answer).await, role_sentence);
        }

        // The release manager's browser without the CSRF token, or with another session's.
        for csrf in [None, Some(jose.csrf_token.as_str())] {
            let answer = rosa.send(method.clone(), &url, body.clone(), csrf).await;
            assert_eq!(answer.status(), 403, "{method} {path} CSRF {csrf:?}");
            assert_eq!(error_of(answer).await, BAD_CSRF);
        }

        for (token, sentence) in [
            (
                revoked.as_str(),
                "this API token was revoked: create a new one on the Tokens page",
            ),
            (
                expired,
                "this API token has expired: create a new one on the Tokens page",
            ),
        ] {
            let answer = with_token(&app, token, method.clone(), &path, body.clone()).await;
            assert_eq!(answer.status(), 401, "{method} {path} with {sentence}");
            assert_eq!(error_of(answer).await, sentence);
        }
        let answer = with_token(&app, &read_only, method.clone(), &path, body.clone()).await;
        assert_eq!(answer.status(), 403, "{method} {path} read-only");
        assert!(error_of(answer).await.ends_with("this token is read-only"));
    }
    assert_eq!(
        snapshot(&app).await,
        before,
        "a refusal changed the database"
    );
    assert_eq!(
        app.jobs.pushed().len(),
        jobs_before,
        "a refusal nudged the worker"
    );
    // Nothing reached GitLab either: no merge request was opened anywhere.
    for project in ["ios/core-kit", "ios/storage-kit", "mobile/app"] {
        assert!(
            app.sim.world().merge_requests(project).is_empty(),
            "{project}"
        );
    }
}

#[tokio::test]
async fn the_owner_the_release_manager_and_the_admin_get_past_the_role_check() {
    let app = spawn_trust_app().await;
    let (jose, _) = sign_in(&app, "jose").await;
    let (rosa, _) = sign_in(&app, "rosa").await;
    let (ada, _) = sign_in(&app, "ada").await;
    let (gina, _) = sign_in(&app, "gina").await;
    for (who, browser, owner_only) in [
        ("owner", &jose, true),
        ("release manager", &rosa, false),
        ("release manager through the group", &gina, false),
        ("admin", &ada, false),
    ] {
        for (method, path, body, _) in routes(waiting_release(&app.store).await) {
            let owner_may = path.ends_with("/reviewed")
                || path.ends_with("/retry") && path.contains("components");
            if owner_only && !owner_may {
                continue;
            }
            // A fresh release each time: the state rules may still say no (409), roles do not.
            let answer = browser
                .send(
                    method.clone(),
                    &format!("{}{path}", app.address),
                    body,
                    Some(&browser.csrf_token),
                )
                .await;
            let status = answer.status().as_u16();
            assert!(
                !matches!(status, 401 | 403),
                "{method} {path} as {who}: {status} {}",
                error_of(answer).await
            );
        }
    }
    // What they did is recorded under their GitLab identity, accents kept: a review of the
    // merge request StorageKit has open behind the review gate.
    let id = waiting_release(&app.store).await;
    app.store.set_require_review(id, true).await.unwrap();
    let storage_kit = app
        .store
        .component_by_name(id, "StorageKit")
        .await
        .unwrap()
        .unwrap();
    for (from, to) in [
        (ComponentState::Waiting, ComponentState::Preparing),
        (ComponentState::Preparing, ComponentState::Pending),
    ] {
        let change = Change::by("convoy");
        let moved = app
            .store
            .transition_component(storage_kit.id, from, to, &change);
        assert!(moved.await.unwrap());
    }
    let marked = jose
        .send(
            Method::POST,
            &format!(
                "{}/api/v1/releases/{id}/components/StorageKit/reviewed",
                app.address
            ),
            None,
            Some(&jose.csrf_token),
        )
        .await;
    assert_eq!(marked.status(), 200);
    let audit: Value = jose
        .get(&format!(
            "{}/api/v1/audit?release={id}&person=jose",
            app.address
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 1, "{audit}");
    assert_eq!(audit["entries"][0]["actor"], "José Núñez (@jose)");
    assert_eq!(audit["entries"][0]["action"], "mark reviewed");
    assert_eq!(audit["entries"][0]["status"], 200);
}

#[tokio::test]
async fn sign_in_sets_a_safe_session_cookie_and_sign_out_ends_it() {
    let app = spawn_trust_app().await;
    let (jose, session_cookie) = sign_in(&app, "jose").await;
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(session_cookie.contains("Max-Age=43200"), "{session_cookie}");
    // Served over http, so not Secure (it would never be sent back).
    assert!(!session_cookie.contains("Secure"), "{session_cookie}");
    let me: Value = jose
        .get(&format!("{}/auth/me", app.address))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "José Núñez");

    // A cross-site form can POST but cannot add the CSRF header: refused.
    let forged = jose
        .send(
            Method::POST,
            &format!("{}/auth/sign-out", app.address),
            None,
            None,
        )
        .await;
    assert_eq!(forged.status(), 403);
    let out = jose
        .send(
            Method::POST,
            &format!("{}/auth/sign-out", app.address),
            None,
            Some(&jose.csrf_token),
        )
        .await;
    assert_eq!(out.status(), 303);
    assert!(!jose.has_cookie("convoy_session"));
    let page = jose.get(&format!("{}/", app.address)).await;
    assert_eq!(
        page.status(),
        302,
        "a signed-out browser is sent to sign in"
    );
    assert_eq!(page.headers()["location"], "/auth/sign-in");
    let api = jose.get(&format!("{}/api/v1/releases", app.address)).await;
    assert_eq!(api.status(), 401);
}

#[tokio::test]
async fn a_callback_with_a_state_from_another_browser_is_refused() {
    let app = spawn_trust_app().await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser
        .get(format!(
            "{}/auth/callback?code=abc&state=forged",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.headers().get("set-cookie").is_none());
    assert!(answer.text().await.unwrap().contains("start again"));
}

#[tokio::test]
async fn someone_removed_from_the_app_project_loses_the_release_manager_role() {
    let app = spawn_trust_app().await;
    let (rosa, _) = sign_in(&app, "rosa").await;
    let id = waiting_release(&app.store).await;
    app.sim
        .people()
        .set_access_level("mobile/app", "rosa", None)
        .unwrap();
    let answer = rosa
        .send(
            Method::POST,
            &format!("{}/api/v1/releases/{id}/cancel", app.address),
            None,
            Some(&rosa.csrf_token),
        )
        .await;
    assert_eq!(answer.status(), 403);
    assert_eq!(
        error_of(answer).await,
        format!(
            "canceling release {id} needs the release manager role on mobile/app (Maintainer), or Maintainer in the GitLab group {RELEASE_MANAGERS}"
        )
    );
    // The refusal is in the audit log.
    let audit: Value = rosa
        .get(&format!(
            "{}/api/v1/audit?person=rosa&action=cancel%20release",
            app.address
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 1, "{audit}");
    assert_eq!(audit["entries"][0]["status"], 403);
    assert_eq!(audit["entries"][0]["release_id"], id);
    assert!(
        audit["entries"][0]["via"]
            .as_str()
            .unwrap()
            .starts_with("session ")
    );
}

#[tokio::test]
async fn a_release_manager_through_the_group_loses_the_role_when_removed_from_it() {
    let app = spawn_trust_app().await;
    let (gina, _) = sign_in(&app, "gina").await;
    let cancel = |id: i64| {
        let url = format!("{}/api/v1/releases/{id}/cancel", app.address);
        let gina = &gina;
        async move {
            gina.send(Method::POST, &url, None, Some(&gina.csrf_token))
                .await
        }
    };
    // Maintainer of the group, member of no project: release manager all the same.
    let answer = cancel(waiting_release(&app.store).await).await;
    assert_eq!(answer.status(), 200, "{}", error_of(answer).await);

    // Developer of the group is not enough, and neither is no membership.
    for level in [Some(convoy_simulator::AccessLevel::Developer), None] {
        app.sim
            .people()
            .set_access_level(RELEASE_MANAGERS, "gina", level)
            .unwrap();
        let id = waiting_release(&app.store).await;
        let answer = cancel(id).await;
        assert_eq!(answer.status(), 403, "{level:?}");
        assert_eq!(
            error_of(answer).await,
            format!(
                "canceling release {id} needs the release manager role on mobile/app (Maintainer), or Maintainer in the GitLab group {RELEASE_MANAGERS}"
            )
        );
    }
}

#[tokio::test]
async fn a_personal_token_is_shown_once_stored_hashed_and_acts_as_its_owner() {
    let app = spawn_trust_app().await;
    let (rosa, _) = sign_in(&app, "rosa").await;
    let (token_id, token) = token_of(&app, &rosa, false).await;
    assert!(token.starts_with("convoy_"));

    let listed: Value = rosa
        .get(&format!("{}/api/v1/tokens", app.address))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["tokens"][0]["id"], token_id);
    assert!(
        !listed.to_string().contains(&token),
        "a listing shows no secret"
    );

    // The table holds a digest, never the token.
    use sqlx::Connection;
    let mut db =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", app.database_path.display()))
            .await
            .unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT secret_hash, name FROM api_tokens")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].0, token);
    assert!(!rows[0].0.contains(&token[7..]));
    assert_eq!(rows[0].0, convoy_server::auth::secrets::digest(&token));

    let started = with_token(
        &app,
        &token,
        Method::POST,
        "/api/v1/releases",
        Some(json!({"app_project": "mobile/app", "app_ref": "release/2.0.0"})),
    )
    .await;
    assert_eq!(started.status(), 201);
    let body: Value = started.json().await.unwrap();
    assert_eq!(body["started_by"], "Rosa Martínez (@rosa)");
    let audit: Value = rosa
        .get(&format!(
            "{}/api/v1/audit?action=start%20release&person=rosa",
            app.address
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["entries"][0]["via"], format!("token {token_id} (ci)"));
}

#[tokio::test]
async fn a_foreign_host_is_refused_and_pages_carry_security_headers() {
    let app = spawn_trust_app().await;
    let client = reqwest::Client::new();
    let rebound = client
        .get(format!("{}/auth/me", app.address))
        .header("Host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 421);

    let page = client
        .get(format!("{}/auth/me", app.address))
        .send()
        .await
        .unwrap();
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert!(headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_live_feed_answers_convoy_pages_only() {
    use tokio_tungstenite::connect_async;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = spawn_trust_app().await;
    let (browser, session) = sign_in(&app, "vera").await;
    let _ = browser;
    let cookie = session.split(';').next().unwrap().to_string();
    let ws_url = format!("{}/live", app.address.replace("http://", "ws://"));
    let request_from = |origin: &str| {
        let mut request = ws_url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
        request
            .headers_mut()
            .insert("Cookie", cookie.parse().unwrap());
        request
    };
    let foreign = connect_async(request_from("http://attacker.example")).await;
    match foreign {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("a foreign origin was let in: {other:?}"),
    }
    let own = connect_async(request_from(&app.address)).await;
    assert!(own.is_ok(), "{own:?}");
}

const NOT_A_READER: &str = "seeing the releases of mobile/app needs the viewer role on mobile/app (Guest, or a public or internal project)";

/// The ids of the releases a listing shows.
async fn listed_ids(browser: &Browser, url: &str) -> Vec<i64> {
    let listed: Value = browser.get(url).await.json().await.unwrap();
    listed["releases"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn someone_who_cannot_read_the_app_project_sees_none_of_its_releases() {
    let app = spawn_trust_app().await;
    let id = waiting_release(&app.store).await;
    // ios/storage-kit is private and vera is no member of it.
    let other = waiting_release_of(&app.store, "ios/storage-kit").await;
    let (nadia, _) = sign_in(&app, "nadia").await;
    let (vera, _) = sign_in(&app, "vera").await;
    let (ada, _) = sign_in(&app, "ada").await;
    let base = &app.address;

    // The list leaves out what the person may not read; asking for that app is refused.
    assert!(
        listed_ids(&nadia, &format!("{base}/api/v1/releases"))
            .await
            .is_empty()
    );
    assert_eq!(
        listed_ids(&vera, &format!("{base}/api/v1/releases")).await,
        [id]
    );
    assert_eq!(
        listed_ids(&ada, &format!("{base}/api/v1/releases")).await,
        [other, id],
        "an admin reads every app"
    );
    let filtered = nadia
        .get(&format!("{base}/api/v1/releases?app_project=mobile/app"))
        .await;
    assert_eq!(filtered.status(), 403);
    assert_eq!(error_of(filtered).await, NOT_A_READER);
    let listed: Value = vera
        .get(&format!("{base}/api/v1/releases?app_project=mobile/app"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1, "{listed}");

    for path in [
        format!("/api/v1/releases/{id}"),
        format!("/api/v1/releases/{id}/events"),
        format!("/api/v1/releases/{id}/permissions"),
    ] {
        let refused = nadia.get(&format!("{base}{path}")).await;
        assert_eq!(refused.status(), 403, "{path}");
        assert_eq!(error_of(refused).await, NOT_A_READER, "{path}");
        let read = vera.get(&format!("{base}{path}")).await;
        assert_eq!(read.status(), 200, "{path} as the viewer");
        let anonymous = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(anonymous.status(), 401, "{path} anonymous");
    }

    // The pages: the release's page says why, the list does not show it.
    let page = nadia.get(&format!("{base}/releases/{id}")).await;
    assert_eq!(page.status(), 403);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("needs the viewer role on mobile"),
        "the page names the role"
    );
    assert_eq!(
        vera.get(&format!("{base}/releases/{id}")).await.status(),
        200
    );
    let list = nadia.get(&format!("{base}/")).await;
    assert_eq!(list.status(), 200);
    assert!(
        !list
            .text()
            .await
            .unwrap()
            .contains(&format!("/releases/{id}\""))
    );
    let list = vera.get(&format!("{base}/")).await.text().await.unwrap();
    assert!(list.contains(&format!("/releases/{id}\"")), "{list}");
    assert!(!list.contains(&format!("/releases/{other}\"")), "{list}");

    // A project made internal is readable by everyone signed in.
    app.sim
        .people()
        .set_visibility("mobile/app", convoy_simulator::Visibility::Internal)
        .unwrap();
    assert_eq!(
        listed_ids(&nadia, &format!("{base}/api/v1/releases")).await,
        [id]
    );
}

#[tokio::test]
async fn the_live_feeds_carry_only_the_releases_the_person_may_read() {
    use tokio_tungstenite::connect_async;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = spawn_trust_app().await;
    let readable = waiting_release(&app.store).await;
    let hidden = waiting_release_of(&app.store, "ios/storage-kit").await;
    let (_, session) = sign_in(&app, "vera").await;
    let cookie = session.split(';').next().unwrap().to_string();
    let request = |path: &str| {
        let url = format!("{}{path}", app.address.replace("http://", "ws://"));
        let mut request = url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Cookie", cookie.parse().unwrap());
        request
    };

    // The feed of a release she may not read is refused outright.
    match connect_async(request(&format!("/releases/{hidden}/live"))).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("the feed of an unreadable release opened: {other:?}"),
    }

    // The feed of every release: from the log, then live. Each time the hidden release's
    // event is recorded before the readable one's, so receiving the readable one proves the
    // hidden one was left out (events are sent in id order).
    let (mut socket, _) = connect_async(request("/live?after=0")).await.unwrap();
    let mut received = Vec::new();
    let last = |id: i64| {
        let store = app.store.clone();
        async move { store.events(id, 0, 1000).await.unwrap().last().unwrap().id }
    };
    receive_until(&mut socket, &mut received, last(readable).await).await;
    for id in [hidden, readable] {
        app.store
            .transition_main_release(
                id,
                convoy_core::MainReleaseState::Waiting,
                convoy_core::MainReleaseState::Canceled,
                &convoy_store::Change::by("convoy"),
            )
            .await
            .unwrap();
    }
    receive_until(&mut socket, &mut received, last(readable).await).await;
    assert!(received.contains(&readable));
    assert!(
        !received.contains(&hidden),
        "an event of a release she may not read reached her: {received:?}"
    );
}

/// Reads the feed until event `last` arrives (30 s hang guard), noting each event's release.
async fn receive_until<S>(socket: &mut S, received: &mut Vec<i64>, last: i64)
where
    S: futures::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use futures::StreamExt;
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            let message = socket.next().await.expect("the feed is open").unwrap();
            let Ok(text) = message.to_text() else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let event = &value["event"];
            received.push(event["release_id"].as_i64().unwrap());
            if event["id"].as_i64() == Some(last) {
                return;
            }
        }
    })
    .await
    .expect("the readable release's event arrives");
}

#[tokio::test]
async fn a_page_load_asks_gitlab_once_per_app_not_once_per_release() {
    let app = spawn_trust_app_with_role_cache(std::time::Duration::from_secs(300)).await;
    for _ in 0..5 {
        waiting_release(&app.store).await;
    }
    let (vera, _) = sign_in(&app, "vera").await;
    let before = app.sim.world().api_requests().total();
    let page = vera.get(&format!("{}/", app.address)).await;
    assert_eq!(page.status(), 200);
    let first = app.sim.world().api_requests().total() - before;
    // The project's visibility, vera's membership, and at most the release managers' group.
    assert!(
        (1..=3).contains(&first),
        "five releases of one app cost {first} GitLab requests"
    );
    let api = vera.get(&format!("{}/api/v1/releases", app.address)).await;
    assert_eq!(api.status(), 200);
    let page = vera.get(&format!("{}/", app.address)).await;
    assert_eq!(page.status(), 200);
    assert_eq!(
        app.sim.world().api_requests().total() - before,
        first,
        "the next loads are answered from the role cache"
    );
}

#[tokio::test]
async fn the_audit_log_is_read_by_admins_release_managers_and_each_person_for_themselves() {
    let app = spawn_trust_app().await;
    let id = waiting_release(&app.store).await;
    let (jose, _) = sign_in(&app, "jose").await;
    let (rosa, _) = sign_in(&app, "rosa").await;
    let (ada, _) = sign_in(&app, "ada").await;
    let base = &app.address;
    let whole = "reading the whole audit log needs the admin role (an admin named in Convoy's configuration): ask for one release (release=N, as its release manager) or for your own attempts (person=your GitLab username)";
    for (who, browser, query, status) in [
        ("the admin", &ada, String::new(), 200),
        ("a release manager", &rosa, String::new(), 403),
        ("a release manager", &rosa, format!("release={id}"), 200),
        ("an owner", &jose, format!("release={id}"), 403),
        ("an owner", &jose, "person=jose".to_string(), 200),
        ("an owner", &jose, "person=rosa".to_string(), 403),
    ] {
        let answer = browser.get(&format!("{base}/api/v1/audit?{query}")).await;
        assert_eq!(answer.status(), status, "{who} ?{query}");
        if status == 403 && query.is_empty() {
            assert_eq!(error_of(answer).await, whole);
        }
    }
    let refused = jose.get(&format!("{base}/api/v1/audit?release={id}")).await;
    assert_eq!(
        error_of(refused).await,
        format!(
            "reading the audit log of this release needs the release manager role on mobile/app (Maintainer), or Maintainer in the GitLab group {RELEASE_MANAGERS}"
        )
    );
    let anonymous = reqwest::get(format!("{base}/api/v1/audit?person=jose"))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // The page shows a person who names nobody their own attempts, not everyone's.
    let page = jose.get(&format!("{base}/audit")).await;
    assert_eq!(page.status(), 200);
    assert_eq!(ada.get(&format!("{base}/audit")).await.status(), 200);
    assert_eq!(
        jose.get(&format!("{base}/audit?release={id}"))
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn an_admin_lists_and_revokes_anyones_token_and_nobody_else_may() {
    let app = spawn_trust_app().await;
    let (rosa, _) = sign_in(&app, "rosa").await;
    let (jose, _) = sign_in(&app, "jose").await;
    let (ada, _) = sign_in(&app, "ada").await;
    let (rosa_token_id, rosa_token) = token_of(&app, &rosa, false).await;
    let (jose_token_id, jose_token) = token_of(&app, &jose, true).await;
    let base = &app.address;
    // Jose's token is used once: the list says when.
    let used = with_token(&app, &jose_token, Method::GET, "/api/v1/releases", None).await;
    assert_eq!(used.status(), 200);

    let listed = ada.get(&format!("{base}/api/v1/admin/tokens")).await;
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().await.unwrap();
    let tokens = listed["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{listed}");
    assert_eq!(tokens[0]["id"], jose_token_id);
    assert_eq!(tokens[0]["owner"]["username"], "jose");
    assert_eq!(tokens[0]["read_only"], true);
    assert!(tokens[0]["last_used_at"].is_string(), "{listed}");
    assert_eq!(tokens[1]["owner"]["username"], "rosa");
    assert!(tokens[1]["last_used_at"].is_null(), "{listed}");
    assert!(tokens[1]["revoked_at"].is_null());
    let text = listed.to_string();
    for secret in [&rosa_token, &jose_token] {
        assert!(!text.contains(secret.as_str()), "a listing shows a secret");
        let digest = convoy_server::auth::secrets::digest(secret);
        assert!(!text.contains(&digest), "a listing shows a digest");
    }

    // Nobody else may list or revoke: the release manager and the token's own owner included.
    let sentence = "listing every person's API tokens needs the admin role (an admin named in Convoy's configuration)";
    for browser in [&rosa, &jose] {
        let refused = browser.get(&format!("{base}/api/v1/admin/tokens")).await;
        assert_eq!(refused.status(), 403);
        assert_eq!(error_of(refused).await, sentence);
        let page = browser.get(&format!("{base}/admin/tokens")).await;
        assert_eq!(page.status(), 403);
    }
    assert_eq!(ada.get(&format!("{base}/admin/tokens")).await.status(), 200);
    let refused = jose
        .send(
            Method::DELETE,
            &format!("{base}/api/v1/admin/tokens/{rosa_token_id}"),
            None,
            Some(&jose.csrf_token),
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        error_of(refused).await,
        format!(
            "revoking token {rosa_token_id} of another person needs the admin role (an admin named in Convoy's configuration)"
        )
    );
    let still = with_token(&app, &rosa_token, Method::GET, "/api/v1/releases", None).await;
    assert_eq!(still.status(), 200, "a refused revocation revoked nothing");

    // The admin revokes Rosa's token: it stops working, and the audit log says who did it.
    let revoked = ada
        .send(
            Method::DELETE,
            &format!("{base}/api/v1/admin/tokens/{rosa_token_id}"),
            None,
            Some(&ada.csrf_token),
        )
        .await;
    assert_eq!(revoked.status(), 204);
    let gone = with_token(&app, &rosa_token, Method::GET, "/api/v1/releases", None).await;
    assert_eq!(gone.status(), 401);
    let again = ada
        .send(
            Method::DELETE,
            &format!("{base}/api/v1/admin/tokens/{rosa_token_id}"),
            None,
            Some(&ada.csrf_token),
        )
        .await;
    assert_eq!(again.status(), 404);
    let audit: Value = ada
        .get(&format!(
            "{base}/api/v1/audit?action=revoke%20someone%27s%20token"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 3, "{audit}");
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries[1]["actor"], "Ada (@ada)");
    assert_eq!(entries[1]["status"], 204);
    assert_eq!(
        entries[1]["path"],
        format!("/api/v1/admin/tokens/{rosa_token_id}")
    );
    assert_eq!(entries[2]["actor"], "José Núñez (@jose)");
    assert_eq!(entries[2]["status"], 403);
}
