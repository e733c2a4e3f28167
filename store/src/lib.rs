//! Convoy's database: migrations and queries for SQLite and PostgreSQL.
//!
//! One set of queries runs on both databases through sqlx's `Any` driver: `$1` placeholders,
//! `RETURNING id`, times as RFC 3339 text (UTC, microseconds, `Z`), flags as integers 0/1.
//! Every state change is a compare-and-set that appends to the release event log and wakes the
//! worker in the same transaction, so the state and its log never diverge.

mod apply;
mod audit;
mod busy_components;
mod component_wakes;
mod components;
mod db;
mod error;
mod events;
mod forge_records;
mod identity;
mod jobs;
mod leases;
mod model;
mod notifications;
mod operability;
mod project_hooks;
mod releases;
mod wakeups;
mod webhooks;

pub use audit::{AuditEntry, AuditFilter, NewAuditEntry};
pub use busy_components::BusyComponent;
pub use component_wakes::ProjectWakes;
pub use db::{POSTGRES_MAX_CONNECTIONS, SQLITE_BUSY_TIMEOUT, Store};
pub use error::StoreError;
pub use identity::{ApiTokenRecord, NewApiToken, SessionRecord, UserRecord};
pub use jobs::{Job, Jobs, QueueDepth};
pub use model::{
    Change, ComponentRelease, MainRelease, MainReleaseSummary, MergeRequestRecord, NewDelivery,
    NewEvent, NewMainRelease, PipelineKind, PipelineRecord, ReleaseEvent, TagRecord,
    WaitingDelivery, WebhookDelivery,
};
pub use notifications::{CHAT, Channels, MERGE_REQUEST_NOTE, Notification, WEBHOOK};
pub use operability::{COMPONENT_STATE_SECONDS, describe_metrics};
pub use wakeups::Wakeups;
