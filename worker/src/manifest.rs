//! The last step of a main release: the app's Podfile pins every released version.

use convoy_core::main_release::MainReleaseEvent;
use convoy_core::manifest::template::{Pin, render_podfile_template};
use convoy_forge::{FileUpdate, ForgeError};
use convoy_store::MainRelease;

use crate::context::Context;
use crate::error::StepError;

/// The template that sits next to the Podfile.
const TEMPLATE_NAME: &str = "PodfileTemplate";

/// Rewrites the Podfile from its template, refusing to overwrite a Podfile that changed since
/// analysis read it. Returns the event that ends the release.
pub(crate) async fn rewrite_manifest(
    ctx: &Context,
    release: &MainRelease,
) -> Result<MainReleaseEvent, StepError> {
    let (Some(path), Some(read_at)) = (&release.manifest_path, &release.manifest_commit_id) else {
        return Ok(failed(
            "the Podfile was never read: retry the release".to_owned(),
        ));
    };
    let (project, git_ref) = (&release.app_project, &release.app_ref);
    let template_path = sibling(path, TEMPLATE_NAME);
    let template = match ctx.forge.read_file(project, &template_path, git_ref).await {
        Ok(file) => file.content,
        Err(ForgeError::NotFound(_)) => {
            return Ok(failed(format!(
                "no {template_path} on {git_ref}: add one with :TRIPLECCREPLACEME where the released pods go, then retry"
            )));
        }
        Err(error) => return Err(error.into()),
    };
    let pins: Vec<Pin> = ctx
        .store
        .components(release.id)
        .await?
        .into_iter()
        .filter_map(|c| {
            c.version.map(|version| Pin {
                name: c.name,
                version,
            })
        })
        .collect();
    let rendered = match render_podfile_template(&template, &pins) {
        Ok(text) => text,
        Err(error) => return Ok(failed(format!("{template_path} cannot be used: {error}"))),
    };
    let current = ctx.forge.read_file(project, path, git_ref).await?;
    if current.content == rendered {
        // Written by an earlier run that stopped before recording it.
        return Ok(MainReleaseEvent::ManifestRewritten);
    }
    let update = FileUpdate {
        project: project.clone(),
        file_path: path.clone(),
        branch: git_ref.clone(),
        content: rendered,
        commit_message: format!("Pin the {} released components in {path}", pins.len()),
        last_commit_id: read_at.clone(),
    };
    ctx.release_still_current(release).await?;
    match ctx.forge.update_file(&update).await {
        Ok(_) => Ok(MainReleaseEvent::ManifestRewritten),
        Err(ForgeError::FileChanged { .. }) => Ok(failed(format!(
            "{path} on {git_ref} changed since Convoy read it, so Convoy did not overwrite it: pin the released versions by hand, or retry to analyze again"
        ))),
        Err(error) => Err(error.into()),
    }
}

fn failed(reason: String) -> MainReleaseEvent {
    MainReleaseEvent::ManifestFailed { reason }
}

/// `Example/Podfile` + `PodfileTemplate` → `Example/PodfileTemplate`.
fn sibling(path: &str, name: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{name}"),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::sibling;

    #[test]
    fn the_template_sits_next_to_the_podfile() {
        assert_eq!(sibling("Podfile", "PodfileTemplate"), "PodfileTemplate");
        assert_eq!(
            sibling("Example/Podfile", "PodfileTemplate"),
            "Example/PodfileTemplate"
        );
    }
}
