//! Convoy's background work. The worker is the only part of Convoy that talks to the forge:
//! it advances releases (carrying out what each state requires), processes recorded webhook
//! deliveries, and reconciles with the forge on a timer so a missed webhook never stalls a
//! release.

pub mod queue;

pub use queue::{Job, Jobs};
