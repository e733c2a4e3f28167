//! Authentication, projects, tree, branches, compare and pagination over HTTP.

mod common;

use common::{Api, TOKEN, enc, send, start};
use serde_json::json;

#[tokio::test]
async fn requests_without_a_valid_token_get_401_with_gitlabs_body() {
    let simulator = start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/v4/projects/1", simulator.base_url());

    let (status, body) = send(client.get(&url)).await;
    assert_eq!(
        (status, body),
        (401, json!({ "message": "401 Unauthorized" }))
    );

    let (status, _) = send(client.get(&url).header("PRIVATE-TOKEN", "wrong")).await;
    assert_eq!(status, 401);

    let (status, body) = send(
        client
            .get(&url)
            .header("Authorization", format!("Bearer {TOKEN}")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["path_with_namespace"], "group/core");
}

#[tokio::test]
async fn a_project_is_found_by_id_or_encoded_path_and_an_unknown_one_is_404() {
    let simulator = start().await;
    let api = Api::new(&simulator);

    let (status, by_path) = api.get(&format!("/projects/{}", enc("group/net"))).await;
    assert_eq!(status, 200);
    let (_, by_id) = api.get(&format!("/projects/{}", by_path["id"])).await;
    assert_eq!(by_id["path_with_namespace"], "group/net");
    assert_eq!(by_id["default_branch"], "main");

    let (status, body) = api.get("/projects/nobody%2Fnothing").await;
    assert_eq!(
        (status, body),
        (404, json!({ "message": "404 Project Not Found" }))
    );
}

#[tokio::test]
async fn user_and_version_answer_for_clients_that_probe_them() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let (status, user) = api.get("/user").await;
    assert_eq!(status, 200);
    assert!(user["username"].is_string());
    let (status, version) = api.get("/version").await;
    assert_eq!(status, 200);
    assert!(version["version"].as_str().unwrap().starts_with("17."));
}

#[tokio::test]
async fn tree_lists_folders_first_and_accepts_parameters_in_a_get_body() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let (status, root) = api
        .get("/projects/group%2Fcore/repository/tree?ref=main")
        .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = root
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["docs", ".gitlab-ci.yml", "CoreKit.podspec"]);
    assert_eq!(root[0]["type"], "tree");

    // The `gitlab` crate's Tree endpoint sends its parameters as a form body on GET.
    let request = api
        .request(
            reqwest::Method::GET,
            "/projects/group%2Fcore/repository/tree?per_page=100&pagination=keyset",
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("path=docs&ref=main&recursive=true");
    let (status, docs) = send(request).await;
    assert_eq!(status, 200);
    let paths: Vec<&str> = docs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["docs/guide", "docs/guide/intro.md", "docs/readme.md"]
    );

    let (status, body) = api
        .get("/projects/group%2Fcore/repository/tree?ref=main&path=nope")
        .await;
    assert_eq!(
        (status, body),
        (404, json!({ "message": "404 Tree Not Found" }))
    );
}

#[tokio::test]
async fn lists_carry_gitlab_pagination_headers_and_links() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    for n in 0..5 {
        let (status, _) = api
            .post(
                "/projects/group%2Fplain/repository/tags",
                json!({ "tag_name": format!("0.0.{n}"), "ref": "main" }),
            )
            .await;
        assert_eq!(status, 201);
    }
    let response = api
        .request(
            reqwest::Method::GET,
            "/projects/group%2Fplain/repository/tags?per_page=2&page=2",
        )
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(header("X-Total").as_deref(), Some("5"));
    assert_eq!(header("X-Total-Pages").as_deref(), Some("3"));
    assert_eq!(header("X-Page").as_deref(), Some("2"));
    assert_eq!(header("X-Per-Page").as_deref(), Some("2"));
    assert_eq!(header("X-Next-Page").as_deref(), Some("3"));
    assert_eq!(header("X-Prev-Page").as_deref(), Some("1"));
    let link = header("Link").unwrap();
    let next = format!(
        "<{}/projects/group%2Fplain/repository/tags?page=3&per_page=2>; rel=\"next\"",
        api.base
    );
    assert!(link.contains(&next), "{link}");
    let items: serde_json::Value = response.json().await.unwrap();
    assert_eq!(items.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn branch_and_compare_tell_whether_a_branch_is_merged() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let (status, branch) = api
        .get("/projects/group%2Fplain/repository/branches/feature")
        .await;
    assert_eq!(status, 200);
    assert_eq!(branch["merged"], false);
    assert_eq!(
        branch["commit"]["id"],
        simulator
            .world()
            .branch_head("group/plain", "feature")
            .unwrap()
    );

    let (_, compare) = api
        .get("/projects/group%2Fplain/repository/compare?from=main&to=feature")
        .await;
    assert_eq!(compare["commits"].as_array().unwrap().len(), 1);
    assert_eq!(compare["diffs"][0]["new_path"], "README.md");
    assert_eq!(compare["compare_same_ref"], false);

    let (_, reverse) = api
        .get("/projects/group%2Fplain/repository/compare?from=feature&to=main")
        .await;
    assert_eq!(reverse["commits"], json!([]));

    let (status, body) = api
        .get("/projects/group%2Fplain/repository/branches/nope")
        .await;
    assert_eq!(
        (status, body),
        (404, json!({ "message": "404 Branch Not Found" }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_serves_on_a_multi_thread_runtime_and_stop_closes_the_port() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    assert_eq!(api.get("/projects/1").await.0, 200);
    let url = format!("{}/projects/1", api.base);
    simulator.stop().await;
    let after = reqwest::Client::new()
        .get(&url)
        .header("PRIVATE-TOKEN", TOKEN)
        .send()
        .await;
    assert!(
        after.is_err(),
        "the port still answers after stop: {after:?}"
    );
}
