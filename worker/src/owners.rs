//! A component's owners, resolved once when it is prepared: the configured owner table, else
//! the author of the release branch's newest commit that Convoy did not make, else nobody.
//! The merge request Convoy opens is assigned to them.

use convoy_core::owners::configured_owners;
use convoy_forge::Commit;
use convoy_store::ComponentRelease;

use crate::context::Context;
use crate::error::StepError;
use crate::record::note_once;

/// How many of the branch's newest commits are searched for one Convoy did not make.
const COMMITS_SEARCHED: usize = 20;

/// The component's owners: those recorded, or resolved now and recorded (empty: no owner).
pub(crate) async fn owners(ctx: &Context, c: &ComponentRelease) -> Result<Vec<String>, StepError> {
    if let Some(owners) = &c.owners {
        return Ok(owners.clone());
    }
    let owners = match configured_owners(&ctx.settings.owners, &c.name, &c.project_path) {
        Some(configured) => configured.to_vec(),
        None => branch_author(ctx, c).await?.into_iter().collect(),
    };
    ctx.store.set_component_owners(c.id, &owners).await?;
    Ok(owners)
}

/// The username of the newest commit on the release branch that Convoy did not make, when
/// its author's public email names exactly one GitLab user.
async fn branch_author(ctx: &Context, c: &ComponentRelease) -> Result<Option<String>, StepError> {
    let commits = ctx
        .forge
        .commits(&c.project_path, &c.branch, COMMITS_SEARCHED)
        .await?;
    let Some(commit) = commits.iter().find(|commit| !made_by_convoy(c, commit)) else {
        return Ok(None);
    };
    if commit.author_email.is_empty() {
        return Ok(None);
    }
    Ok(ctx
        .forge
        .user_by_email(&commit.author_email)
        .await?
        .map(|user| user.username))
}

/// Convoy's own commits: the podspec bump (titled `Release <name> <version>`, see
/// `steps::prepare::bump_podspec`) and merge commits, which are made by whoever merged.
fn made_by_convoy(c: &ComponentRelease, commit: &Commit) -> bool {
    let title = commit.message.lines().next().unwrap_or_default();
    commit.is_merge
        || title
            .strip_prefix("Release ")
            .and_then(|rest| rest.strip_prefix(c.name.as_str()))
            .is_some_and(|rest| rest.starts_with(' '))
}

/// The forge user ids of the owners; an owner the forge does not know is left out, with a
/// note in the release's log (written once).
pub(crate) async fn assignee_ids(
    ctx: &Context,
    c: &ComponentRelease,
    owners: &[String],
) -> Result<Vec<u64>, StepError> {
    let mut ids = Vec::with_capacity(owners.len());
    for owner in owners {
        match ctx.forge.user(owner).await? {
            Some(user) => ids.push(user.id),
            None => {
                let reason = format!(
                    "owner {owner} is not a GitLab user: the merge request is not assigned to them (fix the owner table)"
                );
                note_once(ctx, c, reason).await?;
            }
        }
    }
    Ok(ids)
}

/// What the merge request says: the release, its owners and where to watch it.
pub(crate) fn merge_request_description(
    ctx: &Context,
    c: &ComponentRelease,
    owners: &[String],
) -> String {
    let version = c.version.as_deref().unwrap_or_default();
    let owners = if owners.is_empty() {
        "no owner".to_owned()
    } else {
        owners
            .iter()
            .map(|o| format!("@{o}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let watch = ctx.watch_sentence(c.release_id);
    format!(
        "Convoy opened this merge request to release {} {version} (release {}): it merges when its pipeline passes.\n\nOwners: {owners}.\n\n{watch}",
        c.name, c.release_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_core::ComponentState;
    use convoy_testkit::component_release;

    fn commit(message: &str, is_merge: bool) -> Commit {
        Commit {
            id: "abc".to_owned(),
            message: message.to_owned(),
            author_name: "A".to_owned(),
            author_email: "a@example.com".to_owned(),
            is_merge,
        }
    }

    #[test]
    fn the_bump_and_merge_commits_are_convoys() {
        let c = component_release(1, "CoreKit", ComponentState::Preparing);
        assert!(made_by_convoy(&c, &commit("Release CoreKit 1.0.0", false)));
        assert!(made_by_convoy(
            &c,
            &commit("Merge branch 'x' into 'main'", true)
        ));
        assert!(!made_by_convoy(&c, &commit("Fix the lint warning", false)));
        assert!(!made_by_convoy(
            &c,
            &commit("Release CoreKitExtras 1.0", false)
        ));
    }
}
