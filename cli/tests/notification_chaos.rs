//! Notifications under crashes (issue 11): a worker killed right as its note reaches GitLab or
//! its chat message reaches the chat, 20 times during one release, and still exactly one status
//! note per merge request and one chat message for the release.
//!
//! The kills come at conditions, not at times: the test waits until GitLab or the chat takes
//! the next write (a new note or message, or an edit) and kills the worker at once, mostly
//! before it recorded the answer. The next worker finds Convoy's note by its marker, and its
//! chat message by its metadata, instead of writing a second one.

mod support;

use std::time::Duration;

use convoy_simulator::{Faults, Scenario, WorldView};
use support::slack::FakeSlack;
use support::{Options, spawn_convoy};

const KILLS: usize = 20;
/// Generous: a condition that never holds fails the test, a slow machine does not.
const PATIENCE: Duration = Duration::from_secs(120);

/// Note writes GitLab has taken so far (created and edited notes).
fn note_writes(world: &WorldView) -> u64 {
    let counts = world.api_requests();
    ["POST", "PUT"]
        .iter()
        .map(|method| {
            let endpoint = format!("{method} /projects/:project/merge_requests/:n/notes");
            let edits = format!("{endpoint}/:n");
            counts.by_endpoint.get(&endpoint).copied().unwrap_or(0)
                + counts.by_endpoint.get(&edits).copied().unwrap_or(0)
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_as_its_notes_reach_gitlab_leaves_one_status_note_per_merge_request() {
    let (layers, width) = (3, 3);
    let mut scenario = Scenario::layered(layers, width);
    scenario.pipeline_duration_ms = 300;
    let slack = FakeSlack::start(&[]);
    let mut convoy = spawn_convoy(Options {
        scenario,
        chat: Some(slack.settings()),
        ..Options::default()
    })
    .await;
    let chat_writes = || (slack.calls("chat.postMessage") + slack.calls("chat.update")) as u64;
    // Every answer takes a moment, so a kill lands while a request is on its way.
    convoy.sim.faults().set(Faults {
        latency_ms: 30,
        ..Faults::default()
    });
    let release = convoy
        .client
        .create_release("bench/app", "release/2.0.0", false)
        .await
        .unwrap();
    let planned = convoy.wait_for(release.id, |r| r.state == "waiting").await;
    convoy.client.deploy_all(planned.id).await.unwrap();

    let world = convoy.sim.world();
    for kill in 0..KILLS {
        let before = note_writes(&world) + chat_writes();
        let wrote = world
            .eventually(PATIENCE, |w| note_writes(w) + chat_writes() > before)
            .await;
        assert!(wrote, "kill {kill}: no note was written any more");
        convoy.restart_worker().await;
    }
    let done = convoy.wait_for(planned.id, |r| r.is_finished()).await;
    assert_eq!(done.state, "success", "{done:#?}");

    let projects: Vec<String> = (0..layers)
        .flat_map(|layer| (0..width).map(move |i| format!("bench/l{layer}-{i}")))
        .collect();
    let convoy_notes = |w: &WorldView, project: &str| {
        let mr = w.merge_requests(project).into_iter().next()?;
        Some(
            w.merge_request_notes(project, mr.iid)
                .into_iter()
                .filter(|n| !n.system && n.body.starts_with("<!-- convoy:"))
                .collect::<Vec<_>>(),
        )
    };
    let all_released = |w: &WorldView| {
        projects.iter().all(|project| {
            convoy_notes(w, project).is_some_and(|notes| {
                notes.len() == 1
                    && notes[0].body.starts_with("<!-- convoy:status ")
                    && notes[0].body.contains(": released")
            })
        })
    };
    let settled = world.eventually(PATIENCE, all_released).await;
    let notes: Vec<_> = projects
        .iter()
        .map(|project| (project, convoy_notes(&world, project)))
        .collect();
    assert!(
        settled,
        "exactly one note per merge request, its status note, saying released: {notes:#?}"
    );
    let chat_settled = world
        .eventually(PATIENCE, |_| {
            let messages = slack.messages();
            messages.len() == 1 && messages[0].text.contains("*success*, 9/9 released")
        })
        .await;
    assert!(
        chat_settled,
        "one chat message, saying success: {:#?}",
        slack.messages()
    );
}
