//! preparing: webhook, prechecks, podspec version bump, then the merge request.

use convoy_core::ci_config::{self, CiConfig, Runs, read_ci_config};
use convoy_core::component::ComponentEvent;
use convoy_core::manifest::podspec::{parse_podspec_file, rewrite_podspec_version};
use convoy_core::version::parse_pod_version;
use convoy_forge::{FileUpdate, ForgeError, MergeRequest, NewMergeRequest, Project};
use convoy_store::{ComponentRelease, MergeRequestRecord};

use crate::context::Context;
use crate::error::StepError;
use crate::owners::{assignee_ids, merge_request_description, owners};
use crate::record::{note, note_once};

/// Branches Convoy releases into.
const RELEASE_TARGETS: [&str; 2] = ["main", "master"];
const CI_CONFIG: &str = ".gitlab-ci.yml";

/// How long Convoy trusts that a project hook it made sure of is still there. Within it, the
/// project's other component releases skip listing its hooks; a hook deleted at GitLab is
/// restored once it has passed (and reconcile covers the webhooks missed meanwhile).
const HOOK_TRUSTED_FOR: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Makes sure the project sends Convoy its webhooks, unless Convoy did so recently for the same
/// URL and secret.
async fn ensure_hook(ctx: &Context, c: &ComponentRelease) -> Result<(), StepError> {
    let Some(url) = ctx.settings.hook_url() else {
        return Ok(());
    };
    let digest = secret_digest(&ctx.settings.webhook_secret);
    let ensured = ctx
        .store
        .hook_ensured_at(&c.project_path, &url, &digest)
        .await?;
    if ensured.is_some_and(|at| chrono::Utc::now() - at < HOOK_TRUSTED_FOR) {
        return Ok(());
    }
    ctx.still_current(c).await?;
    ctx.forge
        .ensure_hook(&c.project_path, &url, &ctx.settings.webhook_secret)
        .await?;
    ctx.store
        .record_hook_ensured(&c.project_path, &url, &digest)
        .await?;
    Ok(())
}

/// The hex SHA-256 of the webhook secret: what is stored to notice that it changed.
fn secret_digest(secret: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Prepares a component and says where it stands: merged already, MR open, or not releasable.
pub(crate) async fn prepare(
    ctx: &Context,
    c: &ComponentRelease,
) -> Result<ComponentEvent, StepError> {
    let project = ctx.forge.project(&c.project_path).await?;
    ensure_hook(ctx, c).await?;
    let target = project.default_branch.clone();
    if !RELEASE_TARGETS.contains(&target.as_str()) {
        let reason = format!(
            "its default branch is {target}, not main or master: release it by hand and mark it released"
        );
        return Ok(ComponentEvent::PreparedNotReleasable { reason });
    }
    ctx.store.set_component_target_branch(c.id, &target).await?;
    ensure_source_branch(ctx, c, &target).await?;
    check_merge_settings(ctx, c, &project).await?;
    if let Some(reason) = check_ci_config(ctx, c).await? {
        return Ok(ComponentEvent::PreparedNotReleasable { reason });
    }
    let owners = owners(ctx, c).await?;
    bump_podspec(ctx, c).await?;
    if c.branch == target
        || ctx
            .forge
            .is_merged(&c.project_path, &c.branch, &target)
            .await?
    {
        return Ok(ComponentEvent::PreparedAlreadyMerged {
            branch: c.branch.clone(),
            target,
        });
    }
    let mr = open_merge_request(ctx, c, &target, &owners).await?;
    Ok(ComponentEvent::PreparedMergeRequestOpened { iid: mr.iid })
}

/// GitLab deletes the source branch on merge by default: a retry after the merge (say, with
/// a new version) starts the branch again from the target.
async fn ensure_source_branch(
    ctx: &Context,
    c: &ComponentRelease,
    target: &str,
) -> Result<(), StepError> {
    if c.branch == target {
        return Ok(());
    }
    match ctx.forge.branch(&c.project_path, &c.branch).await {
        Ok(_) => Ok(()),
        Err(ForgeError::NotFound(_)) => {
            ctx.still_current(c).await?;
            ctx.forge
                .create_branch(&c.project_path, &c.branch, target)
                .await?;
            let reason = format!(
                "{} no longer existed (GitLab deletes a merged source branch): recreated it from {target}",
                c.branch
            );
            note(ctx, c, reason).await
        }
        Err(error) => Err(error.into()),
    }
}

/// Reads the project's merge settings: warns when GitLab would let a merge request merge
/// without a passing pipeline, and stops a fast-forward or semi-linear project whose branch
/// is behind the target (GitLab would refuse the merge until it is rebased).
async fn check_merge_settings(
    ctx: &Context,
    c: &ComponentRelease,
    project: &Project,
) -> Result<(), StepError> {
    if !project.only_allow_merge_if_pipeline_succeeds {
        let reason = format!(
            "{}: \"Pipelines must succeed\" is off, so GitLab lets a merge request merge without a passing pipeline; Convoy still asks GitLab to merge only once its pipeline runs for the head, and GitLab then waits for it to pass",
            c.project_path
        );
        note_once(ctx, c, reason).await?;
    }
    match project.merge_method.as_str() {
        "merge" => Ok(()),
        "ff" | "rebase_merge" => {
            let target = &project.default_branch;
            if c.branch == *target
                || ctx
                    .forge
                    .is_merged(&c.project_path, target, &c.branch)
                    .await?
            {
                return Ok(());
            }
            Err(StepError::Fatal(format!(
                "{} merges with merge method {} and {} is behind {target}: rebase {} on {target}, then retry",
                c.project_path, project.merge_method, c.branch, c.branch
            )))
        }
        other => {
            let reason = format!(
                "{}: unknown merge method {other}; Convoy merges as with a merge commit",
                c.project_path
            );
            note_once(ctx, c, reason).await
        }
    }
}

/// Reads the CI config: why the repository cannot publish by itself, if it cannot; otherwise
/// records whether the config runs no job in a merge request pipeline (Convoy then starts a
/// branch pipeline first, see `follow_merge_request::start_pipeline`).
async fn check_ci_config(ctx: &Context, c: &ComponentRelease) -> Result<Option<String>, StepError> {
    let text = match ctx
        .forge
        .read_file(&c.project_path, CI_CONFIG, &c.branch)
        .await
    {
        Ok(file) => file.content,
        Err(ForgeError::NotFound(_)) => {
            return Ok(Some(format!(
                "no {CI_CONFIG} on {}: release it by hand and mark it released",
                c.branch
            )));
        }
        Err(error) => return Err(error.into()),
    };
    let ci = match read_ci_config(&text) {
        Ok(ci) => ci,
        Err(error) => {
            return Ok(Some(format!(
                "{CI_CONFIG} on {} cannot be read ({error}): fix it, or release it by hand and mark it released",
                c.branch
            )));
        }
    };
    if let Some(problem) = publish_problem(&ci) {
        return Ok(Some(problem));
    }
    ctx.store
        .set_component_merge_request_jobs(c.id, runs_no_merge_request_job(&ci))
        .await?;
    Ok(None)
}

/// Whether a merge request pipeline of this config surely runs no job (GitLab refuses to
/// create it). Not when files are included: their jobs are not read.
fn runs_no_merge_request_job(ci: &CiConfig) -> bool {
    ci.includes.is_empty() && ci.runs_jobs_in(ci_config::Pipeline::MergeRequest) == Runs::No
}

/// Why the CI config cannot publish a release (no publish, deploy or release stage), if so.
fn publish_problem(ci: &CiConfig) -> Option<String> {
    if ci.publish_stage().is_some() {
        return None;
    }
    if !ci.includes.is_empty() {
        return Some(format!(
            "{CI_CONFIG} has no publish or deploy stage of its own (not read: included files {}): declare the stage in {CI_CONFIG}, or release it by hand and mark it released",
            ci.includes.join("; ")
        ));
    }
    Some(format!(
        "{CI_CONFIG} has no publish or deploy stage: release it by hand and mark it released"
    ))
}

/// Commits the release version into the podspec on the branch when the podspec's is lower.
/// Only the version literal changes. The commit carries no `[ci skip]`: it becomes the merge
/// request's head, whose pipeline must run (GitLab gives a `[ci skip]` head only skipped
/// pipelines, and auto-merge never fires on them).
async fn bump_podspec(ctx: &Context, c: &ComponentRelease) -> Result<(), StepError> {
    let (Some(path), Some(version)) = (&c.podspec_path, &c.version) else {
        return Err(StepError::Fatal(format!(
            "{} has no podspec or version recorded: retry the analysis",
            c.name
        )));
    };
    let target = parse_pod_version(version).ok_or_else(|| {
        StepError::Fatal(format!(
            "version {version} is not valid: change it and retry"
        ))
    })?;
    let file = ctx
        .forge
        .read_file(&c.project_path, path, &c.branch)
        .await?;
    let podspec = parse_podspec_file(path, &file.content)
        .map_err(|error| StepError::Fatal(format!("{path} cannot be read ({error})")))?;
    let current = podspec.version.as_deref().and_then(parse_pod_version);
    if current.as_ref().is_some_and(|current| *current >= target) {
        return Ok(());
    }
    let content = rewrite_podspec_version(path, &file.content, version).map_err(|error| {
        StepError::Fatal(format!("{path}: the version cannot be changed ({error})"))
    })?;
    let update = FileUpdate {
        project: c.project_path.clone(),
        file_path: path.clone(),
        branch: c.branch.clone(),
        content,
        commit_message: format!("Release {} {version}", c.name),
        last_commit_id: file.last_commit_id,
    };
    ctx.still_current(c).await?;
    match ctx.forge.update_file(&update).await {
        Ok(_) => {}
        // Someone pushed meanwhile: read again on the next pass rather than clobber.
        Err(ForgeError::FileChanged { path, .. }) => {
            return Err(StepError::Transient(format!(
                "{path} changed while Convoy bumped it"
            )));
        }
        Err(error) => return Err(error.into()),
    }
    let from = podspec.version.unwrap_or_else(|| "none".to_owned());
    note(
        ctx,
        c,
        format!(
            "{path}: version {from} → {version} committed to {}",
            c.branch
        ),
    )
    .await
}

/// Finds the open merge request from the branch into the target, or opens one.
async fn open_merge_request(
    ctx: &Context,
    c: &ComponentRelease,
    target: &str,
    owners: &[String],
) -> Result<MergeRequest, StepError> {
    let forge = &ctx.forge;
    let mr = match forge
        .find_open_merge_request(&c.project_path, &c.branch, target)
        .await?
    {
        Some(mr) => mr,
        None => {
            let version = c.version.as_deref().unwrap_or_default();
            let new = NewMergeRequest {
                project: c.project_path.clone(),
                source: c.branch.clone(),
                target: target.to_owned(),
                title: format!("Release {} {version}", c.name),
                description: merge_request_description(ctx, c, owners),
                assignee_ids: assignee_ids(ctx, c, owners).await?,
            };
            ctx.still_current(c).await?;
            forge.create_merge_request(&new).await?
        }
    };
    ctx.store
        .record_merge_request(c.id, &merge_request_record(&c.project_path, &mr))
        .await?;
    Ok(mr)
}

/// The store's record of a forge merge request.
pub(crate) fn merge_request_record(project: &str, mr: &MergeRequest) -> MergeRequestRecord {
    MergeRequestRecord {
        project_path: project.to_owned(),
        iid: mr.iid,
        source_branch: mr.source_branch.clone(),
        target_branch: mr.target_branch.clone(),
        state: mr.state.as_str().to_owned(),
        web_url: mr.web_url.clone(),
        auto_merge: mr.auto_merge,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(config: &str) -> Option<String> {
        publish_problem(&read_ci_config(config).expect("valid YAML"))
    }

    #[test]
    fn a_ci_config_with_a_publish_stage_can_release() {
        assert_eq!(problem("stages:\n  - lint\n  - publish\n"), None);
        assert_eq!(problem("stages: [lint, publish]\n"), None);
        assert_eq!(
            problem("push:\n  stage: deploy\n  script: pod trunk push\n"),
            None
        );
    }

    #[test]
    fn a_ci_config_without_publish_or_deploy_cannot_release() {
        let missing = Some(
            ".gitlab-ci.yml has no publish or deploy stage: release it by hand and mark it released"
                .to_owned(),
        );
        assert_eq!(problem("stages:\n  - lint\n  - test\n"), missing);
        assert_eq!(problem("# publish later\nstages:\n  - lint\n"), missing);
    }

    #[test]
    fn included_files_are_named_as_not_read_rather_than_misread() {
        assert_eq!(
            problem("include:\n  - local: ci/pod.yml\nstages: [lint]\n").unwrap(),
            ".gitlab-ci.yml has no publish or deploy stage of its own (not read: included files local: ci/pod.yml): declare the stage in .gitlab-ci.yml, or release it by hand and mark it released"
        );
    }

    #[test]
    fn a_config_without_merge_request_jobs_is_known_only_when_nothing_is_included() {
        let read = |text| runs_no_merge_request_job(&read_ci_config(text).unwrap());
        assert!(read(
            "stages: [lint, publish]\nlint:\n  stage: lint\n  script: pod lib lint\n"
        ));
        let for_merge_requests = "lint:\n  script: pod lib lint\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n";
        assert!(!read(for_merge_requests));
        assert!(!read(
            "include:\n  - local: ci/pod.yml\nlint:\n  script: pod lib lint\n"
        ));
    }
}
