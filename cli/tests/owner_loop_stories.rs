//! The owner loop (issue 11): each component has owners, the merge request Convoy opens is
//! assigned to them and says what the release is and where to watch it, and the release page
//! and the API show them.

mod support;

use convoy_core::owners::parse_owner_rules;
use support::{Options, spawn_convoy};

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
