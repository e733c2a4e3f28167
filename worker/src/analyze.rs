//! Analysis: find the app's Podfile, read each component's podspec, build and store the plan.

use std::collections::BTreeMap;

use convoy_core::main_release::MainReleaseEvent;
use convoy_core::manifest::podfile::{PodDependency, PodSource, parse_podfile};
use convoy_core::manifest::podspec::parse_podspec_file;
use convoy_core::plan::{ComponentInput, ReleasePlan, project_path_from_git_url};
use convoy_forge::{FileContent, ForgeError};
use convoy_store::{MainRelease, NewEvent};
use futures::{StreamExt, TryStreamExt};

use crate::advance::{ACTOR, apply_release_event};
use crate::context::Context;
use crate::error::StepError;

/// The Podfile may sit this many directories below the root (`Example/Podfile` is 1).
const PODFILE_MAX_DEPTH: usize = 5;

/// Analyzes the release and moves it to waiting (plan stored) or failed (with the reason).
pub(crate) async fn analyze(ctx: &Context, release: &MainRelease) -> Result<(), StepError> {
    match build_plan(ctx, release).await {
        Ok((plan, podfile, warnings)) => {
            // Recorded only once the plan stands, so a retried analysis does not repeat them.
            for warning in warnings {
                record_note(ctx, release.id, warning).await?;
            }
            let store = &ctx.store;
            store
                .set_manifest(release.id, &podfile.path, &podfile.last_commit_id)
                .await?;
            store.save_plan(release.id, &plan, ACTOR).await?;
            apply_release_event(ctx, release, &MainReleaseEvent::Analyzed).await
        }
        Err(StepError::Fatal(reason)) => {
            apply_release_event(ctx, release, &MainReleaseEvent::AnalysisFailed { reason }).await
        }
        Err(transient) => Err(transient),
    }
}

async fn build_plan(
    ctx: &Context,
    release: &MainRelease,
) -> Result<(ReleasePlan, FileContent, Vec<String>), StepError> {
    let podfile_file = read_podfile(ctx, release).await?;
    let podfile = parse_podfile(&podfile_file.content).map_err(|error| {
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
    let wanted = components_to_release(&podfile.dependencies)?;
    let inputs: Vec<ComponentInput> = futures::stream::iter(wanted)
        .map(|wanted| read_component(ctx, wanted))
        .buffered(ctx.settings.analysis_concurrency.max(1))
        .try_collect()
        .await?;
    let plan = ReleasePlan::build(inputs)
        .map_err(|error| StepError::Fatal(format!("the release plan cannot be built: {error}")))?;
    Ok((plan, podfile_file, warnings))
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

/// One entry per pod (subspecs and targets folded) for the git dependencies on a branch.
fn components_to_release(
    dependencies: &[PodDependency],
) -> Result<Vec<WantedComponent>, StepError> {
    let mut wanted: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    for dependency in dependencies.iter().filter(|d| d.needs_release) {
        let PodSource::Git { url, branch, .. } = &dependency.source else {
            continue;
        };
        let name = dependency.root_name().to_owned();
        let source = (url.clone(), branch.clone());
        match wanted.get(&name) {
            Some(existing) if *existing != source => {
                return Err(StepError::Fatal(format!(
                    "{name} is declared twice with different git sources: make the Podfile use one"
                )));
            }
            _ => {
                wanted.insert(name, source);
            }
        }
    }
    Ok(wanted
        .into_iter()
        .map(|(name, (git_url, branch))| WantedComponent {
            name,
            git_url,
            branch,
        })
        .collect())
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
    let podspec = parse_podspec_file(&podspec_path, &file.content).map_err(|error| {
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
    let mut found = ctx
        .forge
        .find_files_with_suffix(project, branch, ".podspec", 1)
        .await
        .map_err(|error| not_found_as(error, context.clone()))?;
    found.extend(
        ctx.forge
            .find_files_with_suffix(project, branch, ".podspec.json", 1)
            .await
            .map_err(|error| not_found_as(error, context.clone()))?,
    );
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
