//! What Convoy tells a component's people when the component changes state: the one rule the
//! notifications follow, whatever the channel (merge request notes today).
//!
//! Every change updates the component's status (one message, edited in place). A mention —
//! a new message that names the owners — is sent only when a person must act: the component
//! failed, its merge request pipeline failed after its dependencies were released (the owner
//! pushes a fix), or its merge request waits at the review gate. Which channels an app's
//! notifications go to is a table of app project patterns ([`channels_for`]).

use serde::{Deserialize, Serialize};

use crate::component::ComponentState;
use crate::pattern_rules;

/// Something to tell about one state change of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The status message moves on.
    Status,
    /// The owners are asked to act.
    Mention(Mention),
    /// The state change itself, sent as it is to a machine (a webhook receiver).
    Event,
}

/// Why the owners are asked to act. The component machine says so with each transition
/// (`ComponentTransition::mention`); the review gate is the release's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mention {
    /// It stopped on something a person must fix (the reason says what).
    Failed,
    /// Its merge request pipeline failed after its dependencies were out.
    PipelineFailed,
    /// Its merge request waits for a review before Convoy merges it.
    Review,
}

impl Mention {
    /// Its name, as notifications are stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Mention::Failed => "failed",
            Mention::PipelineFailed => "pipeline_failed",
            Mention::Review => "review",
        }
    }

    /// The mention named `name` (see [`Mention::as_str`]).
    pub fn parse(name: &str) -> Option<Mention> {
        [Mention::Failed, Mention::PipelineFailed, Mention::Review]
            .into_iter()
            .find(|m| m.as_str() == name)
    }
}

/// One recorded state change of a component, as far as notices go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    pub from: Option<ComponentState>,
    pub to: ComponentState,
    /// Why the owners must act, as the component machine said with the change.
    pub asked: Option<Mention>,
    /// The release asks for a review of every merge request before it is merged.
    pub require_review: bool,
}

/// What to tell about `change`.
///
/// ```
/// use convoy_core::ComponentState::{Failed, Pending, Preparing};
/// use convoy_core::notices::{notices, Mention, Notice, StateChange};
///
/// let failed = StateChange { from: Some(Pending), to: Failed, asked: Some(Mention::Failed), require_review: false };
/// assert_eq!(notices(&failed), [Notice::Status, Notice::Mention(Mention::Failed)]);
///
/// let opened = StateChange { from: Some(Preparing), to: Pending, asked: None, require_review: true };
/// assert_eq!(notices(&opened), [Notice::Status, Notice::Mention(Mention::Review)]);
/// ```
pub fn notices(change: &StateChange) -> Vec<Notice> {
    use ComponentState as State;
    let at_review_gate = change.require_review
        && change.from == Some(State::Preparing)
        && change.to == State::Pending;
    let mention = change.asked.or(at_review_gate.then_some(Mention::Review));
    let mut notices = vec![Notice::Status];
    notices.extend(mention.map(Notice::Mention));
    notices
}

/// Which channels an app's notifications go to (each only when it is configured at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelChoice {
    /// Notes on the components' merge requests.
    pub notes: bool,
    pub chat: bool,
    pub webhooks: bool,
}

impl ChannelChoice {
    /// Every channel: what an app no rule names gets.
    pub const ALL: ChannelChoice = ChannelChoice {
        notes: true,
        chat: true,
        webhooks: true,
    };
}

/// One line of the notification table: the channels of the apps whose project path matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRule {
    /// An app project path, `*` matching any run of characters (`mobile/*`).
    pub pattern: String,
    pub channels: ChannelChoice,
}

impl ChannelRule {
    /// Reads `pattern` and its channel names: `notes`, `chat`, `webhooks`, or `none`.
    pub fn new(pattern: &str, names: &[String]) -> Result<ChannelRule, String> {
        let pattern = pattern.trim();
        if pattern.is_empty() {
            return Err("a notification rule has an empty app project path".to_owned());
        }
        let mut channels = ChannelChoice {
            notes: false,
            chat: false,
            webhooks: false,
        };
        for name in names.iter().map(|n| n.trim()) {
            match name {
                "notes" => channels.notes = true,
                "chat" => channels.chat = true,
                "webhooks" => channels.webhooks = true,
                "none" => {}
                other => {
                    return Err(format!(
                        "notification channel \"{other}\" of {pattern} is none of notes, chat, webhooks, none"
                    ));
                }
            }
        }
        if names.is_empty() {
            return Err(format!(
                "the notification rule of {pattern} names no channel: write notes, chat, webhooks or none"
            ));
        }
        Ok(ChannelRule {
            pattern: pattern.to_owned(),
            channels,
        })
    }
}

/// Reads `CONVOY_NOTIFY`: rules separated by `;`, each `app-pattern=channel,channel`
/// (`mobile/*=notes,chat; legacy/app=none`).
pub fn parse_channel_rules(text: &str) -> Result<Vec<ChannelRule>, String> {
    pattern_rules::parse(text, "notification rule", "app-path=notes,chat,webhooks")?
        .into_iter()
        .map(|(pattern, names)| ChannelRule::new(&pattern, &names))
        .collect()
}

/// The channels of app `app_project`: those of the most specific matching rule (a pattern
/// without `*` first, then the longest), or every channel when no rule matches.
pub fn channels_for(rules: &[ChannelRule], app_project: &str) -> ChannelChoice {
    pattern_rules::most_specific(
        rules,
        |rule| &rule.pattern,
        |rule| pattern_rules::glob_matches(&rule.pattern, app_project),
    )
    .map_or(ChannelChoice::ALL, |rule| rule.channels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::{ComponentEvent, decide};
    use ComponentState as State;

    /// The notices of the transition the machine decides for `event` in `from`.
    fn told(from: State, event: ComponentEvent, require_review: bool) -> Vec<Notice> {
        let transition = decide(from, &event).unwrap();
        notices(&StateChange {
            from: Some(from),
            to: transition.state,
            asked: transition.mention,
            require_review,
        })
    }

    #[test]
    fn a_failed_pipeline_after_the_dependencies_asks_the_owners_to_push_a_fix() {
        let reason = "merge request pipeline failed in job `lint`".to_owned();
        assert_eq!(
            told(
                State::Pending,
                ComponentEvent::MergeRequestPipelineFailed { reason },
                false
            ),
            [Notice::Status, Notice::Mention(Mention::PipelineFailed)]
        );
        // Convoy acting on released dependencies stays pending too, and asks nobody.
        assert_eq!(
            told(State::Pending, ComponentEvent::DependenciesReleased, false),
            [Notice::Status]
        );
    }

    #[test]
    fn every_stop_asks_the_owners() {
        let reason = "boom".to_owned();
        assert_eq!(
            told(
                State::Deploying,
                ComponentEvent::TagPipelineFailed { reason },
                false
            ),
            [Notice::Status, Notice::Mention(Mention::Failed)]
        );
        assert_eq!(
            told(State::Pending, ComponentEvent::MergeRequestClosed, false),
            [Notice::Status, Notice::Mention(Mention::Failed)]
        );
    }

    #[test]
    fn only_a_release_with_a_review_gate_asks_for_a_review() {
        let opened = || ComponentEvent::PreparedMergeRequestOpened { iid: 1 };
        assert_eq!(
            told(State::Preparing, opened(), true),
            [Notice::Status, Notice::Mention(Mention::Review)]
        );
        assert_eq!(told(State::Preparing, opened(), false), [Notice::Status]);
    }

    #[test]
    fn progress_and_the_end_only_move_the_status() {
        for (from, event) in [
            (
                State::Pending,
                ComponentEvent::MergeRequestMerged {
                    target: "main".to_owned(),
                },
            ),
            (State::Merged, ComponentEvent::DependenciesReleased),
            (State::Deploying, ComponentEvent::TagPipelineSucceeded),
            (State::Pending, ComponentEvent::Cancel),
            (State::Failed, ComponentEvent::Retry),
        ] {
            assert_eq!(
                told(from, event.clone(), true),
                [Notice::Status],
                "{from:?} {event:?}"
            );
        }
    }

    #[test]
    fn an_apps_channels_come_from_its_most_specific_rule_else_all() {
        let rules = parse_channel_rules("mobile/*=notes,chat; mobile/legacy=none").unwrap();
        let only_notes_and_chat = ChannelChoice {
            webhooks: false,
            ..ChannelChoice::ALL
        };
        assert_eq!(channels_for(&rules, "mobile/app"), only_notes_and_chat);
        let none = channels_for(&rules, "mobile/legacy");
        assert!(!none.notes && !none.chat && !none.webhooks);
        assert_eq!(channels_for(&rules, "web/app"), ChannelChoice::ALL);
        let unknown = parse_channel_rules("mobile/*=email").unwrap_err();
        assert!(unknown.contains("\"email\""), "{unknown}");
        assert!(
            parse_channel_rules("mobile/*")
                .unwrap_err()
                .contains("no '='")
        );
        assert!(
            parse_channel_rules("mobile/*=")
                .unwrap_err()
                .contains("names no channel")
        );
    }

    #[test]
    fn mentions_have_one_name_each() {
        for mention in [Mention::Failed, Mention::PipelineFailed, Mention::Review] {
            assert_eq!(Mention::parse(mention.as_str()), Some(mention));
            let json = serde_json::to_value(mention).unwrap();
            assert_eq!(json, mention.as_str());
        }
        assert_eq!(Mention::parse("other"), None);
    }
}
