//! Convoy's HTTP side: the JSON API, the GitLab webhook endpoint, the dashboard pages and their
//! websockets. The server never calls the forge: it validates, records (a webhook delivery is
//! recorded as the worker's work item), and nudges the worker through the job queue's interface
//! (`convoy_store::Jobs`).

pub mod api;
pub mod auth;
pub mod dashboard;
pub mod delivery_writer;
pub mod health;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod request_log;
pub mod settings;
pub mod startup;
pub mod views;
pub mod webhooks;

pub use settings::{AuthSettings, ServerSettings, SignInSettings};
pub use startup::Application;
