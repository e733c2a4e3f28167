//! Contract tests: the GitLab adapter against the GitLab simulator, for every `Forge` method,
//! success and error paths. Where the simulator and GitLab differ, the test asserts GitLab.

use std::time::{Duration, Instant};

use convoy_forge::gitlab::{GitLab, GitLabOptions};
use convoy_forge::{
    FileUpdate, Forge, ForgeError, MergeRequestState, Pipeline, PipelineStatus, Tag,
};
use convoy_simulator::{RunningSimulator, Scenario, SimulatorConfig};

const TOKEN: &str = "contract-test-token";
const CORE: &str = "ios/core-kit";

const SCENARIO: &str = r#"
pipeline_duration_ms: 400
head_pipeline_lag_ms: 50
webhooks: { max_attempts: 1, retry_backoff_ms: 10, timeout_ms: 500 }
projects:
  - path: ios/core-kit
    default_branch: main
    branches:
      - name: main
        message: "Initial commit"
        files:
          .gitlab-ci.yml: |
            stages: [lint, publish]
            lint:
              stage: lint
              script: pod lib lint --allow-warnings
              rules:
                - if: $CI_PIPELINE_SOURCE == "merge_request_event"
                - if: $CI_COMMIT_BRANCH
                - if: $CI_COMMIT_TAG
            publish:
              stage: publish
              script: pod repo push private-specs
              only: [tags]
          CoreKit.podspec: |
            Pod::Spec.new do |s|
              s.name    = 'CoreKit'
              s.version = '0.0.8'
            end
          Podfile: |
            pod 'CoreKit', :path => '.'
          Example/Podfile: |
            pod 'CoreKit', :path => '..'
          Specs/Extra.podspec.json: |
            {"name": "Extra", "version": "1.0.0"}
          a/b/c/d/e/Podfile: |
            # five levels deep
          a/b/c/d/e/f/Podfile: |
            # six levels deep: too deep
      - name: release/0.1.0
        from: main
        message: "Add logging"
        files:
          Sources/Logging.swift: |
            public enum Log {}
      - name: broken
        from: main
        message: "Break the lint"
        files:
          Sources/Broken.swift: |
            BUG
    existing_tags:
      - { name: "0.0.8", ref: main }
    job_failures:
      - job: lint
        log: |
          -> CoreKit (0.1.0)
              - ERROR | [iOS] xcodebuild: Sources/Broken.swift:1: error: cannot find 'BUG' in scope
          [!] CoreKit did not pass validation, due to 1 error.
        when_file_contains: { path: "Sources/Broken.swift", text: "BUG" }
"#;

fn options() -> GitLabOptions {
    GitLabOptions {
        timeout: Duration::from_secs(10),
        max_retries: 3,
        base_backoff: Duration::from_millis(20),
        ..GitLabOptions::default()
    }
}

async fn start() -> (RunningSimulator, GitLab) {
    let simulator = RunningSimulator::start(SimulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.to_owned(),
        scenario: Scenario::from_yaml(SCENARIO).unwrap(),
    })
    .await
    .unwrap();
    let gitlab = GitLab::new(&simulator.base_url(), TOKEN.to_owned(), options()).unwrap();
    (simulator, gitlab)
}

/// Polls the pipeline until it is finished.
/// Waits until GitLab shows `pipeline_id` as the merge request's head pipeline (it links
/// new pipelines asynchronously, `MergeRequests::UpdateHeadPipelineWorker`).
async fn linked(gitlab: &GitLab, iid: u64, pipeline_id: u64) -> convoy_forge::MergeRequest {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mr = gitlab.merge_request(CORE, iid).await.unwrap();
        if mr
            .head_pipeline
            .as_ref()
            .is_some_and(|p| p.id == pipeline_id)
        {
            return mr;
        }
        assert!(Instant::now() < deadline, "never linked: {mr:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn finished(gitlab: &GitLab, project: &str, pipeline_id: u64) -> Pipeline {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pipeline = gitlab.pipeline(project, pipeline_id).await.unwrap();
        if pipeline.status.is_finished() {
            return pipeline;
        }
        assert!(
            Instant::now() < deadline,
            "pipeline {pipeline_id} still {:?}",
            pipeline.status
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ---- projects, files, tree --------------------------------------------------------------

#[tokio::test]
async fn a_project_is_read_by_path_with_its_default_branch() {
    let (simulator, gitlab) = start().await;
    let project = gitlab.project(CORE).await.unwrap();
    let info = simulator.world().project(CORE).unwrap();
    assert_eq!(project.id, info.id);
    assert_eq!(project.path, CORE);
    assert_eq!(project.default_branch, "main");
    assert_eq!(project.web_url, format!("{}/{CORE}", simulator.base_url()));
}

#[tokio::test]
async fn an_unknown_project_is_not_found() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab.project("nobody/nothing").await.unwrap_err(),
        ForgeError::NotFound("project nobody/nothing: 404 Project Not Found".into())
    );
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized() {
    let (simulator, _gitlab) = start().await;
    let intruder = GitLab::new(&simulator.base_url(), "wrong-token".into(), options()).unwrap();
    assert_eq!(
        intruder.project(CORE).await.unwrap_err(),
        ForgeError::Unauthorized("401 Unauthorized".into())
    );
}

#[tokio::test]
async fn a_file_is_read_with_the_commit_that_last_changed_it() {
    let (simulator, gitlab) = start().await;
    let file = gitlab
        .read_file(CORE, "Sources/Logging.swift", "release/0.1.0")
        .await
        .unwrap();
    assert_eq!(file.content, "public enum Log {}\n");
    assert_eq!(
        file.last_commit_id,
        simulator
            .world()
            .branch_head(CORE, "release/0.1.0")
            .unwrap()
    );
    let podspec = gitlab
        .read_file(CORE, "CoreKit.podspec", "release/0.1.0")
        .await
        .unwrap();
    assert_eq!(
        podspec.content,
        simulator
            .world()
            .file(CORE, "main", "CoreKit.podspec")
            .unwrap()
    );
    assert_eq!(
        podspec.last_commit_id,
        simulator.world().branch_head(CORE, "main").unwrap()
    );
}

#[tokio::test]
async fn an_unknown_file_is_not_found() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab
            .read_file(CORE, "Nope.podspec", "main")
            .await
            .unwrap_err(),
        ForgeError::NotFound(
            "file Nope.podspec at main in ios/core-kit: 404 File Not Found".into()
        )
    );
}

#[tokio::test]
async fn podfiles_are_found_up_to_five_levels_deep_shallowest_first() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab.find_files(CORE, "main", "Podfile", 5).await.unwrap(),
        vec![
            "Podfile".to_owned(),
            "Example/Podfile".into(),
            "a/b/c/d/e/Podfile".into()
        ]
    );
    assert_eq!(
        gitlab.find_files(CORE, "main", "Podfile", 0).await.unwrap(),
        vec!["Podfile".to_owned()]
    );
    assert_eq!(
        gitlab
            .find_files(CORE, "main", "Cartfile", 5)
            .await
            .unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn podspecs_are_found_by_suffix() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab
            .find_files_with_suffix(CORE, "main", &[".podspec"], 5)
            .await
            .unwrap(),
        vec!["CoreKit.podspec".to_owned()]
    );
    assert_eq!(
        gitlab
            .find_files_with_suffix(CORE, "main", &[".podspec.json"], 5)
            .await
            .unwrap(),
        vec!["Specs/Extra.podspec.json".to_owned()]
    );
    // Both kinds from one listing of the tree.
    assert_eq!(
        gitlab
            .find_files_with_suffix(CORE, "main", &[".podspec", ".podspec.json"], 5)
            .await
            .unwrap(),
        vec![
            "CoreKit.podspec".to_owned(),
            "Specs/Extra.podspec.json".to_owned()
        ]
    );
}

#[tokio::test]
async fn the_tree_of_an_unknown_ref_is_not_found() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab
            .find_files(CORE, "no-such-branch", "Podfile", 5)
            .await
            .unwrap_err(),
        ForgeError::NotFound(
            "repository tree at no-such-branch in ios/core-kit: 404 Tree Not Found".into()
        )
    );
}

fn bump(last_commit_id: &str, version: &str) -> FileUpdate {
    FileUpdate {
        project: CORE.into(),
        file_path: "CoreKit.podspec".into(),
        branch: "release/0.1.0".into(),
        content: format!(
            "Pod::Spec.new do |s|\n  s.name    = 'CoreKit'\n  s.version = '{version}'\nend\n"
        ),
        commit_message: format!("Bump CoreKit to {version} [ci skip]"),
        last_commit_id: last_commit_id.into(),
    }
}

#[tokio::test]
async fn a_file_update_commits_and_returns_the_new_commit() {
    let (simulator, gitlab) = start().await;
    let read = gitlab
        .read_file(CORE, "CoreKit.podspec", "release/0.1.0")
        .await
        .unwrap();
    let commit = gitlab
        .update_file(&bump(&read.last_commit_id, "0.1.0"))
        .await
        .unwrap();
    let world = simulator.world();
    assert_eq!(commit, world.branch_head(CORE, "release/0.1.0").unwrap());
    assert_eq!(
        world.commits(CORE, "release/0.1.0")[0].message,
        "Bump CoreKit to 0.1.0 [ci skip]"
    );
    assert_eq!(
        world
            .file(CORE, "release/0.1.0", "CoreKit.podspec")
            .unwrap(),
        "Pod::Spec.new do |s|\n  s.name    = 'CoreKit'\n  s.version = '0.1.0'\nend\n"
    );
    let reread = gitlab
        .read_file(CORE, "CoreKit.podspec", "release/0.1.0")
        .await
        .unwrap();
    assert_eq!(reread.last_commit_id, commit);
}

#[tokio::test]
async fn a_file_update_from_a_stale_read_is_file_changed_and_commits_nothing() {
    let (simulator, gitlab) = start().await;
    let read = gitlab
        .read_file(CORE, "CoreKit.podspec", "release/0.1.0")
        .await
        .unwrap();
    gitlab
        .update_file(&bump(&read.last_commit_id, "0.1.0"))
        .await
        .unwrap();
    let head = simulator
        .world()
        .branch_head(CORE, "release/0.1.0")
        .unwrap();
    assert_eq!(
        gitlab
            .update_file(&bump(&read.last_commit_id, "0.2.0"))
            .await
            .unwrap_err(),
        ForgeError::FileChanged {
            path: "CoreKit.podspec".into(),
            message:
                "You are attempting to update a file that has changed since you started editing it."
                    .into(),
        }
    );
    assert_eq!(
        simulator
            .world()
            .branch_head(CORE, "release/0.1.0")
            .unwrap(),
        head
    );
}

// ---- branches and compare ---------------------------------------------------------------

#[tokio::test]
async fn a_branch_is_read_with_its_head_commit() {
    let (simulator, gitlab) = start().await;
    let branch = gitlab.branch(CORE, "release/0.1.0").await.unwrap();
    assert_eq!(branch.name, "release/0.1.0");
    assert_eq!(
        branch.commit_sha,
        simulator
            .world()
            .branch_head(CORE, "release/0.1.0")
            .unwrap()
    );
}

#[tokio::test]
async fn an_unknown_branch_is_not_found() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab.branch(CORE, "release/9.9.9").await.unwrap_err(),
        ForgeError::NotFound("branch release/9.9.9 in ios/core-kit: 404 Branch Not Found".into())
    );
}

#[tokio::test]
async fn a_branch_with_its_own_commits_is_not_merged_and_the_target_itself_is() {
    let (_simulator, gitlab) = start().await;
    assert!(
        !gitlab
            .is_merged(CORE, "release/0.1.0", "main")
            .await
            .unwrap()
    );
    assert!(gitlab.is_merged(CORE, "main", "main").await.unwrap());
    // main has nothing that release/0.1.0 lacks.
    assert!(
        gitlab
            .is_merged(CORE, "main", "release/0.1.0")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn comparing_with_an_unknown_branch_is_not_found() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab
            .is_merged(CORE, "release/9.9.9", "main")
            .await
            .unwrap_err(),
        ForgeError::NotFound(
            "comparison of release/9.9.9 with main in ios/core-kit: 404 Ref Not Found".into()
        )
    );
}

// ---- merge requests ---------------------------------------------------------------------

#[tokio::test]
async fn a_merge_request_is_opened_found_and_read_with_its_head_pipeline() {
    let (simulator, gitlab) = start().await;
    assert_eq!(
        gitlab
            .find_open_merge_request(CORE, "release/0.1.0", "main")
            .await
            .unwrap(),
        None
    );
    let branch_pipeline = gitlab.create_pipeline(CORE, "release/0.1.0").await.unwrap();
    let created = gitlab
        .create_merge_request(&new_mr(
            CORE,
            "release/0.1.0",
            "main",
            "Release CoreKit 0.1.0",
        ))
        .await
        .unwrap();
    assert_eq!(created.state, MergeRequestState::Opened);
    assert_eq!(
        (
            created.source_branch.as_str(),
            created.target_branch.as_str()
        ),
        ("release/0.1.0", "main")
    );
    assert_eq!(
        created.sha,
        simulator.world().branch_head(CORE, "release/0.1.0")
    );
    assert!(!created.auto_merge);

    let found = gitlab
        .find_open_merge_request(CORE, "release/0.1.0", "main")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.iid, created.iid);
    // Opening it started a merge request pipeline (MergeRequests::AfterCreateService),
    // newer than the branch pipeline: GitLab links it as the head pipeline.
    let deadline = Instant::now() + Duration::from_secs(30);
    let read = loop {
        let read = gitlab.merge_request(CORE, created.iid).await.unwrap();
        if read
            .head_pipeline
            .as_ref()
            .is_some_and(|p| p.id > branch_pipeline.id)
        {
            break read;
        }
        assert!(Instant::now() < deadline, "never linked: {read:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(read.iid, created.iid);
    assert_eq!(read.web_url, created.web_url);
    let head = read.head_pipeline.expect("the merge request's pipeline");
    assert_eq!(head.git_ref, "refs/merge-requests/1/head");
    assert_eq!(
        head.sha,
        simulator
            .world()
            .branch_head(CORE, "release/0.1.0")
            .unwrap()
    );
}

#[tokio::test]
async fn opening_the_same_merge_request_twice_returns_the_first_and_opens_no_second() {
    let (simulator, gitlab) = start().await;
    let first = gitlab
        .create_merge_request(&new_mr(
            CORE,
            "release/0.1.0",
            "main",
            "Release CoreKit 0.1.0",
        ))
        .await
        .unwrap();
    let second = gitlab
        .create_merge_request(&new_mr(
            CORE,
            "release/0.1.0",
            "main",
            "Release CoreKit 0.1.0",
        ))
        .await
        .unwrap();
    assert_eq!(second.iid, first.iid);
    assert_eq!(simulator.world().merge_requests(CORE).len(), 1);
}

#[tokio::test]
async fn a_merge_request_from_an_unknown_branch_is_rejected() {
    let (_simulator, gitlab) = start().await;
    let error = gitlab
        .create_merge_request(&new_mr(CORE, "release/9.9.9", "main", "Nothing"))
        .await
        .unwrap_err();
    // GitLab puts "does not exist" in `errors[:base]`, answered `unprocessable_entity!` (422).
    assert_eq!(
        error,
        ForgeError::Rejected {
            status: 422,
            message: "Source branch \"release/9.9.9\" does not exist".into()
        }
    );
}

#[tokio::test]
async fn an_unknown_merge_request_is_not_found() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab.merge_request(CORE, 999).await.unwrap_err(),
        ForgeError::NotFound(
            "merge request !999 in ios/core-kit: 404 Merge Request Not Found".into()
        )
    );
}

#[tokio::test]
async fn a_merge_request_set_to_auto_merge_merges_when_its_pipeline_succeeds() {
    let (simulator, gitlab) = start().await;
    let mr = gitlab
        .create_merge_request(&new_mr(
            CORE,
            "release/0.1.0",
            "main",
            "Release CoreKit 0.1.0",
        ))
        .await
        .unwrap();
    let pipeline = gitlab
        .create_merge_request_pipeline(CORE, mr.iid)
        .await
        .unwrap();
    let mr = linked(&gitlab, mr.iid, pipeline.id).await;
    let set = gitlab
        .merge_when_pipeline_succeeds(CORE, mr.iid, mr.sha.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(set.state, MergeRequestState::Opened);
    assert!(set.auto_merge);
    assert_eq!(
        finished(&gitlab, CORE, pipeline.id).await.status,
        PipelineStatus::Success
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let merged = loop {
        let current = gitlab.merge_request(CORE, mr.iid).await.unwrap();
        if current.state == MergeRequestState::Merged {
            break current;
        }
        assert!(Instant::now() < deadline, "still {:?}", current.state);
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(
        merged.merge_commit_sha,
        simulator.world().branch_head(CORE, "main")
    );
    // GitLab deletes the source branch on merge (remove_source_branch_after_merge).
    assert!(matches!(
        gitlab.branch(CORE, "release/0.1.0").await,
        Err(ForgeError::NotFound(_))
    ));
    assert_eq!(
        gitlab
            .find_open_merge_request(CORE, "release/0.1.0", "main")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_conflicting_merge_request_cannot_merge_with_gitlab_s_message() {
    let (simulator, gitlab) = start().await;
    let mr = gitlab
        .create_merge_request(&new_mr(
            CORE,
            "release/0.1.0",
            "main",
            "Release CoreKit 0.1.0",
        ))
        .await
        .unwrap();
    let pipeline = gitlab
        .create_merge_request_pipeline(CORE, mr.iid)
        .await
        .unwrap();
    finished(&gitlab, CORE, pipeline.id).await;
    let mr = linked(&gitlab, mr.iid, pipeline.id).await;
    simulator.faults().set_merge_conflict(CORE, true);
    assert_eq!(
        gitlab
            .merge_when_pipeline_succeeds(CORE, mr.iid, mr.sha.as_deref().unwrap())
            .await
            .unwrap_err(),
        ForgeError::CannotMerge {
            status: 422,
            message: "Branch cannot be merged".into()
        }
    );
    let now = gitlab.merge_request(CORE, mr.iid).await.unwrap();
    assert_eq!(now.detailed_merge_status.as_deref(), Some("conflict"));
}

#[tokio::test]
async fn canceling_auto_merge_leaves_the_merge_request_open_after_its_pipeline_succeeds() {
    let (_simulator, gitlab) = start().await;
    let mr = gitlab
        .create_merge_request(&new_mr(
            CORE,
            "release/0.1.0",
            "main",
            "Release CoreKit 0.1.0",
        ))
        .await
        .unwrap();
    let pipeline = gitlab
        .create_merge_request_pipeline(CORE, mr.iid)
        .await
        .unwrap();
    let mr = linked(&gitlab, mr.iid, pipeline.id).await;
    assert!(
        gitlab
            .merge_when_pipeline_succeeds(CORE, mr.iid, mr.sha.as_deref().unwrap())
            .await
            .unwrap()
            .auto_merge
    );

    let canceled = gitlab.cancel_auto_merge(CORE, mr.iid).await.unwrap();
    assert!(!canceled.auto_merge);
    assert_eq!(
        finished(&gitlab, CORE, pipeline.id).await.status,
        PipelineStatus::Success
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = gitlab.merge_request(CORE, mr.iid).await.unwrap();
    assert_eq!(after.state, MergeRequestState::Opened);
    // Nothing to cancel any more: the merge request is returned as it is.
    assert!(
        !gitlab
            .cancel_auto_merge(CORE, mr.iid)
            .await
            .unwrap()
            .auto_merge
    );
}

#[tokio::test]
async fn merging_an_unknown_merge_request_is_not_found() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab
            .merge_when_pipeline_succeeds(CORE, 999, "0123456789")
            .await
            .unwrap_err(),
        ForgeError::NotFound(
            "merge request !999 in ios/core-kit: 404 Merge Request Not Found".into()
        )
    );
}

// ---- pipelines and jobs -----------------------------------------------------------------

#[tokio::test]
async fn a_merge_request_pipeline_runs_on_the_merge_request_ref() {
    let (simulator, gitlab) = start().await;
    let mr = gitlab
        .create_merge_request(&new_mr(
            CORE,
            "release/0.1.0",
            "main",
            "Release CoreKit 0.1.0",
        ))
        .await
        .unwrap();
    let pipeline = gitlab
        .create_merge_request_pipeline(CORE, mr.iid)
        .await
        .unwrap();
    assert_eq!(
        pipeline.git_ref,
        format!("refs/merge-requests/{}/head", mr.iid)
    );
    assert_eq!(
        pipeline.sha,
        simulator
            .world()
            .branch_head(CORE, "release/0.1.0")
            .unwrap()
    );
    assert_eq!(
        finished(&gitlab, CORE, pipeline.id).await.status,
        PipelineStatus::Success
    );
}

#[tokio::test]
async fn a_pipeline_for_an_unknown_merge_request_is_not_found() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab
            .create_merge_request_pipeline(CORE, 999)
            .await
            .unwrap_err(),
        ForgeError::NotFound(
            "merge request !999 in ios/core-kit: 404 Merge Request Not Found".into()
        )
    );
}

#[tokio::test]
async fn a_branch_pipeline_runs_and_its_failed_job_log_tail_says_why() {
    let (simulator, gitlab) = start().await;
    let created = gitlab.create_pipeline(CORE, "broken").await.unwrap();
    assert_eq!(created.git_ref, "broken");
    assert_eq!(
        created.sha,
        simulator.world().branch_head(CORE, "broken").unwrap()
    );
    let done = finished(&gitlab, CORE, created.id).await;
    assert_eq!(done.status, PipelineStatus::Failed);

    let jobs = gitlab.pipeline_jobs(CORE, created.id).await.unwrap();
    let names: Vec<(&str, &str, &PipelineStatus)> = jobs
        .iter()
        .map(|j| (j.name.as_str(), j.stage.as_str(), &j.status))
        .collect();
    assert_eq!(names, vec![("lint", "lint", &PipelineStatus::Failed)]);

    let tail = gitlab.job_log_tail(CORE, jobs[0].id, 3).await.unwrap();
    assert_eq!(
        tail,
        "    - ERROR | [iOS] xcodebuild: Sources/Broken.swift:1: error: cannot find 'BUG' in scope\n\
         [!] CoreKit did not pass validation, due to 1 error.\n\
         ERROR: Job failed: exit code 1"
    );
}

#[tokio::test]
async fn a_pipeline_for_an_unknown_ref_is_rejected_with_gitlab_s_reason() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab
            .create_pipeline(CORE, "no-such-branch")
            .await
            .unwrap_err(),
        ForgeError::Rejected {
            status: 400,
            message: "base Reference not found".into()
        }
    );
}

#[tokio::test]
async fn a_failed_pipeline_is_retried() {
    let (_simulator, gitlab) = start().await;
    let created = gitlab.create_pipeline(CORE, "broken").await.unwrap();
    finished(&gitlab, CORE, created.id).await;
    let retried = gitlab.retry_pipeline(CORE, created.id).await.unwrap();
    assert_eq!(retried.id, created.id);
    assert!(!retried.status.is_finished(), "{:?}", retried.status);
    assert_eq!(
        finished(&gitlab, CORE, created.id).await.status,
        PipelineStatus::Failed
    );
}

#[tokio::test]
async fn an_unknown_pipeline_is_not_found_to_read_retry_or_list_jobs() {
    let (_simulator, gitlab) = start().await;
    let not_found = ForgeError::NotFound("pipeline 999 in ios/core-kit: 404 Not found".into());
    assert_eq!(gitlab.pipeline(CORE, 999).await.unwrap_err(), not_found);
    assert_eq!(
        gitlab.retry_pipeline(CORE, 999).await.unwrap_err(),
        not_found
    );
    assert_eq!(
        gitlab.pipeline_jobs(CORE, 999).await.unwrap_err(),
        not_found
    );
}

#[tokio::test]
async fn the_log_of_an_unknown_job_is_not_found() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab.job_log_tail(CORE, 999, 10).await.unwrap_err(),
        ForgeError::NotFound("log of job 999 in ios/core-kit: 404 Not found".into())
    );
}

#[tokio::test]
async fn the_latest_pipeline_of_a_ref_is_the_newest_one() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(gitlab.latest_pipeline(CORE, "broken").await.unwrap(), None);
    let first = gitlab.create_pipeline(CORE, "broken").await.unwrap();
    let second = gitlab.create_pipeline(CORE, "broken").await.unwrap();
    assert!(second.id > first.id);
    assert_eq!(
        gitlab
            .latest_pipeline(CORE, "broken")
            .await
            .unwrap()
            .unwrap()
            .id,
        second.id
    );
    assert_eq!(
        gitlab
            .latest_pipeline(CORE, "no-such-branch")
            .await
            .unwrap(),
        None
    );
}

// ---- tags -------------------------------------------------------------------------------

#[tokio::test]
async fn a_tag_is_created_on_the_target_branch_head_and_read_back() {
    let (simulator, gitlab) = start().await;
    let head = simulator.world().branch_head(CORE, "main").unwrap();
    let created = gitlab
        .create_tag(CORE, "0.1.0", "main", "CoreKit 0.1.0")
        .await
        .unwrap();
    assert_eq!(created.name, "0.1.0");
    assert_eq!(created.commit_sha, head);
    assert_eq!(created.commit_message, "Initial commit");
    assert_eq!(created.message.as_deref(), Some("CoreKit 0.1.0"));
    assert_eq!(gitlab.tag(CORE, "0.1.0").await.unwrap(), Some(created));
    assert_eq!(simulator.world().tag(CORE, "0.1.0").unwrap().commit, head);
}

#[tokio::test]
async fn creating_a_tag_a_second_time_is_tag_exists() {
    let (simulator, gitlab) = start().await;
    gitlab.create_tag(CORE, "0.1.0", "main", "").await.unwrap();
    assert_eq!(
        gitlab
            .create_tag(CORE, "0.1.0", "release/0.1.0", "")
            .await
            .unwrap_err(),
        ForgeError::TagExists {
            tag: "0.1.0".into()
        }
    );
    assert_eq!(
        simulator.world().tag(CORE, "0.1.0").unwrap().commit,
        simulator.world().branch_head(CORE, "main").unwrap()
    );
}

#[tokio::test]
async fn a_tag_that_existed_before_convoy_is_tag_exists() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab
            .create_tag(CORE, "0.0.8", "main", "")
            .await
            .unwrap_err(),
        ForgeError::TagExists {
            tag: "0.0.8".into()
        }
    );
}

#[tokio::test]
async fn a_tag_on_an_unknown_ref_is_rejected() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab
            .create_tag(CORE, "0.1.0", "no-such-branch", "")
            .await
            .unwrap_err(),
        ForgeError::Rejected {
            status: 400,
            message: "Target no-such-branch is invalid".into()
        }
    );
}

#[tokio::test]
async fn a_missing_tag_is_none_and_a_tag_in_an_unknown_project_is_not_found() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(gitlab.tag(CORE, "9.9.9").await.unwrap(), None);
    let existing: Tag = gitlab.tag(CORE, "0.0.8").await.unwrap().unwrap();
    assert_eq!(existing.name, "0.0.8");
    assert_eq!(
        gitlab.tag("nobody/nothing", "0.0.8").await.unwrap_err(),
        ForgeError::NotFound("project nobody/nothing: 404 Project Not Found".into())
    );
}

// ---- hooks ------------------------------------------------------------------------------

#[tokio::test]
async fn the_project_hook_is_created_once_with_its_secret_and_events() {
    let (simulator, gitlab) = start().await;
    let url = "http://convoy.test/webhooks/gitlab";
    let first = gitlab.ensure_hook(CORE, url, "hook-secret").await.unwrap();
    let again = gitlab
        .ensure_hook(CORE, url, "rotated-secret")
        .await
        .unwrap();
    assert_eq!(again, first);
    let hooks = simulator.world().hooks(CORE);
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    assert_eq!((hook.id, hook.url.as_str()), (first.id, url));
    assert_eq!(hook.token.as_deref(), Some("rotated-secret"));
    assert!(hook.push_events && hook.tag_push_events && hook.merge_requests_events);
    assert!(hook.pipeline_events && hook.job_events);
}

#[tokio::test]
async fn a_hook_on_an_unknown_project_is_not_found() {
    let (_simulator, gitlab) = start().await;
    assert_eq!(
        gitlab
            .ensure_hook("nobody/nothing", "http://convoy.test/hook", "s")
            .await
            .unwrap_err(),
        ForgeError::NotFound("hooks of nobody/nothing: 404 Project Not Found".into())
    );
}

// ---- faults -----------------------------------------------------------------------------

#[tokio::test]
async fn injected_server_errors_are_retried_until_the_call_succeeds() {
    let (simulator, _default_client) = start().await;
    let faults = simulator.faults();
    faults.set_error_rate(1.0);
    let healer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        faults.set_error_rate(0.0);
    });
    let started = Instant::now();
    let gitlab = GitLab::new(
        &simulator.base_url(),
        TOKEN.into(),
        GitLabOptions {
            max_retries: 6,
            base_backoff: Duration::from_millis(30),
            ..options()
        },
    )
    .unwrap();
    assert_eq!(gitlab.project(CORE).await.unwrap().path, CORE);
    // At least one backoff was waited, so at least one 500 was retried.
    assert!(started.elapsed() >= Duration::from_millis(30));
    healer.await.unwrap();
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_and_the_call_succeeds() {
    let (simulator, gitlab) = start().await;
    let faults = simulator.faults();
    faults.set_rate_limit_rate(1.0);
    let healer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        faults.set_rate_limit_rate(0.0);
    });
    let started = Instant::now();
    assert_eq!(gitlab.branch(CORE, "main").await.unwrap().name, "main");
    // The simulator says `Retry-After: 1`; the backoff alone would be 20 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    healer.await.unwrap();
}

#[tokio::test]
async fn a_forge_that_always_fails_is_unavailable_after_the_retries() {
    let (simulator, _gitlab) = start().await;
    simulator.faults().set_error_rate(1.0);
    let gitlab = GitLab::new(
        &simulator.base_url(),
        TOKEN.into(),
        GitLabOptions {
            max_retries: 2,
            base_backoff: Duration::from_millis(5),
            ..options()
        },
    )
    .unwrap();
    let error = gitlab.project(CORE).await.unwrap_err();
    assert_eq!(
        error,
        ForgeError::Unavailable(
            "GET /api/v4/projects/ios%2Fcore-kit: GitLab answered 500 Internal Server Error: 500 Internal Server Error (gave up after 3 attempts)"
                .into()
        )
    );
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_slow_forge_times_out_into_unavailable() {
    let (simulator, _default_client) = start().await;
    simulator.faults().set_latency_ms(1_000);
    let impatient = GitLab::new(
        &simulator.base_url(),
        TOKEN.into(),
        GitLabOptions {
            timeout: Duration::from_millis(200),
            max_retries: 1,
            base_backoff: Duration::from_millis(5),
            ..GitLabOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        impatient.project(CORE).await.unwrap_err(),
        ForgeError::Unavailable(
            "GET /api/v4/projects/ios%2Fcore-kit: the request timed out (gave up after 2 attempts)"
                .into()
        )
    );
}

#[tokio::test]
async fn files_are_found_across_several_pages_of_the_tree() {
    let mut files = String::new();
    for i in 0..150 {
        files.push_str(&format!("          Sources/File{i:03}.swift: \"// {i}\"\n"));
    }
    let yaml = format!(
        "projects:\n  - path: ios/big\n    branches:\n      - name: main\n        files:\n{files}          Example/Podfile: \"pod 'Big'\"\n"
    );
    let simulator = RunningSimulator::start(SimulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.to_owned(),
        scenario: Scenario::from_yaml(&yaml).unwrap(),
    })
    .await
    .unwrap();
    let gitlab = GitLab::new(&simulator.base_url(), TOKEN.to_owned(), options()).unwrap();
    let swift = gitlab
        .find_files_with_suffix("ios/big", "main", &[".swift"], 5)
        .await
        .unwrap();
    assert_eq!(swift.len(), 150);
    assert_eq!(
        swift.first().map(String::as_str),
        Some("Sources/File000.swift")
    );
    assert_eq!(
        swift.last().map(String::as_str),
        Some("Sources/File149.swift")
    );
    assert_eq!(
        gitlab
            .find_files("ios/big", "main", "Podfile", 5)
            .await
            .unwrap(),
        vec!["Example/Podfile".to_owned()]
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
