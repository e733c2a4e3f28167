//! What Convoy's tests share, so each crate's tests do not keep a copy: a fresh database per
//! test on SQLite or PostgreSQL ([`TestDatabase`]), a job queue that records what it was given
//! ([`RecordingJobs`]), the diamond plan ([`abcd_plan`]), the demo scenario with short
//! pipelines ([`fast_demo`]), a component release record ([`component_release`]), and waiting
//! for a condition instead of for a time ([`eventually`]).

mod database;
mod jobs;
mod plans;
mod records;
mod scenarios;
mod wait;

pub use database::{Backend, TestDatabase, postgres_admin_url};
pub use jobs::RecordingJobs;
pub use plans::{abcd_plan, planned};
pub use records::component_release;
pub use scenarios::{APP, APP_REF, fast_demo};
pub use wait::eventually;
