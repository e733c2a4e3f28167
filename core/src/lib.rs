//! Convoy's release logic with no I/O: manifests, the release plan, the state machines of a main
//! release and of its component releases, and the scheduler that says who may act now.
//!
//! Everything here is a pure function of its inputs, so it is tested without a runtime. The
//! worker carries out the duty of each state it finds (`component::duty`, `main_release::duty`)
//! and feeds back what happened as events, which the machines' `decide` turns into states.

pub mod actions;
pub mod ci_config;
pub mod component;
pub mod main_release;
pub mod manifest;
pub mod notices;
pub mod owners;
mod pattern_rules;
pub mod plan;
pub mod scheduler;
pub mod validate;
pub mod version;

pub use component::{ComponentEvent, ComponentState};
pub use main_release::{MainReleaseEvent, MainReleaseState};
pub use plan::{PlanError, PlannedComponent, ReleasePlan};

/// A machine's state by the one name it is stored, sent and shown under (its lowercase name,
/// the same as its serde name).
pub trait StateName: Sized + Copy + 'static {
    /// Every state, in the order the machine's documentation lists them.
    const ALL: &'static [Self];

    fn as_str(self) -> &'static str;

    /// The state named `name`, if there is one.
    fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|state| state.as_str() == name)
    }
}

/// A transition that the machine does not allow from the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {event} while {machine} is {state}")]
pub struct TransitionError {
    /// "component" or "release".
    pub machine: &'static str,
    /// The state the machine was in, as its lowercase name.
    pub state: String,
    /// What was attempted, in words ("deploy", "mark as released", …).
    pub event: String,
}
