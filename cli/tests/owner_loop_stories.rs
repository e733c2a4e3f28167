//! The owner loop (issue 11): each component has owners, the merge request Convoy opens is
//! assigned to them and says what the release is and where to watch it, and the release page
//! and the API show them. Convoy tells them on the merge request: one status note edited in
//! place as the component moves, and a note that @mentions them only when they must act. In
//! chat: one message per release, edited as it moves, and a reply in its thread for each
//! mention.

mod support;

use std::time::Duration;

use convoy_core::notices::parse_channel_rules;
use convoy_core::owners::parse_owner_rules;
use convoy_simulator::{Faults, FileContains, JobFailure, NoteInfo, WorldView};
use convoy_testkit::eventually;
use convoy_worker::notify::WebhookSettings;
use support::receiver::{Received, Receiver};
use support::slack::{FakeSlack, SlackMessage};
use support::{COMPONENTS, Options, TestConvoy, fast_demo, spawn_convoy};

/// Generous: a condition that never holds fails the test, a slow machine does not.
const PATIENCE: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn configured_owners_are_assigned_the_merge_request_and_shown_on_the_release() {
    let convoy = spawn_convoy(Options {
        // `ghost` is no GitLab user; NetworkKit is matched by its project path.
        owners: parse_owner_rules("CoreKit=rosa,ghost; ios/network-*=jose").unwrap(),
        ..Options::default()
    })
    .await;
    let release = convoy.release_all().await;
    assert_eq!(release.state, "success", "{release:#?}");

    let owners = |name: &str| {
        release
            .components
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} is in the release"))
            .owners
            .clone()
    };
    assert_eq!(owners("CoreKit"), ["rosa", "ghost"]);
    assert_eq!(owners("NetworkKit"), ["jose"]);
    // No rule, and the release branch's commits are the simulator administrator's, who has no
    // public email: nobody.
    assert!(owners("StorageKit").is_empty());

    let people = convoy.sim.people();
    let rosa = people.user("rosa").unwrap().id;
    let jose = people.user("jose").unwrap().id;
    let world = convoy.sim.world();
    let only_mr = |project: &str| {
        let mrs = world.merge_requests(project);
        assert_eq!(mrs.len(), 1, "{project}: {mrs:#?}");
        mrs.into_iter().next().unwrap()
    };
    let core = only_mr("ios/core-kit");
    assert_eq!(core.assignee_ids, [rosa], "ghost is left out");
    let watch = format!("{}/releases/{}", convoy.url, release.id);
    assert!(
        core.description.contains("CoreKit 0.1.0"),
        "{}",
        core.description
    );
    assert!(
        core.description.contains("@rosa, @ghost"),
        "{}",
        core.description
    );
    assert!(core.description.contains(&watch), "{}", core.description);
    assert_eq!(only_mr("ios/network-kit").assignee_ids, [jose]);
    let storage = only_mr("ios/storage-kit");
    assert!(storage.assignee_ids.is_empty());
    assert!(
        storage.description.contains("no owner"),
        "{}",
        storage.description
    );

    // The unknown owner is named once in the release's log.
    let events = convoy.events(release.id).await;
    let ghost_notes = events
        .iter()
        .filter(|e| {
            e.reason
                .as_deref()
                .is_some_and(|r| r.contains("owner ghost is not a GitLab user"))
        })
        .count();
    assert_eq!(ghost_notes, 1, "{events:#?}");

    // The release page shows them too.
    let page = reqwest::get(format!("{}/releases/{}", convoy.url, release.id))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("owners @rosa, @ghost"), "{page}");
    assert!(page.contains("owners @jose"), "{page}");
    assert!(page.contains("no owner"), "{page}");
}

/// Convoy's own notes on the only merge request of `project`: (status notes, mentions).
fn convoy_notes(world: &WorldView, project: &str) -> (Vec<NoteInfo>, Vec<NoteInfo>) {
    let Some(mr) = world.merge_requests(project).into_iter().next() else {
        return (Vec::new(), Vec::new());
    };
    let notes = world.merge_request_notes(project, mr.iid);
    let of_kind = |kind: &str| {
        notes
            .iter()
            .filter(|n| !n.system && n.body.starts_with(&format!("<!-- convoy:{kind} ")))
            .cloned()
            .collect::<Vec<_>>()
    };
    (of_kind("status"), of_kind("mention"))
}

/// The release's one chat message ends saying success with every component (a chat message is
/// edited after the release moves, so this waits for it).
async fn assert_one_chat_message_saying_success(slack: &FakeSlack) -> SlackMessage {
    let says_success = |messages: &[SlackMessage]| {
        let top: Vec<_> = messages.iter().filter(|m| m.thread_ts.is_none()).collect();
        top.len() == 1
            && top[0].text.contains("*success*, 4/4 released")
            && COMPONENTS
                .iter()
                .all(|(name, _)| top[0].text.contains(&format!("{name} 0.1.0")))
    };
    eventually(PATIENCE, || says_success(&slack.messages())).await;
    let messages = slack.messages();
    assert!(
        says_success(&messages),
        "one message, saying success: {messages:#?}"
    );
    messages
        .into_iter()
        .find(|m| m.thread_ts.is_none())
        .unwrap()
}

/// Every component's merge request ends with exactly one status note that says it is
/// released (notes are delivered after the release moves, so this waits for them).
async fn assert_one_released_status_note_each(convoy: &TestConvoy) {
    let world = convoy.sim.world();
    let all_released = |w: &WorldView| {
        COMPONENTS.iter().all(|(_, project)| {
            let (status, _) = convoy_notes(w, project);
            status.len() == 1 && status[0].body.contains(": released")
        })
    };
    let released = world.eventually(PATIENCE, all_released).await;
    let notes: Vec<_> = COMPONENTS
        .iter()
        .map(|(_, project)| (project, convoy_notes(&world, project).0))
        .collect();
    assert!(
        released,
        "one status note each, saying released: {notes:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_owner_is_mentioned_once_when_their_pipeline_fails_after_the_dependencies_are_out() {
    // José shows an email on his GitLab profile, by which the chat knows him.
    let slack = FakeSlack::start(&[("jose@example.com", "U0JOSE")]);
    let mut scenario = fast_demo();
    let jose = scenario
        .users
        .iter_mut()
        .find(|u| u.username == "jose")
        .unwrap();
    jose.public_email = Some("jose@example.com".to_owned());
    let convoy = spawn_convoy(Options {
        scenario,
        owners: parse_owner_rules("NetworkKit=jose").unwrap(),
        chat: Some(slack.settings()),
        ..Options::default()
    })
    .await;
    // NetworkKit's tests fail while its retry policy has the bug, whatever its dependencies.
    let network = "ios/network-kit";
    convoy
        .sim
        .set_job_failures(
            network,
            vec![JobFailure {
                job: "lint".to_owned(),
                log: "Testing RetryPolicyTests\nRetryPolicyTests.testBackoff failed: expected 2, got 3\n"
                    .to_owned(),
                when_file_contains: Some(FileContains {
                    path: "Sources/Retry.swift".to_owned(),
                    text: "BUG".to_owned(),
                }),
            }],
        )
        .unwrap();
    let bug = [("Sources/Retry.swift", "let delay = 3 // BUG\n")];
    convoy
        .sim
        .push_commit(network, "release/0.1.0", &bug, "Tune the retry delay")
        .unwrap();

    let release = convoy.start_release().await;
    convoy.client.deploy_all(release.id).await.unwrap();
    // CoreKit is released, Convoy retries NetworkKit's pipeline, and it fails on the bug.
    let world = convoy.sim.world();
    let mentioned = world
        .eventually(PATIENCE, |w| !convoy_notes(w, network).1.is_empty())
        .await;
    assert!(mentioned, "{:#?}", convoy_notes(&world, network));
    let (_, mentions) = convoy_notes(&world, network);
    let mention = &mentions[0];
    assert!(mention.body.contains("@jose"), "{}", mention.body);
    assert!(
        mention.body.contains("`lint`"),
        "names the job: {}",
        mention.body
    );
    assert!(
        mention.body.contains("RetryPolicyTests.testBackoff failed"),
        "carries the log tail: {}",
        mention.body
    );
    assert!(
        mention.body.contains("Push a fix to `release/0.1.0`"),
        "{}",
        mention.body
    );
    let events = convoy.events(release.id).await;
    let core_released = events.iter().any(|e| {
        e.component_name.as_deref() == Some("CoreKit") && e.to_state.as_deref() == Some("success")
    });
    assert!(
        core_released,
        "the mention came after CoreKit was out: {events:#?}"
    );
    let status_says_failed = world
        .eventually(PATIENCE, |w| {
            convoy_notes(w, network)
                .0
                .first()
                .is_some_and(|n| n.body.contains("its pipeline failed"))
        })
        .await;
    assert!(status_says_failed, "{:#?}", convoy_notes(&world, network).0);
    // And in chat, a reply in the release's thread that mentions him.
    let replies = |messages: Vec<SlackMessage>| -> Vec<SlackMessage> {
        messages
            .into_iter()
            .filter(|m| m.thread_ts.is_some())
            .collect()
    };
    eventually(PATIENCE, || !replies(slack.messages()).is_empty()).await;
    let reply = replies(slack.messages())
        .pop()
        .expect("a reply in the thread");
    assert!(
        reply.text.starts_with("<@U0JOSE> *NetworkKit 0.1.0*"),
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains("RetryPolicyTests.testBackoff failed"),
        "{}",
        reply.text
    );

    // The owner pushes the fix: the merge request merges and the release ends.
    let fix = [("Sources/Retry.swift", "let delay = 2\n")];
    convoy
        .sim
        .push_commit(network, "release/0.1.0", &fix, "Fix the retry delay")
        .unwrap();
    let done = convoy
        .wait_for(release.id, convoy::client::ReleaseView::is_finished)
        .await;
    assert_eq!(done.state, "success", "{done:#?}");

    assert_one_released_status_note_each(&convoy).await;
    let (status, mentions) = convoy_notes(&world, network);
    assert_eq!(mentions.len(), 1, "no second mention: {mentions:#?}");
    assert!(status[0].edits > 0, "edited in place: {status:#?}");
    assert!(
        !status[0].body.contains('@'),
        "the status note notifies nobody: {}",
        status[0].body
    );
    let message = assert_one_chat_message_saying_success(&slack).await;
    assert!(message.edits > 0, "edited in place: {message:#?}");
    assert_eq!(reply.thread_ts.as_deref(), Some(message.ts.as_str()));
    assert_eq!(
        (
            slack.calls("chat.postMessage"),
            replies(slack.messages()).len()
        ),
        (2, 1),
        "one message and one reply, no new mention after the fix"
    );
    for (name, project) in COMPONENTS.iter().filter(|(name, _)| *name != "NetworkKit") {
        let (_, mentions) = convoy_notes(&world, project);
        assert!(
            mentions.is_empty(),
            "{name} never needed anyone: {mentions:#?}"
        );
    }

    // The release page shows what was told, and where.
    let page = reqwest::get(format!("{}/releases/{}", convoy.url, release.id))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("mention: pipeline_failed"), "{page}");
    assert!(page.contains("#note_"), "links to the notes: {page}");
    assert!(!page.contains("notification-warning"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn notes_and_chat_refused_for_the_whole_release_delay_only_themselves() {
    let slack = FakeSlack::start(&[]);
    slack.set_unavailable(true);
    let convoy = spawn_convoy(Options {
        chat: Some(slack.settings()),
        ..Options::default()
    })
    .await;
    convoy.sim.faults().set(Faults {
        notes_unavailable: true,
        ..Faults::default()
    });
    let release = convoy.release_all().await;
    assert_eq!(release.state, "success", "{release:#?}");

    // The page says so while GitLab keeps refusing.
    let page_url = format!("{}/releases/{}", convoy.url, release.id);
    let warned = loop {
        let page = reqwest::get(&page_url).await.unwrap().text().await.unwrap();
        if page.contains("notification-warning") {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(warned.contains("Notifications are failing"), "{warned}");
    assert!(warned.contains("503"), "with GitLab's answer: {warned}");
    let world = convoy.sim.world();
    for (_, project) in COMPONENTS {
        assert_eq!(convoy_notes(&world, project), (Vec::new(), Vec::new()));
    }

    assert!(slack.messages().is_empty());

    // GitLab takes notes and the chat answers again: everything catches up, once.
    convoy.sim.faults().clear();
    slack.set_unavailable(false);
    assert_one_released_status_note_each(&convoy).await;
    assert_one_chat_message_saying_success(&slack).await;
    assert_eq!(slack.calls("chat.postMessage"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_state_change_reaches_a_webhook_signed_and_under_a_stable_id() {
    // The receiver fails its first three requests: those events come again, the same.
    let receiver = Receiver::start(3);
    let secret = "shared-webhook-secret";
    let convoy = spawn_convoy(Options {
        webhooks: Some(WebhookSettings {
            urls: vec![receiver.url.clone()],
            secret: secret.to_owned().into(),
        }),
        ..Options::default()
    })
    .await;
    let release = convoy.release_all().await;
    assert_eq!(release.state, "success", "{release:#?}");

    let changes: Vec<String> = convoy
        .events(release.id)
        .await
        .into_iter()
        .filter(|e| e.kind == "state")
        .map(|e| format!("convoy-event-{}", e.id))
        .collect();
    let all_accepted = |received: &[Received]| {
        changes.iter().all(|id| {
            received
                .iter()
                .any(|r| r.accepted && r.event_id.as_deref() == Some(id))
        })
    };
    eventually(PATIENCE, || all_accepted(&receiver.received())).await;
    let received = receiver.received();
    assert!(all_accepted(&received), "{changes:?}\n{received:#?}");

    for r in &received {
        let expected = format!("sha256={}", hmac_sha256(secret, &r.body));
        assert_eq!(r.signature.as_deref(), Some(expected.as_str()), "{r:#?}");
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["id"].as_str(), r.event_id.as_deref());
        assert_eq!(body["type"].as_str(), r.event.as_deref());
        assert_eq!(body["release"]["app_project"], "mobile/app");
    }
    // A refused event came again with the same id and the same bytes, and was taken once.
    let refused = &received[0];
    assert!(!refused.accepted);
    let again: Vec<_> = received
        .iter()
        .filter(|r| r.event_id == refused.event_id)
        .collect();
    assert!(again.len() >= 2, "{again:#?}");
    assert!(again.iter().all(|r| r.body == refused.body));
    assert_eq!(again.iter().filter(|r| r.accepted).count(), 1);
    let last = received
        .iter()
        .rev()
        .find(|r| r.event.as_deref() == Some("release.state_changed"))
        .unwrap();
    assert!(
        last.body.contains("\"to_state\":\"success\""),
        "{}",
        last.body
    );
}

/// HMAC-SHA256 as a receiver computes it (RFC 2104), from the test's own dependency.
fn hmac_sha256(secret: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_app_told_to_use_only_webhooks_gets_no_notes_and_no_chat() {
    let slack = FakeSlack::start(&[]);
    let receiver = Receiver::start(0);
    let convoy = spawn_convoy(Options {
        chat: Some(slack.settings()),
        webhooks: Some(WebhookSettings {
            urls: vec![receiver.url.clone()],
            secret: "s".to_owned().into(),
        }),
        notify_rules: parse_channel_rules("mobile/*=webhooks").unwrap(),
        ..Options::default()
    })
    .await;
    let release = convoy.release_all().await;
    assert_eq!(release.state, "success", "{release:#?}");
    let ended = |received: &[Received]| {
        received.iter().any(|r| {
            r.event.as_deref() == Some("release.state_changed")
                && r.body.contains("\"to_state\":\"success\"")
        })
    };
    eventually(PATIENCE, || ended(&receiver.received())).await;
    assert!(
        ended(&receiver.received()),
        "the webhook got the release's end"
    );
    // The webhook's last event came after every note and chat message would have been due.
    let world = convoy.sim.world();
    for (_, project) in COMPONENTS {
        assert_eq!(
            convoy_notes(&world, project),
            (Vec::new(), Vec::new()),
            "{project}"
        );
    }
    assert!(slack.messages().is_empty(), "{:#?}", slack.messages());
    // Anonymous reads are allowed in the stories' Convoy.
    let log: serde_json::Value = reqwest::get(format!(
        "{}/api/v1/releases/{}/notifications",
        convoy.url, release.id
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let channels: Vec<&str> = log["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["channel"].as_str().unwrap())
        .collect();
    assert!(
        !channels.is_empty() && channels.iter().all(|c| *c == "webhook"),
        "{log}"
    );
}
