//! The component release (sub-release) state machine. A component release comes to be in
//! `waiting` when the release's analysis stores its plan (while the release is `analyzing`).
//!
//! ```text
//! waiting --deploy--> preparing --+--> merged ----(deps released)--> deploying --> success
//!                                 +--> pending --(deps released: retry MR
//!                                 |              pipeline, auto-merge)
//!                                 |              --(MR merged)--> merged
//!                                 +--> skipped (cannot be auto-released)
//! any non-success state --mark released--> success;  failed --retry--> preparing;
//! any unfinished state --cancel--> canceled
//! ```

use serde::{Deserialize, Serialize};

use crate::notices::Mention;
use crate::{StateName, TransitionError};

/// Where a component release stands. Stored and sent over the API as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ComponentState {
    /// In the plan, version editable, waiting for the release manager to deploy it.
    Waiting,
    /// Prechecks, podspec version bump and merge request are being made.
    Preparing,
    /// Its merge request is open; waits for its dependencies, then for the merge.
    Pending,
    /// Cannot be released automatically; a person releases it and marks it released.
    Skipped,
    /// Its branch is in the target branch; waits for dependencies before tagging.
    Merged,
    /// The version tag exists or is being created; waits for the tag pipeline.
    Deploying,
    /// Released (tag pipeline succeeded, or marked as released by a person).
    Success,
    /// Stopped on an error that a person must fix; see the reason.
    Failed,
    /// Canceled by a person.
    Canceled,
}

/// Something that happened to a component release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ComponentEvent {
    /// The release manager changed the version to release.
    VersionChanged { version: String },
    /// The release manager asked to deploy this component.
    Deploy,
    /// Prechecks passed and the branch is already in the target branch (or is the target).
    PreparedAlreadyMerged { branch: String, target: String },
    /// Prechecks passed and a merge request (new or found) is open.
    PreparedMergeRequestOpened { iid: u64 },
    /// The component cannot be released automatically (e.g. no publish stage).
    PreparedNotReleasable { reason: String },
    /// Every dependency in the plan is released and any gate (review) is open: act now.
    DependenciesReleased,
    /// A merge request pipeline failed (the reason names the job and its log tail).
    MergeRequestPipelineFailed { reason: String },
    /// The merge request was merged into `target`.
    MergeRequestMerged { target: String },
    /// The merge request was closed without merging.
    MergeRequestClosed,
    /// The version tag was created (by Convoy, or found pointing at the merged commit).
    TagCreated { tag: String },
    /// The tag exists already and points elsewhere: never overwritten.
    TagExists { tag: String },
    /// The tag has no pipeline (its commit carried `[ci skip]`): one must be created.
    TagPipelineMissing,
    /// The tag pipeline succeeded.
    TagPipelineSucceeded,
    /// The tag pipeline failed (the reason names the job and its log tail).
    TagPipelineFailed { reason: String },
    /// A person marked the component as released by hand.
    MarkedReleased { reason: String },
    /// A person asked to try a failed component again.
    Retry,
    /// A person canceled the component (or its main release).
    Cancel,
    /// The worker hit an error it cannot get past by retrying.
    Errored { reason: String },
}

/// What a component's state requires of the worker: the one place that says it. The worker
/// carries out the duty of each state it finds, level-triggered, whatever event led there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// Prechecks (webhook, CI configuration, target branch), the podspec's version bump, then
    /// find or open the merge request.
    Prepare,
    /// Follow the merge request: once the dependencies are released, run its pipeline again and
    /// merge it when the pipeline succeeds.
    FollowMergeRequest,
    /// Once the dependencies are released, tag the target branch.
    Tag,
    /// Create the version tag if it is missing, and follow the tag's pipeline.
    FollowTag,
    /// Take back what Convoy set at the forge (a merge request's auto-merge).
    Withdraw,
    /// Nothing until a person (or the release's analysis or deploy) moves it on.
    Wait,
}

/// The duty of a component in `state`.
///
/// ```
/// use convoy_core::component::{duty, ComponentState, Duty};
///
/// assert_eq!(duty(ComponentState::Merged), Duty::Tag);
/// assert_eq!(duty(ComponentState::Failed), Duty::Wait);
/// ```
pub fn duty(state: ComponentState) -> Duty {
    match state {
        ComponentState::Preparing => Duty::Prepare,
        ComponentState::Pending => Duty::FollowMergeRequest,
        ComponentState::Merged => Duty::Tag,
        ComponentState::Deploying => Duty::FollowTag,
        ComponentState::Canceled => Duty::Withdraw,
        ComponentState::Waiting
        | ComponentState::Skipped
        | ComponentState::Success
        | ComponentState::Failed => Duty::Wait,
    }
}

/// The outcome of one transition: the new state, and why (for the event log). What the new
/// state requires of the worker is its [`duty`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentTransition {
    /// The state after the event (may equal the state before).
    pub state: ComponentState,
    /// One sentence for the event log and the dashboard; `None` when the event says it all.
    pub reason: Option<String>,
    /// Why the owners must act now, if they must (see [`crate::notices`]).
    pub mention: Option<Mention>,
}

/// Why a component whose merge request was closed stopped, and what a person does about it.
const MERGE_REQUEST_CLOSED: &str = "merge request was closed without merging: reopen it and retry";

/// Decides the next state of a component release for one event.
///
/// ```
/// use convoy_core::component::{decide, duty, ComponentEvent, ComponentState, Duty};
///
/// let transition = decide(ComponentState::Merged, &ComponentEvent::DependenciesReleased).unwrap();
/// assert_eq!(transition.state, ComponentState::Deploying);
/// assert_eq!(duty(transition.state), Duty::FollowTag);
///
/// let refused = decide(ComponentState::Success, &ComponentEvent::Deploy).unwrap_err();
/// assert_eq!(refused.to_string(), "cannot deploy while component is success");
/// ```
pub fn decide(
    state: ComponentState,
    event: &ComponentEvent,
) -> Result<ComponentTransition, TransitionError> {
    use ComponentEvent as Event;
    use ComponentState as State;

    let transition = match (state, event) {
        // The version only matters before preparing bumps the podspec, or before a retry.
        (State::Waiting | State::Failed, Event::VersionChanged { .. }) => moved(state),
        (State::Waiting, Event::Deploy) => moved(State::Preparing),
        (State::Preparing, Event::PreparedAlreadyMerged { branch, target }) => {
            explained(State::Merged, &format!("{branch} is already in {target}"))
        }
        (State::Preparing, Event::PreparedMergeRequestOpened { iid }) => {
            explained(State::Pending, &format!("merge request !{iid} is open"))
        }
        (State::Preparing, Event::PreparedNotReleasable { reason }) => {
            explained(State::Skipped, reason)
        }
        (State::Pending, Event::DependenciesReleased) => explained(
            State::Pending,
            "dependencies released: pipeline retried, merges when it succeeds",
        ),
        (State::Merged, Event::DependenciesReleased) => explained(
            State::Deploying,
            "dependencies released: creating the version tag",
        ),
        // The owner pushes a fix; the new pipeline merges the MR and Convoy carries on.
        (State::Pending, Event::MergeRequestPipelineFailed { reason }) => {
            explained(State::Pending, reason)
        }
        // The merge webhook can arrive before the preparing job reports the MR it opened.
        (State::Preparing | State::Pending, Event::MergeRequestMerged { target }) => {
            explained(State::Merged, &format!("merged into {target}"))
        }
        (State::Pending, Event::MergeRequestClosed) => {
            explained(State::Failed, MERGE_REQUEST_CLOSED)
        }
        (State::Deploying, Event::TagCreated { tag }) => explained(
            State::Deploying,
            &format!("tag {tag} created: waiting for its pipeline"),
        ),
        // Tags are never deleted: a person picks another version.
        (State::Deploying, Event::TagExists { tag }) => explained(
            State::Failed,
            &format!("tag {tag} exists: change the version and retry"),
        ),
        (State::Deploying, Event::TagPipelineMissing) => explained(
            State::Deploying,
            "the tagged commit skips CI: tag pipeline created",
        ),
        (State::Deploying, Event::TagPipelineSucceeded) => {
            explained(State::Success, "tag pipeline succeeded")
        }
        (State::Deploying, Event::TagPipelineFailed { reason }) => explained(State::Failed, reason),
        (_, Event::MarkedReleased { reason }) if can_be_marked_released(state) => {
            explained(State::Success, reason)
        }
        // Preparing is idempotent (finds the MR, the merge, the bumped podspec), so every
        // failure starts again from there.
        (State::Failed, Event::Retry) => moved(State::Preparing),
        (_, Event::Cancel) if can_be_canceled(state) => moved(State::Canceled),
        (
            State::Preparing | State::Pending | State::Merged | State::Deploying,
            Event::Errored { reason },
        ) => explained(State::Failed, reason),
        _ => return Err(refused(state, event)),
    };
    Ok(ComponentTransition {
        mention: asks_owners(transition.state, event),
        ..transition
    })
}

/// The owners must act when the component stopped on something to fix, or when the pipeline
/// of their merge request failed after its dependencies were released (Convoy follows it only
/// then).
fn asks_owners(to: ComponentState, event: &ComponentEvent) -> Option<Mention> {
    match (to, event) {
        (ComponentState::Failed, _) => Some(Mention::Failed),
        (_, ComponentEvent::MergeRequestPipelineFailed { .. }) => Some(Mention::PipelineFailed),
        _ => None,
    }
}

/// True when only a person can move the component on (retry, mark released): it failed, was
/// skipped or canceled. What depends on it is blocked meanwhile.
pub fn is_stopped(state: ComponentState) -> bool {
    matches!(
        state,
        ComponentState::Failed | ComponentState::Skipped | ComponentState::Canceled
    )
}

/// A person may mark anything released except what is released already or was canceled.
fn can_be_marked_released(state: ComponentState) -> bool {
    !matches!(state, ComponentState::Success | ComponentState::Canceled)
}

/// Finished states (and failed, which waits for a retry or a mark) cannot be canceled.
fn can_be_canceled(state: ComponentState) -> bool {
    !matches!(
        state,
        ComponentState::Success
            | ComponentState::Failed
            | ComponentState::Skipped
            | ComponentState::Canceled
    )
}

/// A transition with nothing to do and nothing to explain.
fn moved(state: ComponentState) -> ComponentTransition {
    ComponentTransition {
        state,
        reason: None,
        mention: None,
    }
}

/// A transition whose reason is shown on the dashboard.
fn explained(state: ComponentState, reason: &str) -> ComponentTransition {
    ComponentTransition {
        reason: Some(reason.to_string()),
        ..moved(state)
    }
}

/// The typed refusal, in words the API can show as they are.
fn refused(state: ComponentState, event: &ComponentEvent) -> TransitionError {
    TransitionError {
        machine: "component",
        state: state.as_str().to_string(),
        event: event_words(event).to_string(),
    }
}

impl StateName for ComponentState {
    const ALL: &'static [ComponentState] = &[
        ComponentState::Waiting,
        ComponentState::Preparing,
        ComponentState::Pending,
        ComponentState::Skipped,
        ComponentState::Merged,
        ComponentState::Deploying,
        ComponentState::Success,
        ComponentState::Failed,
        ComponentState::Canceled,
    ];

    fn as_str(self) -> &'static str {
        match self {
            ComponentState::Waiting => "waiting",
            ComponentState::Preparing => "preparing",
            ComponentState::Pending => "pending",
            ComponentState::Skipped => "skipped",
            ComponentState::Merged => "merged",
            ComponentState::Deploying => "deploying",
            ComponentState::Success => "success",
            ComponentState::Failed => "failed",
            ComponentState::Canceled => "canceled",
        }
    }
}

/// What an event attempts, completing "cannot … while component is …".
fn event_words(event: &ComponentEvent) -> &'static str {
    match event {
        ComponentEvent::VersionChanged { .. } => "change the version",
        ComponentEvent::Deploy => "deploy",
        ComponentEvent::PreparedAlreadyMerged { .. } => "finish preparing an already merged branch",
        ComponentEvent::PreparedMergeRequestOpened { .. } => "finish preparing a merge request",
        ComponentEvent::PreparedNotReleasable { .. } => "skip as not releasable",
        ComponentEvent::DependenciesReleased => "act on released dependencies",
        ComponentEvent::MergeRequestPipelineFailed { .. } => {
            "record a failed merge request pipeline"
        }
        ComponentEvent::MergeRequestMerged { .. } => "record a merged merge request",
        ComponentEvent::MergeRequestClosed => "record a closed merge request",
        ComponentEvent::TagCreated { .. } => "record a created tag",
        ComponentEvent::TagExists { .. } => "record an existing tag",
        ComponentEvent::TagPipelineMissing => "create the tag pipeline",
        ComponentEvent::TagPipelineSucceeded => "record a successful tag pipeline",
        ComponentEvent::TagPipelineFailed { .. } => "record a failed tag pipeline",
        ComponentEvent::MarkedReleased { .. } => "mark as released",
        ComponentEvent::Retry => "retry",
        ComponentEvent::Cancel => "cancel",
        ComponentEvent::Errored { .. } => "record an error",
    }
}
