//! Who may act now, given the plan and the component states.
//!
//! A component is *ready* when every dependency in the plan is released (success) and it is
//! `pending` (MR waiting for its dependencies) or `merged` (waiting to be tagged). A failed
//! component blocks only its descendants. With a cap on concurrently running pipelines, the
//! ready components on the longest remaining chain (by expected duration) go first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::component::ComponentState;
use crate::plan::ReleasePlan;

/// What the scheduler knows of one component besides its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentStatus {
    pub state: ComponentState,
    /// True once Convoy has acted on it as ready (requested the merge or created the tag), so
    /// it is not handed out twice and counts as running a pipeline.
    pub acted: bool,
    /// False while the release requires review and the MR is not marked reviewed.
    pub gate_open: bool,
}

/// Scheduling options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SchedulerOptions {
    /// At most this many components running pipelines at once (`None`: no cap).
    pub max_running: Option<usize>,
    /// Expected pipeline duration per component in seconds (from past pipelines); 60 if absent.
    pub expected_seconds: BTreeMap<String, u64>,
}

/// The scheduler's answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Schedule {
    /// Components to act on now, highest priority first.
    pub ready: Vec<String>,
    /// For each unreleased component, the unreleased components it waits on (transitively).
    pub waiting_on: BTreeMap<String, Vec<String>>,
    /// For each component that can never move because something it depends on failed, was
    /// skipped or canceled: those components.
    pub blocked: BTreeMap<String, Vec<String>>,
    /// Every component is released.
    pub all_released: bool,
    /// Not all released, and nothing can move any more without a person.
    pub stalled: bool,
}

/// Computes who may act now.
pub fn schedule(
    plan: &ReleasePlan,
    statuses: &BTreeMap<String, ComponentStatus>,
    options: &SchedulerOptions,
) -> Schedule {
    let _ = (plan, statuses, options);
    unimplemented!("filled in by issue 2")
}
