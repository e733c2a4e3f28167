//! The main release state machine.
//!
//! ```text
//! created -> analyzing -> waiting --deploy--> deploying --all released--> (rewrite manifest) --> success
//!                |                               +--nothing more can move--> failed --retry--> deploying
//!                +--analysis failed--> failed
//! any unfinished state --cancel--> canceled
//! ```

use serde::{Deserialize, Serialize};

use crate::{StateName, TransitionError};

/// Where a main release stands. Stored and sent over the API as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MainReleaseState {
    /// Recorded; analysis not started.
    Created,
    /// Reading the manifest and podspecs, building the plan.
    Analyzing,
    /// Plan ready; versions editable; waiting for the release manager to deploy.
    Waiting,
    /// Components are being released.
    Deploying,
    /// Every component released and the app's manifest pins the new versions.
    Success,
    /// Nothing more can move (analysis failed, components failed, manifest conflict).
    Failed,
    /// Canceled by a person.
    Canceled,
}

/// Something that happened to a main release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MainReleaseEvent {
    /// The release was started.
    Start,
    /// The plan is ready.
    Analyzed,
    /// Analysis failed (no Podfile, malformed manifest, cycle, …).
    AnalysisFailed { reason: String },
    /// The release manager deployed all components, or one.
    Deploy,
    /// The app's manifest now pins the released versions.
    ManifestRewritten,
    /// The manifest could not be rewritten (changed since read, template missing, …).
    ManifestFailed { reason: String },
    /// Nothing more can move: some components failed and block the rest.
    Stalled { reason: String },
    /// A person asked to go on after a failure.
    Retry,
    /// A person canceled the release.
    Cancel,
}

/// What a main release's state requires of the worker: the one place that says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// Find the manifest, read the podspecs, build and store the plan.
    Analyze,
    /// Step every component that may act now; once all are released, rewrite the app's
    /// manifest with the new versions pinned.
    Deploy,
    /// Withdraw what Convoy set at the forge for the canceled components.
    Withdraw,
    /// Nothing until a person acts.
    Wait,
}

/// The duty of a main release in `state`.
///
/// ```
/// use convoy_core::main_release::{duty, Duty, MainReleaseState};
///
/// assert_eq!(duty(MainReleaseState::Analyzing), Duty::Analyze);
/// assert_eq!(duty(MainReleaseState::Failed), Duty::Wait);
/// ```
pub fn duty(state: MainReleaseState) -> Duty {
    match state {
        MainReleaseState::Analyzing => Duty::Analyze,
        MainReleaseState::Deploying => Duty::Deploy,
        MainReleaseState::Canceled => Duty::Withdraw,
        MainReleaseState::Created
        | MainReleaseState::Waiting
        | MainReleaseState::Success
        | MainReleaseState::Failed => Duty::Wait,
    }
}

/// The outcome of one main release transition: the new state, and why. What the new state
/// requires of the worker is its [`duty`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainReleaseTransition {
    /// The state after the event (may equal the state before).
    pub state: MainReleaseState,
    /// One sentence for the event log and the dashboard; `None` when the event says it all.
    pub reason: Option<String>,
}

/// Why a release waits once analysis stored its plan.
const PLAN_READY: &str = "plan ready: review the versions, then deploy";

/// Decides the next state of a main release for one event.
///
/// `Retry` moves a failed release back to deploying: the caller retries the
/// failed components and, when every component is released, the worker rewrites the manifest
/// again. A release that failed in analysis has no plan to go on with, so the caller refuses
/// that retry before asking (the state alone cannot tell the two failures apart).
///
/// ```
/// use convoy_core::main_release::{decide, duty, Duty, MainReleaseEvent, MainReleaseState};
///
/// let started = decide(MainReleaseState::Created, &MainReleaseEvent::Start).unwrap();
/// assert_eq!(started.state, MainReleaseState::Analyzing);
/// assert_eq!(duty(started.state), Duty::Analyze);
///
/// let refused = decide(MainReleaseState::Success, &MainReleaseEvent::Cancel).unwrap_err();
/// assert_eq!(refused.to_string(), "cannot cancel while release is success");
/// ```
pub fn decide(
    state: MainReleaseState,
    event: &MainReleaseEvent,
) -> Result<MainReleaseTransition, TransitionError> {
    use MainReleaseEvent as Event;
    use MainReleaseState as State;

    let transition = match (state, event) {
        (State::Created, Event::Start) => moved(State::Analyzing),
        (State::Analyzing, Event::Analyzed) => explained(State::Waiting, PLAN_READY),
        (State::Analyzing, Event::AnalysisFailed { reason }) => explained(State::Failed, reason),
        // Deploying one component at a time keeps the release deploying.
        (State::Waiting | State::Deploying, Event::Deploy) => moved(State::Deploying),
        (State::Deploying, Event::ManifestRewritten) => explained(
            State::Success,
            "every component is released and the Podfile pins them",
        ),
        (State::Deploying, Event::ManifestFailed { reason } | Event::Stalled { reason }) => {
            explained(State::Failed, reason)
        }
        (State::Failed, Event::Retry) => moved(State::Deploying),
        (
            State::Created | State::Analyzing | State::Waiting | State::Deploying | State::Failed,
            Event::Cancel,
        ) => moved(State::Canceled),
        _ => return Err(refused(state, event)),
    };
    Ok(transition)
}

/// A transition with nothing to do and nothing to explain.
fn moved(state: MainReleaseState) -> MainReleaseTransition {
    MainReleaseTransition {
        state,
        reason: None,
    }
}

/// A transition whose reason is shown on the dashboard.
fn explained(state: MainReleaseState, reason: &str) -> MainReleaseTransition {
    MainReleaseTransition {
        reason: Some(reason.to_string()),
        ..moved(state)
    }
}

/// The typed refusal, in words the API can show as they are.
fn refused(state: MainReleaseState, event: &MainReleaseEvent) -> TransitionError {
    TransitionError {
        machine: "release",
        state: state.as_str().to_string(),
        event: event_words(event).to_string(),
    }
}

impl StateName for MainReleaseState {
    const ALL: &'static [MainReleaseState] = &[
        MainReleaseState::Created,
        MainReleaseState::Analyzing,
        MainReleaseState::Waiting,
        MainReleaseState::Deploying,
        MainReleaseState::Success,
        MainReleaseState::Failed,
        MainReleaseState::Canceled,
    ];

    fn as_str(self) -> &'static str {
        match self {
            MainReleaseState::Created => "created",
            MainReleaseState::Analyzing => "analyzing",
            MainReleaseState::Waiting => "waiting",
            MainReleaseState::Deploying => "deploying",
            MainReleaseState::Success => "success",
            MainReleaseState::Failed => "failed",
            MainReleaseState::Canceled => "canceled",
        }
    }
}

/// What an event attempts, completing "cannot … while release is …".
fn event_words(event: &MainReleaseEvent) -> &'static str {
    match event {
        MainReleaseEvent::Start => "start",
        MainReleaseEvent::Analyzed => "finish analysis",
        MainReleaseEvent::AnalysisFailed { .. } => "record a failed analysis",
        MainReleaseEvent::Deploy => "deploy",
        MainReleaseEvent::ManifestRewritten => "record a rewritten manifest",
        MainReleaseEvent::ManifestFailed { .. } => "record a failed manifest rewrite",
        MainReleaseEvent::Stalled { .. } => "record a stalled release",
        MainReleaseEvent::Retry => "retry",
        MainReleaseEvent::Cancel => "cancel",
    }
}
