//! The main release state machine.
//!
//! ```text
//! created -> analyzing -> waiting --deploy--> deploying --all released--> (rewrite manifest) --> success
//!                |                               +--nothing more can move--> failed --retry--> deploying
//!                +--analysis failed--> failed
//! any unfinished state --cancel--> canceled
//! ```

use serde::{Deserialize, Serialize};

use crate::TransitionError;

/// Where a main release stands. Stored and sent over the API as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// Every component is released: the manifest must be rewritten.
    AllComponentsReleased,
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

/// Work the worker must carry out after a main release transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MainReleaseCommand {
    /// Find the manifest, read the podspecs, build and store the plan.
    Analyze,
    /// Rewrite the app's manifest from its template with the released versions pinned.
    RewriteManifest,
    /// Cancel every unfinished component.
    CancelComponents,
}

/// The outcome of one main release transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainReleaseTransition {
    pub state: MainReleaseState,
    pub commands: Vec<MainReleaseCommand>,
    pub reason: Option<String>,
}

/// Decides the next state and commands of a main release for one event.
pub fn decide(
    state: MainReleaseState,
    event: &MainReleaseEvent,
) -> Result<MainReleaseTransition, TransitionError> {
    let _ = (state, event);
    unimplemented!("filled in by issue 2")
}
