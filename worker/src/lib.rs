//! Convoy's background work. The worker is the only part of Convoy that talks to the forge:
//! it advances releases (carrying out what each state requires), processes recorded webhook
//! deliveries, and reconciles with the forge on a timer so a missed webhook never stalls a
//! release.
//!
//! The work is level-triggered: a step looks at a component's state and at what the forge
//! shows now, and does what that state still requires. Running a step twice, or after a crash
//! at any line, finds the side effect already done (merge request open, tag present, podspec
//! already bumped) and does not repeat it.

mod advance;
mod analyze;
mod context;
mod error;
pub mod failures;
mod manifest;
pub mod metrics;
pub mod notify;
mod owners;
pub mod queue;
mod reconcile;
mod record;
pub mod runner;
mod steps;
mod webhooks;

pub use advance::advance_release;
pub use context::{Context, StopSender, StopSignal, WorkerSettings};
pub use reconcile::reconcile_once;
