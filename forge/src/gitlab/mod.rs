//! The GitLab implementation of [`crate::Forge`] on the `gitlab` crate, and the webhook events
//! it follows.

mod adapter;
mod budget;
mod client;
mod endpoints;
mod errors;
pub mod metrics;
mod models;
pub mod webhook;

pub use adapter::GitLab;
pub use client::{ConfigError, GitLabOptions};
pub use webhook::is_hook_event;
