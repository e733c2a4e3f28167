//! A GitLab simulator: an in-memory GitLab speaking REST v4 over HTTP and sending webhooks,
//! for Convoy's demo, integration tests and benchmarks.
//!
//! It holds projects (branches, commits, files), merge requests, tags, pipelines and hooks.
//! Pipelines follow rules: a CocoaPods component's lint fails while a dependency its podspec
//! requires (itself a project here) has no released version that satisfies the requirement;
//! `[ci skip]` commits start no pipeline. Faults (latency, 500s, 429s, lost or duplicated
//! webhooks, merge conflicts) come from the scenario or [`FaultControl`] at run time.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use convoy_simulator::{RunningSimulator, Scenario, SimulatorConfig};
//! let simulator = RunningSimulator::start(SimulatorConfig {
//!     listen: "127.0.0.1:0".parse()?,
//!     token: "secret".to_string(),
//!     scenario: Scenario::demo(),
//! })
//! .await?;
//! let api = format!("{}/api/v4", simulator.base_url());
//! # let _ = api;
//! simulator.stop().await;
//! # Ok(()) }
//! ```

// Large `json!` literals (GitLab objects have many fields) need more macro recursion.
#![recursion_limit = "256"]

mod api;
pub mod ci_config;
mod error;
mod faults;
mod hooks;
mod people;
pub mod rules;
mod scenario;
mod server;
mod shared;
mod synthetic;
mod throttle;
mod view;
mod world;

pub use faults::{FaultControl, Faults};
pub use people::{OauthApplication, People, UserInfo};
pub use scenario::{
    BranchSpec, FileContains, JobFailure, MergeMethod, ProjectSpec, Scenario, TagSpec, Visibility,
    WebhookSettings,
};
pub use server::{RunningSimulator, SimulatorConfig, run_standalone};
pub use shared::{DeliveryOutcome, WebhookDelivery};
pub use throttle::ApiRateLimit;
pub use view::{
    CommitInfo, HookInfo, JobInfo, MergeInfo, MergeRequestInfo, NoteInfo, PipelineInfo,
    ProjectInfo, TagInfo, WorldView,
};
pub use world::ApiRequestCounts;
pub use world::users::{AccessLevel, UserSpec};
