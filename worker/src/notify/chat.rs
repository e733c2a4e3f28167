//! Chat: one message per release, posted once and edited as the release moves (at most once a
//! second), and a reply in its thread that mentions the owners when they must act. Convoy's
//! messages carry metadata naming what they are for, by which a retry finds them again.

use std::time::Duration;

use convoy_core::notices::{Mention, Notice};
use convoy_core::{ComponentState, MainReleaseState, StateName};
use convoy_store::{ComponentRelease, MainRelease, Notification};

use super::slack::{ChatError, Slack};
use super::{Outcome, event_reason, messages, people_to_ask};
use crate::context::Context;

/// A release's message is edited at most this often, so a burst of changes becomes one edit
/// showing the newest state (the channel's own pace is the Slack client's).
const EDIT_INTERVAL: Duration = Duration::from_secs(1);

pub(super) async fn deliver(
    ctx: &Context,
    slack: &Slack,
    release: &MainRelease,
    c: Option<&ComponentRelease>,
    n: &Notification,
) -> anyhow::Result<Outcome> {
    let outcome = match (n.notice, c) {
        (Notice::Status, _) => {
            let components = ctx.store.components(release.id).await?;
            let blocked = crate::advance::current_schedule(ctx, release)
                .await?
                .blocked
                .len();
            let text = progress_line(ctx, release, &components, blocked);
            write(ctx, slack, n, &text, None).await
        }
        (Notice::Mention(mention), Some(c)) => {
            let parent = ctx
                .store
                .notification_by_key(&format!("chat:status:{}", release.id))
                .await?
                .and_then(|row| row.external_id);
            let Some(parent) = parent else {
                // The release's message is not posted yet: its thread comes with it.
                return Ok(Outcome::NotYet);
            };
            let reason = event_reason(ctx, n).await?;
            let text = match ask(ctx, slack, release, c, mention, reason.as_deref()).await {
                Ok(text) => text,
                Err(error) => return Ok(failed(error)),
            };
            write(ctx, slack, n, &text, Some(&parent)).await
        }
        (Notice::Mention(_), None) | (Notice::Event, _) => return Ok(Outcome::NothingToSend),
    };
    Ok(outcome)
}

/// Posts the message once, or edits it (a reply is never edited: it was said).
async fn write(
    ctx: &Context,
    slack: &Slack,
    n: &Notification,
    text: &str,
    thread: Option<&str>,
) -> Outcome {
    let result = async {
        let known = match &n.external_id {
            Some(ts) => Some(ts.clone()),
            // Nobody set out to post this message before.
            None if n.writes == 0 => None,
            None => {
                let found = slack
                    .messages(thread)
                    .await?
                    .into_iter()
                    .find(|m| m.is_for(&n.key))
                    .map(|m| m.ts);
                if let Some(ts) = &found {
                    record_ts(ctx, n, ts).await?;
                }
                found
            }
        };
        match known {
            Some(_) if thread.is_some() || n.body.as_deref() == Some(text) => Ok(()),
            Some(ts) => slack.update(&ts, text).await,
            None => {
                ctx.store
                    .record_notification_writing(n.id)
                    .await
                    .map_err(|error| ChatError {
                        message: error.to_string(),
                        retry_after: None,
                    })?;
                let ts = slack.post(text, thread, &n.key).await?;
                record_ts(ctx, n, &ts).await
            }
        }
    }
    .await;
    match result {
        Ok(()) => Outcome::Sent {
            body: text.to_owned(),
            not_before: EDIT_INTERVAL,
        },
        Err(error) => failed(error),
    }
}

fn failed(error: ChatError) -> Outcome {
    Outcome::Failed {
        sentence: format!("the chat did not take Convoy's message: {error}"),
        retry_after: error.retry_after,
    }
}

async fn record_ts(ctx: &Context, n: &Notification, ts: &str) -> Result<(), ChatError> {
    ctx.store
        .record_notification_message(n.id, ts)
        .await
        .map_err(|error| ChatError {
            message: error.to_string(),
            retry_after: None,
        })
}

/// The release in one line: where it stands, how far it got, what needs a person (and how many
/// wait on that), and the link; when it ended well, every component with its version.
fn progress_line(
    ctx: &Context,
    release: &MainRelease,
    components: &[ComponentRelease],
    blocked: usize,
) -> String {
    let count = |state| components.iter().filter(|c| c.state == state).count();
    let released = count(ComponentState::Success);
    let mut line = format!(
        "Release {} of {} at {}: *{}*, {released}/{} released",
        release.id,
        release.app_project,
        release.app_ref,
        release.state.as_str(),
        components.len()
    );
    for (state, words) in [
        (ComponentState::Failed, "failed"),
        (ComponentState::Skipped, "skipped (a person releases them)"),
        (ComponentState::Canceled, "canceled"),
    ] {
        let n = count(state);
        if n > 0 {
            line.push_str(&format!(", {n} {words}"));
        }
    }
    if blocked > 0 {
        line.push_str(&format!(", {blocked} blocked by those"));
    }
    if release.state == MainReleaseState::Success && !components.is_empty() {
        let all: Vec<String> = components.iter().map(messages::title).collect();
        line.push_str(&format!(": {}", all.join(", ")));
    }
    line.push_str(&format!(". {}", link(ctx, release.id)));
    line
}

/// Slack's link syntax to the release page, or its number without a public URL.
fn link(ctx: &Context, release_id: i64) -> String {
    match &ctx.settings.public_url {
        Some(url) => format!(
            "<{}/releases/{release_id}|Watch it in Convoy>",
            url.trim_end_matches('/')
        ),
        None => format!("Watch it on Convoy's dashboard (release {release_id})."),
    }
}

/// The thread reply asking people to act, naming them as the chat knows them (`<@U…>`, found
/// by the email on their GitLab profile) or by their GitLab username.
async fn ask(
    ctx: &Context,
    slack: &Slack,
    release: &MainRelease,
    c: &ComponentRelease,
    mention: Mention,
    reason: Option<&str>,
) -> Result<String, ChatError> {
    let mut people = Vec::new();
    for username in people_to_ask(release, c) {
        people.push(chat_name(ctx, slack, &username).await?);
    }
    let (what, todo) = messages::asks(c, mention);
    let mut text = format!("{} *{}* {what}.", people.join(" "), messages::title(c));
    if let Some(reason) = reason {
        text.push_str(&messages::fenced(reason));
    }
    text.push_str(&format!("{todo} {}", link(ctx, release.id)));
    Ok(text)
}

async fn chat_name(ctx: &Context, slack: &Slack, username: &str) -> Result<String, ChatError> {
    let unknown = || format!("@{username}");
    let Ok(Some(user)) = ctx.forge.user(username).await else {
        return Ok(unknown());
    };
    let Ok(Some(email)) = ctx.forge.public_email(user.id).await else {
        return Ok(unknown());
    };
    Ok(match slack.user_by_email(&email).await? {
        Some(id) => format!("<@{id}>"),
        None => unknown(),
    })
}
