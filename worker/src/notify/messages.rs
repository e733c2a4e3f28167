//! The text of Convoy's merge request notes. Each starts with a hidden marker naming what it is
//! for, so Convoy finds its own note again. The status note names the owners without `@` (it
//! must not notify anyone on each edit); a mention names them with `@` (GitLab tells them).
//! Text from GitLab (a job's log tail) is fenced: GitLab reads no quick action and no
//! mention inside a code block.

use convoy_core::ComponentState;
use convoy_core::notices::Mention;
use convoy_store::{ComponentRelease, MainRelease, Notification};

use crate::context::Context;

/// The hidden first line of the note a row writes.
pub(super) fn marker(n: &Notification) -> String {
    match n.notice {
        convoy_core::notices::Notice::Status => format!(
            "<!-- convoy:status release={} component={} -->",
            n.release_id,
            n.component_id.unwrap_or_default()
        ),
        convoy_core::notices::Notice::Mention(_) | convoy_core::notices::Notice::Event => format!(
            "<!-- convoy:mention release={} event={} -->",
            n.release_id, n.event_id
        ),
    }
}

/// The status note: where the component stands now, edited in place as it moves.
pub(super) fn status(
    ctx: &Context,
    release: &MainRelease,
    c: &ComponentRelease,
    n: &Notification,
) -> String {
    let owners = match c.owners.as_deref() {
        Some([]) | None => "no owner".to_owned(),
        Some(owners) => owners
            .iter()
            .map(|o| format!("`{o}`"))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut text = format!(
        "{}\n**Convoy** · release {} of `{}` at `{}`\n\n**{}**: {}\n",
        marker(n),
        release.id,
        release.app_project,
        release.app_ref,
        title(c),
        where_it_stands(c),
    );
    if let Some(reason) = c.reason.as_deref().filter(|_| shows_reason(c.state)) {
        text.push_str(&fenced(reason));
    }
    text.push_str(&format!(
        "\nOwners: {owners}. {}\n",
        ctx.watch_sentence(release.id)
    ));
    text
}

/// A mention: asks the owners (or, with none, the release manager) to act, once.
pub(super) fn mention(
    ctx: &Context,
    release: &MainRelease,
    c: &ComponentRelease,
    n: &Notification,
    mention: Mention,
    reason: Option<&str>,
) -> String {
    let mut people = super::people_to_ask(release, c)
        .iter()
        .map(|person| format!("@{person}"))
        .collect::<Vec<_>>()
        .join(" ");
    if c.owners.as_deref().is_none_or(<[String]>::is_empty) {
        people.push_str(&format!(
            " ({} has no owner, so this goes to the release manager)",
            c.name
        ));
    }
    let (what, todo) = asks(c, mention);
    let mut text = format!("{}\n{people} **{}** {what}.\n", marker(n), title(c));
    if let Some(reason) = reason {
        text.push_str(&fenced(reason));
    }
    text.push_str(&format!("\n{todo} {}\n", ctx.watch_sentence(release.id)));
    text
}

/// What a mention says happened, and what the person asked does about it.
pub(super) fn asks(c: &ComponentRelease, mention: Mention) -> (&'static str, String) {
    match mention {
        Mention::Failed => (
            "stopped and needs you",
            "Fix what it says, then retry it in Convoy.".to_owned(),
        ),
        Mention::PipelineFailed => (
            "has a failing merge request pipeline now that its dependencies are released",
            format!(
                "Push a fix to `{}`: Convoy merges this merge request as soon as its pipeline passes.",
                c.branch
            ),
        ),
        Mention::Review => (
            "waits for your review",
            "Review this merge request, then mark it reviewed in Convoy: it merges once its pipeline passes.".to_owned(),
        ),
    }
}

pub(super) fn title(c: &ComponentRelease) -> String {
    match c.version.as_deref() {
        Some(version) => format!("{} {version}", c.name),
        None => c.name.clone(),
    }
}

/// Where the component stands, in a few words.
fn where_it_stands(c: &ComponentRelease) -> String {
    use ComponentState as State;
    match c.state {
        State::Waiting => "waiting to be deployed".to_owned(),
        State::Preparing => "preparing its merge request".to_owned(),
        State::Pending if c.reason.is_some() => {
            format!("its pipeline failed; push a fix to `{}`", c.branch)
        }
        State::Pending if c.acted => {
            "its dependencies are released; it merges when its pipeline passes".to_owned()
        }
        State::Pending => "waiting for its dependencies to be released".to_owned(),
        State::Merged => "merged; it is tagged once its dependencies are released".to_owned(),
        State::Deploying => match c.tag_name.as_deref() {
            Some(tag) => format!("tagged `{tag}`; waiting for the tag pipeline"),
            None => "being tagged".to_owned(),
        },
        State::Success => match c.released_by.as_deref() {
            Some(person) => format!("released (marked released by {person})"),
            None => "released".to_owned(),
        },
        State::Failed => "failed".to_owned(),
        State::Skipped => "skipped: a person releases it".to_owned(),
        State::Canceled => "canceled".to_owned(),
    }
}

/// States whose recorded reason belongs under the status line.
fn shows_reason(state: ComponentState) -> bool {
    matches!(
        state,
        ComponentState::Pending | ComponentState::Failed | ComponentState::Skipped
    )
}

/// `text` in a code block whose fence is longer than any run of backticks inside it.
pub(super) fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("\n{fence}\n{}\n{fence}\n", text.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_tail_is_fenced_so_gitlab_runs_no_quick_action_in_it() {
        let log = "error: CoreKit (= 0.1.0) not found\n/merge\n@all ```";
        let fenced = fenced(log);
        assert!(fenced.starts_with("\n````\n"), "{fenced}");
        assert!(fenced.ends_with("\n````\n"), "{fenced}");
        assert!(fenced.contains("\n/merge\n"));
        assert_eq!(super::fenced("plain"), "\n```\nplain\n```\n");
    }
}
