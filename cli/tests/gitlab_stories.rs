//! The brief's diamond released against the GitLab people actually run: the simulator's
//! default behaviour is GitLab 18's (skipped pipelines for `[ci skip]`, the head pipeline
//! linked after a lag, the merge endpoint's rules, workflow rules, project merge settings).
//! Each story ends with one merge request merged per component, with a successful pipeline
//! for the merged head as its head pipeline at the moment of the merge, one tag per component
//! and the Podfile pinned.

mod support;

use convoy_simulator::{MergeMethod, ProjectSpec, Scenario};
use support::{COMPONENTS, Options, TestConvoy, spawn_convoy};

const RELEASED: [(&str, &str); 4] = [
    ("CoreKit", "0.1.0"),
    ("NetworkKit", "0.1.0"),
    ("StorageKit", "0.1.0"),
    ("FeatureKit", "0.1.0"),
];

/// GitLab's documented "merge request pipelines, and branch pipelines only when no merge
/// request is open" workflow (doc/ci/yaml/workflow.md), plus tags so that tags publish.
const MERGE_REQUEST_PIPELINES_CI: &str = r#"workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS
      when: never
    - if: $CI_COMMIT_BRANCH
    - if: $CI_COMMIT_TAG
stages: [lint, publish]
lint:
  stage: lint
  script: pod lib lint --allow-warnings
publish:
  stage: publish
  script: pod repo push private-specs --allow-warnings
  rules:
    - if: $CI_COMMIT_TAG
"#;

/// Changes every component project of the demo.
fn each_component(scenario: &mut Scenario, change: impl Fn(&mut ProjectSpec)) {
    for project in scenario.projects.iter_mut() {
        if COMPONENTS.iter().any(|(_, path)| *path == project.path) {
            change(project);
        }
    }
}

async fn release_on(tweak: impl FnOnce(&mut Scenario)) -> (TestConvoy, i64) {
    release_with(Options::default(), tweak).await
}

async fn release_with(
    mut options: Options,
    tweak: impl FnOnce(&mut Scenario),
) -> (TestConvoy, i64) {
    tweak(&mut options.scenario);
    let convoy = spawn_convoy(options).await;
    let release = convoy.release_all().await;
    assert_eq!(release.state, "success", "{release:#?}");
    convoy.assert_side_effects_once();
    convoy.assert_podfile_pins(&RELEASED);
    (convoy, release.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merge_request_pipeline_only_ci_with_the_documented_workflow_template() {
    let (convoy, _) = release_on(|scenario| {
        each_component(scenario, |project| {
            project.branches[0]
                .files
                .insert(".gitlab-ci.yml".into(), MERGE_REQUEST_PIPELINES_CI.into());
        });
    })
    .await;
    let world = convoy.sim.world();
    for (name, project) in COMPONENTS {
        let merge = &world.merges(project)[0];
        let head = world
            .pipelines(project)
            .into_iter()
            .find(|p| Some(p.id) == merge.head_pipeline)
            .expect("the head pipeline exists");
        assert_eq!(
            (head.source.as_str(), head.status.as_str()),
            ("merge_request_event", "success"),
            "{name} merged on a successful merge request pipeline"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn branch_pipeline_only_ci_refuses_merge_request_pipelines_and_still_releases() {
    // The demo's CI has no merge request jobs: GitLab refuses merge request pipelines
    // ("No stages / jobs for this pipeline."), so Convoy runs branch pipelines.
    let (convoy, _) = release_on(|_| {}).await;
    let world = convoy.sim.world();
    for (name, project) in COMPONENTS {
        let merge = &world.merges(project)[0];
        let head = world
            .pipelines(project)
            .into_iter()
            .find(|p| Some(p.id) == merge.head_pipeline)
            .expect("the head pipeline exists");
        assert_eq!(head.reference, "release/0.1.0", "{name}: a branch pipeline");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelines_must_succeed_on() {
    let (convoy, release) = release_on(|scenario| {
        each_component(scenario, |project| {
            project.only_allow_merge_if_pipeline_succeeds = true;
        });
    })
    .await;
    let events = convoy.events(release).await;
    assert!(
        !events.iter().any(|e| e
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("\"Pipelines must succeed\" is off"))),
        "no warning when GitLab itself waits for CI"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelines_must_succeed_off_and_convoy_still_merges_only_on_passing_ci() {
    let (convoy, release) = release_on(|scenario| {
        each_component(scenario, |project| {
            project.only_allow_merge_if_pipeline_succeeds = false;
        });
    })
    .await;
    // Convoy warned, once per component, that GitLab alone would not wait for CI.
    let events = convoy.events(release).await;
    for (name, _) in COMPONENTS {
        let warnings = events
            .iter()
            .filter(|e| e.component_name.as_deref() == Some(name))
            .filter(|e| {
                e.reason
                    .as_deref()
                    .is_some_and(|r| r.contains("\"Pipelines must succeed\" is off"))
            })
            .count();
        assert_eq!(warnings, 1, "{name}: one warning names the setting");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merge_method_merge_makes_merge_commits() {
    let (convoy, _) = release_on(|scenario| {
        each_component(scenario, |project| {
            project.merge_method = MergeMethod::Merge
        });
    })
    .await;
    let world = convoy.sim.world();
    for (name, project) in COMPONENTS {
        let mr = &world.merge_requests(project)[0];
        assert!(mr.merge_commit_sha.is_some(), "{name}: a merge commit");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merge_method_fast_forward_moves_main_to_the_release_branch_head() {
    let (convoy, _) = release_on(|scenario| {
        each_component(scenario, |project| project.merge_method = MergeMethod::Ff);
    })
    .await;
    let world = convoy.sim.world();
    for (name, project) in COMPONENTS {
        let mr = &world.merge_requests(project)[0];
        assert_eq!(mr.merge_commit_sha, None, "{name}: fast-forward");
        let tag = world.tag(project, "0.1.0").unwrap();
        assert_eq!(Some(tag.commit), mr.sha, "{name}: tagged the merged head");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_source_branch_is_removed_after_the_merge() {
    let (convoy, _) = release_on(|scenario| {
        each_component(scenario, |project| {
            project.remove_source_branch_after_merge = true;
        });
    })
    .await;
    let world = convoy.sim.world();
    for (name, project) in COMPONENTS {
        assert_eq!(
            world.branch_head(project, "release/0.1.0"),
            None,
            "{name}'s release branch was deleted on merge"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_head_pipeline_lag_of_two_seconds() {
    // Convoy asks for auto-merge only once GitLab shows its pipeline as the head pipeline;
    // asking earlier gets 405, or (with no head pipeline at all) a merge without CI.
    let (convoy, _) = release_on(|scenario| scenario.head_pipeline_lag_ms = 2_000).await;
    convoy.assert_merged_with_passing_ci();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelines_that_finish_before_gitlab_links_them_need_no_reconcile() {
    // A pipeline may pass before `UpdateHeadPipelineWorker` links it to the merge request, so
    // the last webhook (pipeline success) arrives while the head pipeline is not linked yet and
    // no further webhook follows. Reconcile is an hour away here: Convoy must look again by
    // itself, soon, instead of waiting for reconcile's full look.
    let options = Options {
        reconcile: std::time::Duration::from_secs(3600),
        ..Options::default()
    };
    let (convoy, _) = release_with(options, |scenario| {
        scenario.pipeline_duration_ms = 50;
        scenario.head_pipeline_lag_ms = 1_000;
    })
    .await;
    convoy.assert_merged_with_passing_ci();
}
