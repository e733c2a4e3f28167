//! Analysis: find the app's Podfile, read each component's podspec, build and store the plan.

use std::collections::HashMap;

use convoy_core::MainReleaseState;
use convoy_core::main_release::{self, MainReleaseEvent};
use convoy_core::manifest::podfile::{PodSource, Podfile, parse_podfile};
use convoy_core::manifest::podspec::parse_podspec_file;
use convoy_core::plan::{ComponentInput, ReleasePlan, project_path_from_git_url};
use convoy_forge::{FileContent, ForgeError};
use convoy_store::{MainRelease, NewEvent};
use futures::{StreamExt, TryStreamExt};

use crate::context::Context;
use crate::error::StepError;
use crate::record::{self, ACTOR};

/// The Podfile may sit this many directories below the root (`Example/Podfile` is 1).
const PODFILE_MAX_DEPTH: usize = 5;

/// Analyzes the release and moves it to waiting (plan stored) or failed (with the reason).
pub(crate) async fn analyze(ctx: &Context, release: &MainRelease) -> Result<(), StepError> {
    let what = format!("analyzing release {}", release.id);
    match crate::failures::caught(&what, build_plan(ctx, release)).await {
        Ok((plan, podfile, warnings)) => {
            if !still_analyzing(ctx, release.id).await? {
                // Canceled (or moved on) while the manifests were read: the plan is not wanted.
                return Ok(());
            }
            if let Some(reason) = component_released_elsewhere(ctx, release.id, &plan).await? {
                let failed = MainReleaseEvent::AnalysisFailed { reason };
                return record::release_event(ctx, release, &failed).await;
            }
            // Recorded only once the plan stands, so a retried analysis does not repeat them.
            for warning in warnings {
                record_note(ctx, release.id, warning).await?;
            }
            // The plan is stored and the release moves on only if it is still analyzing in
            // that same transaction: a cancel that came meanwhile wins.
            let analyzed = main_release::decide(release.state, &MainReleaseEvent::Analyzed)?;
            let manifest = (podfile.path.as_str(), podfile.last_commit_id.as_str());
            if !ctx
                .store
                .save_analysis(release.id, manifest, &plan, &analyzed, ACTOR)
                .await?
            {
                tracing::info!(
                    release_id = release.id,
                    "analysis ended after a cancel: plan dropped"
                );
            }
            Ok(())
        }
        Err(StepError::Fatal(reason)) => {
            record::release_event(ctx, release, &MainReleaseEvent::AnalysisFailed { reason }).await
        }
        Err(transient) => Err(transient),
    }
}

async fn build_plan(
    ctx: &Context,
    release: &MainRelease,
) -> Result<(ReleasePlan, FileContent, Vec<String>), StepError> {
    let podfile_file = read_podfile(ctx, release).await?;
    let (podfile_file, parsed) =
        off_runtime(podfile_file, |file| parse_podfile(&file.content)).await?;
    let podfile = parsed.map_err(|error| {
        StepError::Fatal(format!(
            "{} cannot be read ({error}): fix the Podfile on {} and retry",
            podfile_file.path, release.app_ref
        ))
    })?;
    let warnings = podfile
        .warnings
        .iter()
        .map(|w| format!("{} line {}: {}", podfile_file.path, w.line, w.message))
        .collect();
    let wanted = components_to_release(&podfile)?;
    let inputs: Vec<ComponentInput> = futures::stream::iter(wanted)
        .map(|wanted| read_component(ctx, wanted))
        .buffered(ctx.settings.analysis_concurrency.max(1))
        .try_collect()
        .await?;
    let plan = ReleasePlan::build(inputs)
        .map_err(|error| StepError::Fatal(format!("the release plan cannot be built: {error}")))?;
    Ok((plan, podfile_file, warnings))
}

/// Why the plan cannot go on, if another active release (of any app) is releasing one of its
/// components: two releases would each bump, merge and tag it (issue 14 point 5). Refused
/// rather than queued, so that nobody waits on a release they do not see; the sentence names
/// the other release. A release is never refused for a component of its own app and ref:
/// that release is itself (one active release per app and ref).
async fn component_released_elsewhere(
    ctx: &Context,
    release_id: i64,
    plan: &ReleasePlan,
) -> Result<Option<String>, StepError> {
    let projects: Vec<&str> = plan
        .components
        .iter()
        .map(|c| c.project_path.as_str())
        .collect();
    let Some(busy) = ctx.store.busy_component(release_id, &projects).await? else {
        return Ok(None);
    };
    Ok(Some(format!(
        "{} ({}) is being released by release {} of {} at {}, which is still {}: a component \
         is released by one release at a time; finish or cancel release {}, then start this \
         release again",
        busy.name,
        busy.project_path,
        busy.release_id,
        busy.app_project,
        busy.app_ref,
        busy.release_state,
        busy.release_id
    )))
}

/// Whether the release is still being analyzed (a cancel may have come while it was read).
async fn still_analyzing(ctx: &Context, release_id: i64) -> Result<bool, StepError> {
    let current = ctx.store.main_release(release_id).await?;
    Ok(current.is_some_and(|r| r.state == MainReleaseState::Analyzing))
}

/// Runs `parse` on a blocking thread: reading a large manifest is CPU work that must not hold
/// up the async runtime (API requests, webhooks, other releases) while it runs. The file is
/// handed back with the result.
async fn off_runtime<T: Send + 'static>(
    file: FileContent,
    parse: fn(&FileContent) -> T,
) -> Result<(FileContent, T), StepError> {
    let path = file.path.clone();
    tokio::task::spawn_blocking(move || {
        let parsed = parse(&file);
        (file, parsed)
    })
    .await
    .map_err(|error| {
        StepError::Fatal(format!(
            "reading {path} stopped unexpectedly ({error}): report this with the file"
        ))
    })
}

async fn read_podfile(ctx: &Context, release: &MainRelease) -> Result<FileContent, StepError> {
    let (project, git_ref) = (&release.app_project, &release.app_ref);
    let paths = ctx
        .forge
        .find_files(project, git_ref, "Podfile", PODFILE_MAX_DEPTH)
        .await
        .map_err(|error| not_found_as(error, format!("{project} at {git_ref} cannot be read")))?;
    let Some(path) = paths.first() else {
        return Err(StepError::Fatal(format!(
            "no Podfile in {project} at {git_ref} (looked {PODFILE_MAX_DEPTH} directories deep): check the project and ref"
        )));
    };
    Ok(ctx.forge.read_file(project, path, git_ref).await?)
}

/// A component as the Podfile names it.
struct WantedComponent {
    name: String,
    git_url: String,
    branch: Option<String>,
}

/// The Podfile's components to release (the core picks one declaration per pod). Only one
/// source of a pod can be released, so a second declaration on another source fails the
/// analysis instead of trusting the first.
fn components_to_release(podfile: &Podfile) -> Result<Vec<WantedComponent>, StepError> {
    let chosen = podfile.components_to_release().map_err(StepError::Fatal)?;
    let mut sources: HashMap<&str, Vec<&PodSource>> = HashMap::new();
    for dependency in podfile.dependencies.iter().filter(|d| d.needs_release) {
        sources
            .entry(dependency.root_name())
            .or_default()
            .push(&dependency.source);
    }
    let mut wanted = Vec::new();
    for first in chosen {
        let name = first.root_name();
        let conflict = sources[name].iter().any(|source| **source != first.source);
        if conflict {
            return Err(StepError::Fatal(format!(
                "{name} is declared twice with different git sources: make the Podfile use one"
            )));
        }
        if let PodSource::Git { url, branch, .. } = &first.source {
            wanted.push(WantedComponent {
                name: name.to_owned(),
                git_url: url.clone(),
                branch: branch.clone(),
            });
        }
    }
    Ok(wanted)
}

async fn read_component(
    ctx: &Context,
    wanted: WantedComponent,
) -> Result<ComponentInput, StepError> {
    let name = &wanted.name;
    let project_path = project_path_from_git_url(&wanted.git_url).ok_or_else(|| {
        StepError::Fatal(format!(
            "{name}: cannot tell the project of git URL {}",
            wanted.git_url
        ))
    })?;
    let branch = match &wanted.branch {
        Some(branch) => branch.clone(),
        None => {
            let project = ctx.forge.project(&project_path).await.map_err(|error| {
                not_found_as(
                    error,
                    format!("{name}: project {project_path} cannot be read"),
                )
            })?;
            project.default_branch
        }
    };
    let podspec_path = find_podspec(ctx, name, &project_path, &branch).await?;
    let file = ctx
        .forge
        .read_file(&project_path, &podspec_path, &branch)
        .await?;
    let (_, parsed) =
        off_runtime(file, |file| parse_podspec_file(&file.path, &file.content)).await?;
    let podspec = parsed.map_err(|error| {
        StepError::Fatal(format!(
            "{name}: {podspec_path} on {branch} cannot be read ({error})"
        ))
    })?;
    Ok(ComponentInput {
        name: name.clone(),
        git_url: wanted.git_url,
        branch,
        project_path,
        podspec_path,
        podspec,
    })
}

/// `Name.podspec` or `Name.podspec.json` at the root, else the only podspec near the root.
async fn find_podspec(
    ctx: &Context,
    name: &str,
    project: &str,
    branch: &str,
) -> Result<String, StepError> {
    let context = format!("{name}: {project} at {branch} cannot be read");
    let found = ctx
        .forge
        .find_files_with_suffix(project, branch, &[".podspec", ".podspec.json"], 1)
        .await
        .map_err(|error| not_found_as(error, context))?;
    for preferred in [format!("{name}.podspec"), format!("{name}.podspec.json")] {
        if found.contains(&preferred) {
            return Ok(preferred);
        }
    }
    match found.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(StepError::Fatal(format!(
            "{name}: no podspec in {project} at {branch}: add {name}.podspec to the repository"
        ))),
        _ => Err(StepError::Fatal(format!(
            "{name}: several podspecs in {project} at {branch} ({}) and none is named {name}.podspec",
            found.join(", ")
        ))),
    }
}

/// A forge "not found" during analysis means the user named something that is not there.
fn not_found_as(error: ForgeError, sentence: String) -> StepError {
    match error {
        ForgeError::NotFound(what) => StepError::Fatal(format!(
            "{sentence}: {what} not found. Check the name and the ref"
        )),
        other => other.into(),
    }
}

async fn record_note(ctx: &Context, release_id: i64, reason: String) -> Result<(), StepError> {
    let event = NewEvent {
        release_id,
        component_id: None,
        actor: ACTOR.to_owned(),
        kind: "warning".to_owned(),
        reason: Some(reason),
    };
    ctx.store.append_event(&event).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use convoy_core::manifest::podfile::parse_podfile;
    use convoy_forge::FileContent;

    use super::{components_to_release, off_runtime};

    #[tokio::test(flavor = "current_thread")]
    async fn manifests_are_parsed_on_a_blocking_thread_not_on_the_runtime() {
        let file = FileContent {
            path: "Podfile".to_owned(),
            content: "pod 'A'\n".to_owned(),
            last_commit_id: "c1".to_owned(),
        };
        let (file, parsed_on) = off_runtime(file, |_| std::thread::current().id())
            .await
            .unwrap();
        assert_eq!(file.path, "Podfile");
        assert_ne!(parsed_on, std::thread::current().id());
    }

    #[test]
    fn a_pod_to_release_only_under_a_condition_fails_the_analysis_with_the_condition() {
        let podfile = parse_podfile(
            "target 'App' do\n  pod 'Kit', :git => 'https://h/ios/kit.git', :branch => 'release/1.0.0' if ENV['CI']\nend\n",
        )
        .unwrap();
        let error = components_to_release(&podfile).err().expect("undecidable");
        assert_eq!(
            error.to_string(),
            "pod 'Kit' (line 2) needs release but is declared only under `if ENV['CI']` (line 2), \
             which Convoy cannot evaluate: declare it outside the condition, or pin it to a tag, \
             and retry"
        );
    }

    #[test]
    fn subspecs_and_targets_of_one_pod_make_one_component() {
        let podfile = parse_podfile(
            "target 'App' do\n  pod 'Kit/Core', :git => 'https://h/ios/kit.git', :branch => 'release/1.0.0'\n  pod 'Kit/UI', :git => 'https://h/ios/kit.git', :branch => 'release/1.0.0'\n  pod 'Alamofire', '~> 5.0'\nend\n",
        )
        .unwrap();
        let wanted = components_to_release(&podfile).unwrap();
        assert_eq!(wanted.len(), 1);
        assert_eq!(wanted[0].name, "Kit");
        assert_eq!(wanted[0].branch.as_deref(), Some("release/1.0.0"));
    }

    #[test]
    fn one_pod_on_two_branches_fails_the_analysis_with_advice() {
        let podfile = parse_podfile(
            "target 'App' do\n  pod 'Kit', :git => 'https://h/ios/kit.git', :branch => 'release/1.0.0'\nend\ntarget 'Tests' do\n  pod 'Kit', :git => 'https://h/ios/kit.git', :branch => 'release/1.1.0'\nend\n",
        )
        .unwrap();
        let error = components_to_release(&podfile).err().expect("a conflict");
        assert_eq!(
            error.to_string(),
            "Kit is declared twice with different git sources: make the Podfile use one"
        );
    }
}
