//! GitLab webhook payloads, from GitLab's own documentation (tests/fixtures/gitlab, copied from
//! the shared fixtures), parse into the domain events Convoy acts on.

use convoy_forge::gitlab::{WebhookError, parse_webhook};
use convoy_forge::{ForgeEvent, MergeRequestState, PipelineStatus};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gitlab");

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn parse(event: &str, payload: &Value) -> ForgeEvent {
    parse_webhook(event, payload.to_string().as_bytes())
        .unwrap()
        .expect("an event Convoy uses")
}

/// The same payload with fields GitLab might add one day, at the top and in every object.
fn with_unknown_fields(value: &Value) -> Value {
    match value {
        Value::Object(fields) => {
            let mut out: serde_json::Map<String, Value> = fields
                .iter()
                .map(|(k, v)| (k.clone(), with_unknown_fields(v)))
                .collect();
            out.insert(
                "field_from_the_future".into(),
                json!({"nested": [1, "two", null]}),
            );
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(with_unknown_fields).collect()),
        other => other.clone(),
    }
}

fn merge_request_event() -> ForgeEvent {
    ForgeEvent::MergeRequest {
        project: "gitlabhq/gitlab-test".into(),
        iid: 1,
        state: MergeRequestState::Opened,
        action: Some("open".into()),
        source_branch: "ms-viewport".into(),
        target_branch: "master".into(),
        merge_commit_sha: None,
    }
}

fn pipeline_event() -> ForgeEvent {
    ForgeEvent::Pipeline {
        project: "gitlab-org/gitlab-test".into(),
        pipeline_id: 31,
        status: PipelineStatus::Success,
        git_ref: "master".into(),
        is_tag: false,
        sha: "bcbb5ec396a2c0f828686f14fac9b80b780504f2".into(),
        merge_request_iid: Some(1),
        failed_jobs: vec!["test-build".into()],
        duration: Some(63),
    }
}

fn tag_push_event() -> ForgeEvent {
    ForgeEvent::TagPush {
        project: "jsmith/example".into(),
        tag: "v1.0.0".into(),
        sha: Some("82b3d5ae55f7080f1e6022629cdb57bfae7cccc7".into()),
    }
}

fn push_event() -> ForgeEvent {
    ForgeEvent::Push {
        project: "mike/diaspora".into(),
        branch: "master".into(),
        after: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7".into(),
        commit_messages: vec![
            "Update Catalan translation to e38cb41.\n\nSee https://gitlab.com/gitlab-org/gitlab for more information"
                .into(),
            "fixed readme".into(),
        ],
    }
}

fn job_event() -> ForgeEvent {
    ForgeEvent::Job {
        project: "gitlab-org/gitlab-test".into(),
        pipeline_id: Some(2366),
        job_id: 1977,
        name: "test".into(),
        stage: "test".into(),
        status: PipelineStatus::Created,
        failure_reason: Some("script_failure".into()),
    }
}

/// Every documented payload, its `X-Gitlab-Event` header and the event it means.
fn documented() -> Vec<(&'static str, &'static str, ForgeEvent)> {
    vec![
        (
            "webhook-merge-request.json",
            "Merge Request Hook",
            merge_request_event(),
        ),
        ("webhook-pipeline.json", "Pipeline Hook", pipeline_event()),
        ("webhook-tag-push.json", "Tag Push Hook", tag_push_event()),
        ("webhook-push.json", "Push Hook", push_event()),
        ("webhook-job.json", "Job Hook", job_event()),
    ]
}

#[test]
fn every_documented_webhook_fixture_is_covered_by_these_tests() {
    let mut on_disk: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("webhook-") && name.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut covered: Vec<String> = documented()
        .into_iter()
        .map(|(file, _, _)| file.to_owned())
        .collect();
    covered.sort();
    assert_eq!(on_disk, covered);
}

#[test]
fn every_documented_payload_parses_to_the_expected_event() {
    for (file, header, expected) in documented() {
        assert_eq!(parse(header, &fixture(file)), expected, "{file}");
    }
}

#[test]
fn unknown_fields_everywhere_do_not_change_the_parsed_event() {
    for (file, header, expected) in documented() {
        assert_eq!(
            parse(header, &with_unknown_fields(&fixture(file))),
            expected,
            "{file}"
        );
    }
}

#[test]
fn an_unknown_pipeline_status_is_kept_as_other() {
    let mut payload = fixture("webhook-pipeline.json");
    payload["object_attributes"]["status"] = json!("waiting_for_quantum_runner");
    payload["builds"][0]["status"] = json!("teleporting");
    let ForgeEvent::Pipeline {
        status,
        failed_jobs,
        ..
    } = parse("Pipeline Hook", &payload)
    else {
        panic!("not a pipeline event");
    };
    assert_eq!(
        status,
        PipelineStatus::Other("waiting_for_quantum_runner".into())
    );
    assert_eq!(failed_jobs, vec!["test-build".to_owned()]);
}

#[test]
fn an_unknown_job_status_is_kept_as_other() {
    let mut payload = fixture("webhook-job.json");
    payload["build_status"] = json!("canceling");
    let ForgeEvent::Job { status, .. } = parse("Job Hook", &payload) else {
        panic!("not a job event");
    };
    assert_eq!(status, PipelineStatus::Other("canceling".into()));
}

#[test]
fn an_unknown_merge_request_state_is_read_as_locked_so_convoy_reads_again() {
    let mut payload = fixture("webhook-merge-request.json");
    payload["object_attributes"]["state"] = json!("archived");
    let ForgeEvent::MergeRequest { state, .. } = parse("Merge Request Hook", &payload) else {
        panic!("not a merge request event");
    };
    assert_eq!(state, MergeRequestState::Locked);
}

#[test]
fn a_merged_merge_request_carries_its_merge_commit() {
    let mut payload = fixture("webhook-merge-request.json");
    payload["object_attributes"]["state"] = json!("merged");
    payload["object_attributes"]["action"] = json!("merge");
    payload["object_attributes"]["merge_commit_sha"] =
        json!("0123456789abcdef0123456789abcdef01234567");
    assert_eq!(
        parse("Merge Request Hook", &payload),
        ForgeEvent::MergeRequest {
            project: "gitlabhq/gitlab-test".into(),
            iid: 1,
            state: MergeRequestState::Merged,
            action: Some("merge".into()),
            source_branch: "ms-viewport".into(),
            target_branch: "master".into(),
            merge_commit_sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
        }
    );
}

#[test]
fn a_tag_pipeline_is_marked_as_a_tag_and_has_no_merge_request() {
    let mut payload = fixture("webhook-pipeline.json");
    payload["object_attributes"]["tag"] = json!(true);
    payload["object_attributes"]["ref"] = json!("1.2.0");
    payload["merge_request"] = Value::Null;
    let ForgeEvent::Pipeline {
        is_tag,
        git_ref,
        merge_request_iid,
        ..
    } = parse("Pipeline Hook", &payload)
    else {
        panic!("not a pipeline event");
    };
    assert!(is_tag);
    assert_eq!(git_ref, "1.2.0");
    assert_eq!(merge_request_iid, None);
}

#[test]
fn an_annotated_tag_names_the_tagged_commit_not_the_tag_object() {
    // For an annotated tag GitLab sends the tag object as `after` and the commit as
    // `checkout_sha` (`Gitlab::DataBuilder::Push`).
    let mut payload = fixture("webhook-tag-push.json");
    payload["after"] = json!("5f1c5c1e0c2b7a3d9e8f6a4b2c0d1e3f5a7b9c1d");
    let ForgeEvent::TagPush { sha, .. } = parse("Tag Push Hook", &payload) else {
        panic!("not a tag push");
    };
    assert_eq!(
        sha.as_deref(),
        Some("82b3d5ae55f7080f1e6022629cdb57bfae7cccc7")
    );
}

#[test]
fn a_deleted_tag_has_no_commit() {
    let mut payload = fixture("webhook-tag-push.json");
    payload["before"] = json!("82b3d5ae55f7080f1e6022629cdb57bfae7cccc7");
    payload["after"] = json!("0000000000000000000000000000000000000000");
    payload["checkout_sha"] = json!(null);
    assert_eq!(
        parse("Tag Push Hook", &payload),
        ForgeEvent::TagPush {
            project: "jsmith/example".into(),
            tag: "v1.0.0".into(),
            sha: None
        }
    );
}

#[test]
fn a_branch_name_with_slashes_is_kept_whole() {
    let mut payload = fixture("webhook-push.json");
    payload["ref"] = json!("refs/heads/release/0.1.0");
    let ForgeEvent::Push { branch, .. } = parse("Push Hook", &payload) else {
        panic!("not a push event");
    };
    assert_eq!(branch, "release/0.1.0");
}

#[test]
fn events_convoy_does_not_use_are_ignored() {
    for header in [
        "Issue Hook",
        "Note Hook",
        "Wiki Page Hook",
        "Release Hook",
        "System Hook",
    ] {
        assert_eq!(
            parse_webhook(header, br#"{"object_kind":"note"}"#),
            Ok(None),
            "{header}"
        );
    }
}

#[test]
fn a_body_that_is_not_json_is_an_error_that_says_so() {
    let error = parse_webhook("Push Hook", b"<html>not json</html>").unwrap_err();
    assert_eq!(
        error.to_string(),
        "the Push Hook payload is not valid JSON or lacks a field Convoy needs: expected value at line 1 column 1"
    );
}

#[test]
fn a_payload_without_its_project_is_an_error_naming_the_field() {
    let mut payload = fixture("webhook-pipeline.json");
    payload.as_object_mut().unwrap().remove("project");
    let error = parse_webhook("Pipeline Hook", payload.to_string().as_bytes()).unwrap_err();
    assert_eq!(
        error,
        WebhookError::Malformed {
            event: "Pipeline Hook".into(),
            reason: "missing field `project` at line 1 column ".to_owned()
                + &payload.to_string().len().to_string(),
        }
    );
}

#[test]
fn a_job_payload_without_any_project_is_an_error() {
    let mut payload = fixture("webhook-job.json");
    payload.as_object_mut().unwrap().remove("project");
    payload.as_object_mut().unwrap().remove("project_name");
    let error = parse_webhook("Job Hook", payload.to_string().as_bytes()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the Job Hook payload is not valid JSON or lacks a field Convoy needs: missing field `project`"
    );
}

#[test]
fn a_push_to_something_other_than_a_branch_is_an_error_naming_the_ref() {
    let mut payload = fixture("webhook-push.json");
    payload["ref"] = json!("refs/tags/v1.0.0");
    let error = parse_webhook("Push Hook", payload.to_string().as_bytes()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the Push Hook payload has ref \"refs/tags/v1.0.0\", which Convoy cannot read"
    );
}

#[test]
fn a_job_hook_without_pipeline_id_from_an_older_gitlab_is_read() {
    let mut payload = fixture("webhook-job.json");
    payload.as_object_mut().unwrap().remove("pipeline_id");
    let ForgeEvent::Job {
        project,
        pipeline_id,
        job_id,
        ..
    } = parse("Job Hook", &payload)
    else {
        panic!("not a job event");
    };
    assert_eq!(project, "gitlab-org/gitlab-test");
    assert_eq!(pipeline_id, None);
    assert_eq!(job_id, 1977);
}

#[test]
fn a_build_hook_is_read_as_the_old_name_of_a_job_hook() {
    assert_eq!(
        parse("Build Hook", &fixture("webhook-job.json")),
        job_event()
    );
}

#[test]
fn only_the_fields_that_identify_the_object_are_required() {
    let mut merge_request = fixture("webhook-merge-request.json");
    let attributes = merge_request["object_attributes"].as_object_mut().unwrap();
    for field in ["state", "source_branch", "target_branch", "action"] {
        attributes.remove(field);
    }
    assert_eq!(
        parse("Merge Request Hook", &merge_request).project(),
        "gitlabhq/gitlab-test"
    );

    let mut pipeline = fixture("webhook-pipeline.json");
    let attributes = pipeline["object_attributes"].as_object_mut().unwrap();
    for field in ["ref", "sha", "tag", "duration"] {
        attributes.remove(field);
    }
    assert_eq!(
        parse("Pipeline Hook", &pipeline).project(),
        "gitlab-org/gitlab-test"
    );

    let mut job = fixture("webhook-job.json");
    for field in ["build_name", "build_stage", "pipeline_id"] {
        job.as_object_mut().unwrap().remove(field);
    }
    assert_eq!(parse("Job Hook", &job).project(), "gitlab-org/gitlab-test");

    // Without the project, Convoy cannot tell which release the event is about.
    let mut no_project = fixture("webhook-pipeline.json");
    no_project.as_object_mut().unwrap().remove("project");
    assert!(matches!(
        parse_webhook("Pipeline Hook", no_project.to_string().as_bytes()),
        Err(WebhookError::Malformed { .. })
    ));
}
