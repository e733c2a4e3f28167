//! Bad input gets a sentence that says what is wrong and what to do, and loses nothing: the
//! release is recorded as failed with the reason, and no side effect happens at GitLab.

mod support;

use support::{COMPONENTS, Options, fast_demo, spawn_convoy};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dependency_cycle_fails_the_analysis_and_names_the_cycle() {
    // CoreKit now depends on FeatureKit, which (through NetworkKit) depends on CoreKit.
    let mut scenario = fast_demo();
    let core_kit = scenario
        .projects
        .iter_mut()
        .find(|p| p.path == "ios/core-kit")
        .unwrap();
    let branch = core_kit
        .branches
        .iter_mut()
        .find(|b| b.name == "release/0.1.0")
        .unwrap();
    let podspec = branch.files.get_mut("CoreKit.podspec").unwrap();
    *podspec = podspec.replace(
        "  s.source_files",
        "  s.dependency 'FeatureKit', '~> 0.1'\n  s.source_files",
    );
    let convoy = spawn_convoy(Options {
        scenario,
        ..Options::default()
    })
    .await;

    let release = convoy.start_release().await;
    assert_eq!(release.state, "failed");
    assert_eq!(
        release.reason.as_deref(),
        Some(
            "the release plan cannot be built: cycle: CoreKit -> FeatureKit -> NetworkKit -> CoreKit"
        )
    );
    assert!(release.components.is_empty(), "no plan was stored");
    assert_nothing_changed_at_gitlab(&convoy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ref_that_does_not_exist_fails_the_analysis_with_advice() {
    let convoy = spawn_convoy(Options::default()).await;
    let release = convoy.start_release_at("release/9.9.9").await;
    assert_eq!(release.state, "failed");
    let reason = release.reason.unwrap_or_default();
    assert!(
        reason.starts_with("mobile/app at release/9.9.9 cannot be read"),
        "{reason}"
    );
    assert!(reason.ends_with("Check the name and the ref"), "{reason}");
    assert_nothing_changed_at_gitlab(&convoy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_gitlab_token_fails_the_analysis_and_says_to_check_the_token() {
    let convoy = spawn_convoy(Options {
        gitlab_token: "not-the-token",
        ..Options::default()
    })
    .await;
    let release = convoy.start_release().await;
    assert_eq!(release.state, "failed");
    let reason = release.reason.unwrap_or_default();
    assert!(
        reason.contains("the forge token was rejected (401)"),
        "{reason}"
    );
    assert!(
        reason.contains("Check the token Convoy is configured with"),
        "{reason}"
    );
    assert!(
        !reason.contains("not-the-token"),
        "the token itself is never shown: {reason}"
    );
    assert_nothing_changed_at_gitlab(&convoy);
}

fn assert_nothing_changed_at_gitlab(convoy: &support::TestConvoy) {
    let world = convoy.sim.world();
    for (name, project) in COMPONENTS {
        assert!(
            world.merge_requests(project).is_empty(),
            "{name} got no merge request"
        );
        assert!(world.hooks(project).is_empty(), "{name} got no hook");
    }
}
