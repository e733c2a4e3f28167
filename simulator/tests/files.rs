//! Reading and writing repository files, with GitLab's optimistic locking.

mod common;

use base64::Engine;
use common::{Api, start};
use serde_json::json;

const STALE: &str =
    "You are attempting to update a file that has changed since you started editing it.";

fn decode(content: &serde_json::Value) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(content.as_str().unwrap())
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_file_reads_as_base64_with_the_commit_that_last_changed_it() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let (status, file) = api
        .get("/projects/group%2Fplain/repository/files/README.md?ref=feature")
        .await;
    assert_eq!(status, 200);
    assert_eq!(decode(&file["content"]), "plain, improved\n");
    assert_eq!(file["encoding"], "base64");
    assert_eq!(file["file_name"], "README.md");
    assert_eq!(file["ref"], "feature");
    let head = simulator
        .world()
        .branch_head("group/plain", "feature")
        .unwrap();
    assert_eq!(file["commit_id"], head);
    assert_eq!(file["last_commit_id"], head);
    assert_eq!(file["content_sha256"].as_str().unwrap().len(), 64);

    let (_, nested) = api
        .get("/projects/group%2Fcore/repository/files/docs%2Fguide%2Fintro.md?ref=main")
        .await;
    assert_eq!(decode(&nested["content"]), "intro\n");
    assert_eq!(nested["file_path"], "docs/guide/intro.md");

    let raw = api
        .request(
            reqwest::Method::GET,
            "/projects/group%2Fplain/repository/files/README.md/raw?ref=main",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(raw.text().await.unwrap(), "plain\n");

    let (status, body) = api
        .get("/projects/group%2Fplain/repository/files/nope.txt?ref=main")
        .await;
    assert_eq!(
        (status, body),
        (404, json!({ "message": "404 File Not Found" }))
    );
}

#[tokio::test]
async fn an_update_with_the_current_last_commit_id_commits_once() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let (_, file) = api
        .get("/projects/group%2Fplain/repository/files/README.md?ref=main")
        .await;
    let before = simulator.world().commit_count("group/plain", "main");

    let update = json!({ "branch": "main", "content": "new text\n", "commit_message": "Edit README", "last_commit_id": file["last_commit_id"] });
    let (status, body) = api
        .put("/projects/group%2Fplain/repository/files/README.md", update)
        .await;
    assert_eq!(
        (status, body),
        (200, json!({ "file_path": "README.md", "branch": "main" }))
    );
    assert_eq!(
        simulator
            .world()
            .file("group/plain", "main", "README.md")
            .as_deref(),
        Some("new text\n")
    );
    assert_eq!(
        simulator.world().commit_count("group/plain", "main"),
        before + 1
    );
}

#[tokio::test]
async fn an_update_with_a_stale_last_commit_id_is_refused_with_gitlabs_message() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let (_, file) = api
        .get("/projects/group%2Fplain/repository/files/README.md?ref=main")
        .await;
    simulator
        .push_commit(
            "group/plain",
            "main",
            &[("README.md", "someone else's edit\n")],
            "Concurrent edit",
        )
        .unwrap();

    // Form-encoded, as the `gitlab` crate sends it.
    let last = file["last_commit_id"].as_str().unwrap();
    let form = [
        ("branch", "main"),
        ("content", "mine\n"),
        ("commit_message", "Edit"),
        ("last_commit_id", last),
    ];
    let (status, body) = api
        .put_form("/projects/group%2Fplain/repository/files/README.md", &form)
        .await;
    assert_eq!((status, body), (400, json!({ "message": STALE })));
    assert_eq!(
        simulator
            .world()
            .file("group/plain", "main", "README.md")
            .as_deref(),
        Some("someone else's edit\n")
    );
}

#[tokio::test]
async fn unchanged_content_and_wrong_create_or_update_are_400() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let path = "/projects/group%2Fplain/repository/files/README.md";
    let (status, _) = api
        .put(
            path,
            json!({ "branch": "main", "content": "plain\n", "commit_message": "Nothing" }),
        )
        .await;
    assert_eq!(status, 400);

    let (status, body) = api
        .post(
            path,
            json!({ "branch": "main", "content": "x", "commit_message": "Create" }),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({ "message": "A file with this name already exists" })
        )
    );

    let (status, body) = api
        .put(
            "/projects/group%2Fplain/repository/files/new.txt",
            json!({ "branch": "main", "content": "x", "commit_message": "m" }),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({ "message": "A file with this name doesn't exist" })
        )
    );

    let (status, body) = api
        .put(path, json!({ "content": "x", "commit_message": "m" }))
        .await;
    assert_eq!(
        (status, body),
        (400, json!({ "error": "branch is missing" }))
    );
}

#[tokio::test]
async fn a_file_can_be_created_with_base64_content() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let content = base64::engine::general_purpose::STANDARD.encode("hello\n");
    let body = json!({ "branch": "feature", "content": content, "encoding": "base64", "commit_message": "Add hello" });
    let (status, _) = api
        .post(
            "/projects/group%2Fplain/repository/files/dir%2Fhello.txt",
            body,
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        simulator
            .world()
            .file("group/plain", "feature", "dir/hello.txt")
            .as_deref(),
        Some("hello\n")
    );
}

#[tokio::test]
async fn a_head_request_gives_the_file_headers() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    let response = api
        .request(
            reqwest::Method::HEAD,
            "/projects/group%2Fplain/repository/files/README.md?ref=main",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let head = simulator
        .world()
        .branch_head("group/plain", "main")
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get("X-Gitlab-Last-Commit-Id")
            .unwrap()
            .to_str()
            .unwrap(),
        head
    );
    assert_eq!(
        response.headers().get("X-Gitlab-File-Path").unwrap(),
        "README.md"
    );
}
