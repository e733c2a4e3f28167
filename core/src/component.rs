//! The component release (sub-release) state machine.
//!
//! ```text
//! created -> analyzing -> waiting --deploy--> preparing --+--> merged ----(deps released)--> deploying --> success
//!                                                         +--> pending --(deps released: retry MR
//!                                                         |              pipeline, auto-merge)
//!                                                         |              --(MR merged)--> merged
//!                                                         +--> skipped (cannot be auto-released)
//! any non-success state --mark released--> success;  failed --retry--> preparing;
//! any unfinished state --cancel--> canceled
//! ```

use serde::{Deserialize, Serialize};

use crate::TransitionError;

/// Where a component release stands. Stored and sent over the API as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentState {
    /// Found in the manifest; nothing read yet.
    Created,
    /// Its podspec is being read.
    Analyzing,
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
    /// Analysis started reading the component's podspec.
    AnalysisStarted,
    /// The podspec was read and the component is in the plan.
    Analyzed,
    /// The release manager changed the version to release.
    VersionChanged { version: String },
    /// The release manager asked to deploy this component.
    Deploy,
    /// Prechecks passed and the branch is already in the target branch (or is the target).
    PreparedAlreadyMerged,
    /// Prechecks passed and a merge request (new or found) is open.
    PreparedMergeRequestOpened { iid: u64 },
    /// The component cannot be released automatically (e.g. no publish stage).
    PreparedNotReleasable { reason: String },
    /// Every dependency in the plan is released and any gate (review) is open: act now.
    DependenciesReleased,
    /// A merge request pipeline failed (the reason names the job and its log tail).
    MergeRequestPipelineFailed { reason: String },
    /// The merge request was merged.
    MergeRequestMerged,
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

/// Work the worker must carry out after a transition. Each is idempotent on the forge side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ComponentCommand {
    /// Ensure the webhook, check CI config and target branch, bump the podspec version with a
    /// `[ci skip]` commit if needed, then find or open the merge request.
    Prepare,
    /// Retry (or trigger) the merge request pipeline and set the merge request to merge when
    /// the pipeline succeeds.
    RequestMerge,
    /// Create the version tag on the target branch.
    CreateTag,
    /// Create a pipeline for the version tag.
    CreateTagPipeline,
}

/// The outcome of one transition: the new state, what to do, and why (for the event log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentTransition {
    pub state: ComponentState,
    pub commands: Vec<ComponentCommand>,
    /// One sentence for the event log and the dashboard; `None` when the event says it all.
    pub reason: Option<String>,
}

/// Decides the next state and commands of a component release for one event.
pub fn decide(
    state: ComponentState,
    event: &ComponentEvent,
) -> Result<ComponentTransition, TransitionError> {
    let _ = (state, event);
    unimplemented!("filled in by issue 2")
}
