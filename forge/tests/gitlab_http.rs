//! The GitLab adapter on the wire, against a scripted HTTP server: what it sends, when it
//! retries, and how GitLab's answers become typed errors.

mod support;

use std::time::Duration;

use convoy_forge::gitlab::{GitLab, GitLabOptions};
use convoy_forge::{FileUpdate, Forge, ForgeError, Hook, PipelineStatus, Project, Tag};
use support::responder::{Reply, Responder};

const TOKEN: &str = "glpat-secret-token-value";

fn fast_options(max_retries: u32) -> GitLabOptions {
    GitLabOptions {
        timeout: Duration::from_secs(5),
        max_retries,
        base_backoff: Duration::from_millis(10),
        ..GitLabOptions::default()
    }
}

async fn gitlab(replies: Vec<Reply>) -> (GitLab, Responder) {
    let server = Responder::start(replies).await;
    let gitlab = GitLab::new(&server.base_url, TOKEN.to_owned(), fast_options(3)).unwrap();
    (gitlab, server)
}

const PROJECT_JSON: &str = r#"{"id": 7, "path_with_namespace": "group/app", "default_branch": "main", "web_url": "http://gitlab.test/group/app", "extra": 1,
    "merge_method": "ff", "only_allow_merge_if_pipeline_succeeds": true, "allow_merge_on_skipped_pipeline": null}"#;

fn project() -> Project {
    Project {
        id: 7,
        path: "group/app".into(),
        default_branch: "main".into(),
        web_url: "http://gitlab.test/group/app".into(),
        merge_method: "ff".into(),
        only_allow_merge_if_pipeline_succeeds: true,
        allow_merge_on_skipped_pipeline: false,
    }
}

#[tokio::test]
async fn a_project_is_read_with_the_token_in_the_private_token_header() {
    let (gitlab, server) = gitlab(vec![Reply::json(200, PROJECT_JSON)]).await;
    assert_eq!(gitlab.project("group/app").await.unwrap(), project());
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, "GET");
    assert_eq!(received[0].target, "/api/v4/projects/group%2Fapp");
    assert_eq!(received[0].header("PRIVATE-TOKEN"), Some(TOKEN));
}

#[tokio::test]
async fn a_base_url_with_a_path_prefix_and_a_trailing_slash_is_kept() {
    let server = Responder::start(vec![Reply::json(200, PROJECT_JSON)]).await;
    let gitlab = GitLab::new(
        &format!("{}/gitlab/", server.base_url),
        TOKEN.into(),
        fast_options(0),
    )
    .unwrap();
    gitlab.project("group/app").await.unwrap();
    assert_eq!(
        server.received()[0].target,
        "/gitlab/api/v4/projects/group%2Fapp"
    );
}

#[tokio::test]
async fn the_token_never_shows_in_debug_output() {
    let (gitlab, _server) = gitlab(vec![]).await;
    let debug = format!("{gitlab:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
}

#[tokio::test]
async fn a_base_url_that_is_not_http_is_refused_at_construction() {
    let error =
        GitLab::new("ftp://gitlab.test", TOKEN.into(), GitLabOptions::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid GitLab configuration: base URL \"ftp://gitlab.test\" must start with http:// or https://"
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_one_succeeds() {
    let (gitlab, server) = gitlab(vec![
        Reply::json(500, r#"{"message":"500 Internal Server Error"}"#),
        Reply::text(502, "Bad Gateway"),
        Reply::json(200, PROJECT_JSON),
    ])
    .await;
    assert_eq!(gitlab.project("group/app").await.unwrap(), project());
    assert_eq!(server.received().len(), 3);
}

#[tokio::test]
async fn a_429_is_retried_after_the_seconds_in_retry_after() {
    let (gitlab, server) = gitlab(vec![
        Reply::json(429, r#"{"message":"Retry later"}"#).header("Retry-After", "1"),
        Reply::json(200, PROJECT_JSON),
    ])
    .await;
    assert_eq!(gitlab.project("group/app").await.unwrap(), project());
    let received = server.received();
    assert_eq!(received.len(), 2);
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
}

#[tokio::test]
async fn retries_are_exhausted_into_unavailable_with_the_last_reason() {
    let server = Responder::start(vec![
        Reply::json(503, r#"{"message":"down"}"#),
        Reply::json(503, r#"{"message":"down"}"#),
        Reply::json(500, r#"{"message":"still down"}"#),
    ])
    .await;
    let gitlab = GitLab::new(&server.base_url, TOKEN.into(), fast_options(2)).unwrap();
    let error = gitlab.project("group/app").await.unwrap_err();
    assert_eq!(
        error,
        ForgeError::Unavailable(
            "GET /api/v4/projects/group%2Fapp: GitLab answered 500 Internal Server Error: still down (gave up after 3 attempts)"
                .into()
        )
    );
    assert!(error.is_transient());
    assert_eq!(server.received().len(), 3);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let gitlab = GitLab::new(
        &format!("http://127.0.0.1:{port}"),
        TOKEN.into(),
        fast_options(1),
    )
    .unwrap();
    let ForgeError::Unavailable(message) = gitlab.project("group/app").await.unwrap_err() else {
        panic!("expected Unavailable");
    };
    assert!(
        message.starts_with("GET /api/v4/projects/group%2Fapp: could not connect: "),
        "{message}"
    );
    assert!(message.ends_with("(gave up after 2 attempts)"), "{message}");
    assert!(!message.contains(TOKEN));
}

#[tokio::test]
async fn a_slow_answer_times_out_into_unavailable() {
    let server = Responder::start(vec![
        Reply::json(200, PROJECT_JSON).after(Duration::from_secs(2)),
    ])
    .await;
    let options = GitLabOptions {
        timeout: Duration::from_millis(200),
        max_retries: 0,
        base_backoff: Duration::ZERO,
        ..GitLabOptions::default()
    };
    let gitlab = GitLab::new(&server.base_url, TOKEN.into(), options).unwrap();
    assert_eq!(
        gitlab.project("group/app").await.unwrap_err(),
        ForgeError::Unavailable(
            "GET /api/v4/projects/group%2Fapp: the request timed out (gave up after 1 attempt)"
                .into()
        )
    );
}

#[tokio::test]
async fn a_404_is_not_found_naming_the_object_and_is_not_retried() {
    let (gitlab, server) = gitlab(vec![Reply::json(
        404,
        r#"{"message":"404 Project Not Found"}"#,
    )])
    .await;
    assert_eq!(
        gitlab.project("group/app").await.unwrap_err(),
        ForgeError::NotFound("project group/app: 404 Project Not Found".into())
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_401_is_unauthorized_and_is_not_retried() {
    let (gitlab, server) =
        gitlab(vec![Reply::json(401, r#"{"message":"401 Unauthorized"}"#)]).await;
    assert_eq!(
        gitlab.project("group/app").await.unwrap_err(),
        ForgeError::Unauthorized("401 Unauthorized".into())
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_403_on_a_read_advises_the_read_scope() {
    let (gitlab, _server) = gitlab(vec![Reply::json(
        403,
        r#"{"error":"insufficient_scope","scope":"read_api"}"#,
    )])
    .await;
    assert_eq!(
        gitlab.branch("group/app", "main").await.unwrap_err(),
        ForgeError::Forbidden {
            message: "insufficient_scope".into(),
            advice: "Give Convoy's token the `read_api` scope (or `api`) and at least Reporter access to the project"
                .into(),
        }
    );
}

#[tokio::test]
async fn a_403_on_a_write_advises_the_api_scope() {
    let (gitlab, _server) = gitlab(vec![Reply::json(403, r#"{"message":"403 Forbidden"}"#)]).await;
    assert_eq!(
        gitlab
            .create_pipeline("group/app", "main")
            .await
            .unwrap_err(),
        ForgeError::Forbidden {
            message: "403 Forbidden".into(),
            advice:
                "Give Convoy's token the `api` scope and at least Developer access to the project"
                    .into(),
        }
    );
}

#[tokio::test]
async fn another_4xx_is_rejected_with_gitlab_s_message_object_as_a_sentence() {
    let (gitlab, server) = gitlab(vec![Reply::json(
        400,
        r#"{"message":{"base":["Reference not found"]}}"#,
    )])
    .await;
    assert_eq!(
        gitlab
            .create_pipeline("group/app", "nope")
            .await
            .unwrap_err(),
        ForgeError::Rejected {
            status: 400,
            message: "base Reference not found".into()
        }
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn files_are_found_by_name_within_the_depth_shallowest_first_across_pages() {
    let mut first_page: Vec<String> = (0..99)
        .map(|i| format!(r#"{{"path":"src/f{i}.swift","type":"blob"}}"#))
        .collect();
    first_page.push(r#"{"path":"Example","type":"tree"}"#.into());
    let second_page = r#"[
        {"path":"Example/Podfile","type":"blob"},
        {"path":"Podfile","type":"blob"},
        {"path":"a/b/c/d/e/Podfile","type":"blob"},
        {"path":"a/b/c/d/e/f/Podfile","type":"blob"},
        {"path":"Podfile.lock","type":"blob"}
    ]"#;
    let (gitlab, server) = gitlab(vec![
        Reply::json(200, &format!("[{}]", first_page.join(","))),
        Reply::json(200, second_page),
    ])
    .await;
    assert_eq!(
        gitlab
            .find_files("group/app", "release/1.0", "Podfile", 5)
            .await
            .unwrap(),
        vec![
            "Podfile".to_owned(),
            "Example/Podfile".into(),
            "a/b/c/d/e/Podfile".into()
        ]
    );
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].method, "GET");
    assert_eq!(
        received[0].target,
        "/api/v4/projects/group%2Fapp/repository/tree?ref=release%2F1.0&recursive=true&per_page=100&page=1"
    );
    assert_eq!(received[0].body, "");
    assert_eq!(
        received[1].target,
        "/api/v4/projects/group%2Fapp/repository/tree?ref=release%2F1.0&recursive=true&per_page=100&page=2"
    );
}

#[tokio::test]
async fn files_are_found_by_suffix() {
    let tree = r#"[
        {"path":"A.podspec","type":"blob"},
        {"path":"Specs","type":"tree"},
        {"path":"Specs/B.podspec.json","type":"blob"},
        {"path":"Specs/B.podspec","type":"blob"}
    ]"#;
    let (gitlab, _server) = gitlab(vec![Reply::json(200, tree)]).await;
    assert_eq!(
        gitlab
            .find_files_with_suffix("group/a", "main", &[".podspec"], 0)
            .await
            .unwrap(),
        vec!["A.podspec".to_owned()]
    );
}

#[tokio::test]
async fn a_file_is_read_with_the_commit_that_last_changed_it() {
    let (gitlab, server) = gitlab(vec![Reply::json(
        200,
        r#"{"file_path":"Example/Podfile","encoding":"base64","content":"cG9kICdBJwo=","last_commit_id":"abc123","commit_id":"def"}"#,
    )])
    .await;
    let file = gitlab
        .read_file("group/app", "Example/Podfile", "main")
        .await
        .unwrap();
    assert_eq!(file.content, "pod 'A'\n");
    assert_eq!(file.last_commit_id, "abc123");
    assert_eq!(file.path, "Example/Podfile");
    assert_eq!(
        server.received()[0].target,
        "/api/v4/projects/group%2Fapp/repository/files/Example%2FPodfile?ref=main"
    );
}

fn podfile_update() -> FileUpdate {
    FileUpdate {
        project: "group/app".into(),
        file_path: "Podfile".into(),
        branch: "release/1.0".into(),
        content: "pod 'A', '= 1.0.0'\n".into(),
        commit_message: "Pin released versions [ci skip]".into(),
        last_commit_id: "abc123".into(),
    }
}

#[tokio::test]
async fn a_file_update_sends_last_commit_id_and_returns_the_new_commit() {
    let (gitlab, server) = gitlab(vec![
        Reply::json(200, r#"{"file_path":"Podfile","branch":"release/1.0"}"#),
        Reply::json(
            200,
            r#"{"file_path":"Podfile","encoding":"base64","content":"","last_commit_id":"new456"}"#,
        ),
    ])
    .await;
    assert_eq!(
        gitlab.update_file(&podfile_update()).await.unwrap(),
        "new456"
    );
    let received = server.received();
    assert_eq!(received[0].method, "PUT");
    assert_eq!(
        received[0].target,
        "/api/v4/projects/group%2Fapp/repository/files/Podfile"
    );
    assert!(
        received[0].body.contains("last_commit_id=abc123"),
        "{}",
        received[0].body
    );
    assert!(
        received[0].body.contains("branch=release%2F1.0"),
        "{}",
        received[0].body
    );
    assert_eq!(
        received[1].target,
        "/api/v4/projects/group%2Fapp/repository/files/Podfile?ref=release%2F1.0"
    );
}

#[tokio::test]
async fn a_stale_last_commit_id_is_file_changed_with_gitlab_s_message() {
    let (gitlab, _server) = gitlab(vec![Reply::json(
        400,
        r#"{"message":"You are attempting to update a file that has changed since you started editing it."}"#,
    )])
    .await;
    assert_eq!(
        gitlab.update_file(&podfile_update()).await.unwrap_err(),
        ForgeError::FileChanged {
            path: "Podfile".into(),
            message:
                "You are attempting to update a file that has changed since you started editing it."
                    .into(),
        }
    );
}

#[tokio::test]
async fn is_merged_compares_the_target_to_the_branch() {
    let (gitlab, server) = gitlab(vec![
        Reply::json(
            200,
            r#"{"commit":null,"commits":[],"diffs":[],"compare_same_ref":false}"#,
        ),
        Reply::json(
            200,
            r#"{"commit":{"id":"x"},"commits":[{"id":"x"}],"diffs":[]}"#,
        ),
    ])
    .await;
    assert!(
        gitlab
            .is_merged("group/a", "release/1.0", "main")
            .await
            .unwrap()
    );
    assert!(
        !gitlab
            .is_merged("group/a", "release/1.0", "main")
            .await
            .unwrap()
    );
    assert_eq!(
        server.received()[0].target,
        "/api/v4/projects/group%2Fa/repository/compare?from=main&to=release%2F1.0"
    );
}

const MR_JSON: &str = r#"{"iid": 3, "state": "opened", "source_branch": "release/1.0", "target_branch": "main",
    "web_url": "http://gitlab.test/group/a/-/merge_requests/3", "sha": "aaa", "merge_commit_sha": null,
    "merge_when_pipeline_succeeds": true,
    "head_pipeline": {"id": 9, "status": "running", "ref": "release/1.0", "sha": "aaa", "web_url": "p9", "duration": null}}"#;

#[tokio::test]
async fn merge_when_pipeline_succeeds_sends_both_auto_merge_parameters_and_the_head_sha() {
    let (gitlab, server) = gitlab(vec![Reply::json(200, MR_JSON)]).await;
    let mr = gitlab
        .merge_when_pipeline_succeeds("group/a", 3, "aaa")
        .await
        .unwrap();
    assert!(mr.auto_merge);
    assert_eq!(mr.head_pipeline.unwrap().status, PipelineStatus::Running);
    let received = server.received();
    assert_eq!(received[0].method, "PUT");
    assert_eq!(
        received[0].target,
        "/api/v4/projects/group%2Fa/merge_requests/3/merge"
    );
    assert_eq!(
        received[0].body,
        "auto_merge=true&merge_when_pipeline_succeeds=true&sha=aaa"
    );
}

#[tokio::test]
async fn every_merge_refusal_status_is_cannot_merge_with_gitlab_s_message() {
    for (status, message) in [
        (405, "405 Method Not Allowed"),
        (406, "Branch cannot be merged"),
        (409, "SHA does not match HEAD of source branch"),
        (422, "Branch cannot be merged"),
    ] {
        let body = format!(r#"{{"message":"{message}"}}"#);
        let (gitlab, server) = gitlab(vec![Reply::json(status, &body)]).await;
        assert_eq!(
            gitlab
                .merge_when_pipeline_succeeds("group/a", 3, "aaa")
                .await
                .unwrap_err(),
            ForgeError::CannotMerge {
                status,
                message: message.into()
            }
        );
        assert_eq!(server.received().len(), 1);
    }
}

#[tokio::test]
async fn creating_a_merge_request_that_already_exists_returns_the_open_one() {
    let (gitlab, server) = gitlab(vec![
        Reply::json(409, r#"{"message":["Another open merge request already exists for this source branch: !3"]}"#),
        Reply::json(200, &format!("[{MR_JSON}]")),
        Reply::json(200, MR_JSON),
    ])
    .await;
    let mr = gitlab
        .create_merge_request(&new_mr("group/a", "release/1.0", "main", "Release 1.0"))
        .await
        .unwrap();
    assert_eq!(mr.iid, 3);
    let received = server.received();
    assert_eq!(received[0].method, "POST");
    assert_eq!(received[1].method, "GET");
    assert!(
        received[1].target.contains("state=opened"),
        "{}",
        received[1].target
    );
    assert!(
        received[1].target.contains("source_branch=release%2F1.0"),
        "{}",
        received[1].target
    );
    assert_eq!(
        received[2].target,
        "/api/v4/projects/group%2Fa/merge_requests/3"
    );
}

#[tokio::test]
async fn the_latest_pipeline_asks_for_the_newest_one_only() {
    let (gitlab, server) = gitlab(vec![
        Reply::json(200, r#"[{"id": 12, "status": "failed", "ref": "1.0.0", "sha": "s", "web_url": "w", "duration": 40}]"#),
        Reply::json(200, "[]"),
    ])
    .await;
    let pipeline = gitlab
        .latest_pipeline("group/a", "1.0.0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (pipeline.id, pipeline.status, pipeline.duration),
        (12, PipelineStatus::Failed, Some(40))
    );
    assert_eq!(
        gitlab.latest_pipeline("group/a", "1.0.0").await.unwrap(),
        None
    );
    assert_eq!(
        server.received()[0].target,
        "/api/v4/projects/group%2Fa/pipelines?ref=1.0.0&order_by=id&sort=desc&per_page=1"
    );
}

#[tokio::test]
async fn a_job_log_tail_is_the_last_lines_of_the_plain_text_trace() {
    let (gitlab, server) = gitlab(vec![Reply::text(
        200,
        "Running lint\n\u{1b}[31;1m- ERROR | A (= 1.0.0) is not released\u{1b}[0;m\nJob failed\n",
    )])
    .await;
    assert_eq!(
        gitlab.job_log_tail("group/b", 44, 2).await.unwrap(),
        "- ERROR | A (= 1.0.0) is not released\nJob failed"
    );
    assert_eq!(
        server.received()[0].target,
        "/api/v4/projects/group%2Fb/jobs/44/trace"
    );
}

#[tokio::test]
async fn creating_an_existing_tag_is_tag_exists() {
    let (gitlab, _server) = gitlab(vec![Reply::json(
        400,
        r#"{"message":"Tag 1.0.0 already exists"}"#,
    )])
    .await;
    assert_eq!(
        gitlab
            .create_tag("group/a", "1.0.0", "main", "")
            .await
            .unwrap_err(),
        ForgeError::TagExists {
            tag: "1.0.0".into()
        }
    );
}

#[tokio::test]
async fn a_missing_tag_is_none_but_a_missing_project_is_not_found() {
    let (gitlab, _server) = gitlab(vec![
        Reply::json(404, r#"{"message":"404 Tag Not Found"}"#),
        Reply::json(404, r#"{"message":"404 Project Not Found"}"#),
        Reply::json(200, r#"{"name":"1.0.0","message":"","target":"t","commit":{"id":"c1","message":"Bump to 1.0.0 [ci skip]"}}"#),
    ])
    .await;
    assert_eq!(gitlab.tag("group/a", "1.0.0").await.unwrap(), None);
    assert_eq!(
        gitlab.tag("group/a", "1.0.0").await.unwrap_err(),
        ForgeError::NotFound("project group/a: 404 Project Not Found".into())
    );
    assert_eq!(
        gitlab.tag("group/a", "1.0.0").await.unwrap(),
        Some(Tag {
            name: "1.0.0".into(),
            commit_sha: "c1".into(),
            commit_message: "Bump to 1.0.0 [ci skip]".into(),
            message: None
        })
    );
}

#[tokio::test]
async fn ensure_hook_creates_the_hook_with_its_secret_and_events_when_absent() {
    let (gitlab, server) = gitlab(vec![
        Reply::json(200, r#"[{"id": 1, "url": "http://other.test/hook"}]"#),
        Reply::json(
            201,
            r#"{"id": 2, "url": "http://convoy.test/hooks/gitlab"}"#,
        ),
    ])
    .await;
    assert_eq!(
        gitlab
            .ensure_hook("group/a", "http://convoy.test/hooks/gitlab", "s3cret")
            .await
            .unwrap(),
        Hook {
            id: 2,
            url: "http://convoy.test/hooks/gitlab".into()
        }
    );
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].method, "POST");
    assert_eq!(received[1].target, "/api/v4/projects/group%2Fa/hooks");
    for field in [
        "token=s3cret",
        "push_events=true",
        "tag_push_events=true",
        "merge_requests_events=true",
        "pipeline_events=true",
        "job_events=true",
    ] {
        assert!(
            received[1].body.contains(field),
            "{field} missing from {}",
            received[1].body
        );
    }
}

#[tokio::test]
async fn ensure_hook_updates_the_existing_hook_instead_of_adding_a_second() {
    let (gitlab, server) = gitlab(vec![
        Reply::json(
            200,
            r#"[{"id": 5, "url": "http://convoy.test/hooks/gitlab"}]"#,
        ),
        Reply::json(
            200,
            r#"{"id": 5, "url": "http://convoy.test/hooks/gitlab"}"#,
        ),
    ])
    .await;
    assert_eq!(
        gitlab
            .ensure_hook("group/a", "http://convoy.test/hooks/gitlab", "s3cret")
            .await
            .unwrap(),
        Hook {
            id: 5,
            url: "http://convoy.test/hooks/gitlab".into()
        }
    );
    let received = server.received();
    assert_eq!(received[1].method, "PUT");
    assert_eq!(received[1].target, "/api/v4/projects/group%2Fa/hooks/5");
    assert!(
        received[1].body.contains("token=s3cret"),
        "{}",
        received[1].body
    );
}

/// A GitLab address that answers 307 to a second local server, which records what reaches it.
async fn redirecting_gitlab(replies_before_redirect: Vec<Reply>) -> (GitLab, Responder, Responder) {
    let elsewhere = Responder::start(vec![Reply::json(200, PROJECT_JSON); 4]).await;
    let location = format!("{}/api/v4/projects/group%2Fapp", elsewhere.base_url);
    let mut replies = replies_before_redirect;
    replies.push(Reply::text(307, "").header("Location", &location));
    let first = Responder::start(replies).await;
    let gitlab = GitLab::new(&first.base_url, TOKEN.into(), fast_options(3)).unwrap();
    (gitlab, first, elsewhere)
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_names_the_address_to_configure() {
    let (gitlab, first, elsewhere) = redirecting_gitlab(vec![]).await;
    let error = gitlab.project("group/app").await.unwrap_err();
    let expected = format!(
        "GitLab answered 307 to {}/api/v4/projects/group%2Fapp: set CONVOY_GITLAB_URL to that address",
        elsewhere.base_url
    );
    assert!(error.to_string().contains(&expected), "{error}");
    // Not transient: retrying a redirect cannot help, so it is asked once.
    assert!(!error.is_transient(), "{error:?}");
    assert_eq!(first.received().len(), 1);
    assert!(
        elsewhere.received().is_empty(),
        "the other origin got {:?}",
        elsewhere.received()
    );
}

#[tokio::test]
async fn a_redirected_hook_registration_sends_neither_token_nor_secret_elsewhere() {
    let (gitlab, first, elsewhere) = redirecting_gitlab(vec![Reply::json(200, "[]")]).await;
    let error = gitlab
        .ensure_hook("group/a", "http://convoy.test/hooks/gitlab", "s3cret")
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("GitLab answered 307 to"),
        "{error}"
    );
    assert_eq!(first.received().len(), 2);
    assert!(first.received()[1].body.contains("token=s3cret"));
    assert!(
        elsewhere.received().is_empty(),
        "the other origin got {:?}",
        elsewhere.received()
    );
}

/// A merge request to open, with no description and nobody assigned.
fn new_mr(project: &str, source: &str, target: &str, title: &str) -> convoy_forge::NewMergeRequest {
    convoy_forge::NewMergeRequest {
        project: project.to_owned(),
        source: source.to_owned(),
        target: target.to_owned(),
        title: title.to_owned(),
        description: String::new(),
        assignee_ids: Vec::new(),
    }
}
