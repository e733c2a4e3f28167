//! Merge request notes: the status note of a component, edited in place, and a note per
//! mention. Before creating a note again Convoy looks for its own by the marker it starts with.

use std::time::Duration;

use convoy_core::notices::Notice;
use convoy_forge::{ForgeError, Note};
use convoy_store::{ComponentRelease, MainRelease, Notification};

use super::{Outcome, event_reason, messages};
use crate::context::Context;

/// A status note is edited at most this often, so that a burst of changes (merged, tagged and
/// released within a second) becomes one edit showing the newest state rather than one
/// request to GitLab each.
const EDIT_INTERVAL: Duration = Duration::from_secs(1);

pub(super) async fn deliver(
    ctx: &Context,
    release: &MainRelease,
    c: &ComponentRelease,
    n: &Notification,
) -> Outcome {
    let Some(iid) = c.merge_request_iid else {
        // Nothing to write on yet; the next state change (the merge request opened) asks again.
        return Outcome::NothingToSend;
    };
    let body = match n.notice {
        Notice::Status => messages::status(ctx, release, c, n),
        Notice::Mention(mention) => match event_reason(ctx, n).await {
            Ok(reason) => messages::mention(ctx, release, c, n, mention, reason.as_deref()),
            Err(error) => return failed(c, iid, &error.to_string()),
        },
        Notice::Event => return Outcome::NothingToSend,
    };
    match write(ctx, n, &c.project_path, iid, &body).await {
        Ok(()) => Outcome::Sent {
            body,
            not_before: EDIT_INTERVAL,
        },
        Err(error) => failed(c, iid, &error.to_string()),
    }
}

fn failed(c: &ComponentRelease, iid: u64, error: &str) -> Outcome {
    Outcome::Failed {
        sentence: format!(
            "GitLab did not take Convoy's note on merge request !{iid} of {}: {error}",
            c.project_path
        ),
        retry_after: None,
    }
}

/// Edits the status note in place, or creates the note once. Before creating one it looks for
/// Convoy's own when a worker set out to write it before (one killed after GitLab answered
/// never recorded it).
async fn write(
    ctx: &Context,
    n: &Notification,
    project: &str,
    iid: u64,
    body: &str,
) -> Result<(), ForgeError> {
    let known = match n.external_id.as_deref().and_then(|id| id.parse().ok()) {
        Some(id) => Some(id),
        // Nobody set out to write this note before.
        None if n.writes == 0 => None,
        None => {
            let marker = messages::marker(n);
            let notes = ctx.forge.merge_request_notes(project, iid).await?;
            let found = own_note(&notes, &marker).map(|note| note.id);
            if let Some(id) = found {
                record_note_id(ctx, n, id).await?;
            }
            found
        }
    };
    match (known, n.notice) {
        // A mention is never edited: it was said.
        (Some(_), Notice::Mention(_) | Notice::Event) => Ok(()),
        (Some(_), Notice::Status) if n.body.as_deref() == Some(body) => Ok(()),
        (Some(id), Notice::Status) => ctx
            .forge
            .edit_merge_request_note(project, iid, id, body)
            .await
            .map(drop),
        (None, _) => {
            ctx.store
                .record_notification_writing(n.id)
                .await
                .map_err(|error| ForgeError::Unavailable(error.to_string()))?;
            let note = ctx
                .forge
                .create_merge_request_note(project, iid, body)
                .await?;
            record_note_id(ctx, n, note.id).await
        }
    }
}

fn own_note<'a>(notes: &'a [Note], marker: &str) -> Option<&'a Note> {
    notes
        .iter()
        .find(|note| !note.system && note.body.starts_with(marker))
}

async fn record_note_id(ctx: &Context, n: &Notification, id: u64) -> Result<(), ForgeError> {
    ctx.store
        .record_notification_message(n.id, &id.to_string())
        .await
        .map_err(|error| ForgeError::Unavailable(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_convoys_own_note_is_found() {
        let note = |id, body: &str, system| Note {
            id,
            body: body.to_owned(),
            system,
        };
        let marker = "<!-- convoy:status release=1 component=2 -->";
        let notes = [
            note(1, "merged", true),
            note(2, &format!("> {marker} quoted by a person"), false),
            note(3, &format!("{marker}\nCoreKit is released"), false),
        ];
        assert_eq!(own_note(&notes, marker).map(|n| n.id), Some(3));
        assert_eq!(own_note(&notes[..2], marker), None);
    }
}
