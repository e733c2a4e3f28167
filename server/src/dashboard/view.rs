//! What the templates show, as plain strings and numbers.
//!
//! The release page is rendered from the same JSON the API serves (and the page embeds for its
//! script), read back into these structs: the first paint and every live re-render show exactly
//! the same data.

use chrono::{DateTime, Utc};
use convoy_core::StateName;
use convoy_store::{MainReleaseSummary, ReleaseEvent};
use serde::Deserialize;

/// "2026-11-21 20:08:20 UTC": the shape the frontend's `formatTime` writes too.
pub fn display_time(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn display_text_time(text: &str) -> String {
    DateTime::parse_from_rfc3339(text)
        .map(|at| display_time(&at.with_timezone(&Utc)))
        .unwrap_or_else(|_| text.to_owned())
}

/// One line of the releases list.
pub struct ReleaseRow {
    pub id: i64,
    pub app_project: String,
    pub app_ref: String,
    pub state: String,
    pub released: u64,
    pub total: u64,
    /// Released out of total, 0 to 100.
    pub percent: u64,
    pub started_by: String,
    pub created_at: String,
    pub finished_at: String,
}

impl From<&MainReleaseSummary> for ReleaseRow {
    fn from(summary: &MainReleaseSummary) -> ReleaseRow {
        let release = &summary.release;
        ReleaseRow {
            id: release.id,
            app_project: release.app_project.clone(),
            app_ref: release.app_ref.clone(),
            state: release.state.as_str().to_owned(),
            released: summary.components_released,
            total: summary.components_total,
            percent: (summary.components_released * 100)
                .checked_div(summary.components_total)
                .unwrap_or(0),
            started_by: release.started_by.clone(),
            created_at: display_time(&release.created_at),
            finished_at: release
                .finished_at
                .as_ref()
                .map(display_time)
                .unwrap_or_default(),
        }
    }
}

/// The release page's data, read from the release detail JSON.
#[derive(Debug, Deserialize)]
pub struct ReleaseView {
    pub id: i64,
    pub app_project: String,
    pub app_ref: String,
    pub state: String,
    #[serde(default)]
    pub require_review: bool,
    pub reason: Option<String>,
    pub started_by: String,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub progress: ProgressView,
    #[serde(default)]
    pub components: Vec<ComponentView>,
}

impl ReleaseView {
    pub fn started(&self) -> String {
        display_text_time(&self.created_at)
    }

    pub fn finished(&self) -> Option<String> {
        self.finished_at.as_deref().map(display_text_time)
    }
}

#[derive(Debug, Deserialize)]
pub struct ProgressView {
    pub released: u64,
    pub total: u64,
}

#[derive(Debug, Deserialize)]
pub struct ComponentView {
    pub name: String,
    pub state: String,
    pub version: Option<String>,
    pub project_path: String,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub waiting_on: Vec<String>,
    #[serde(default)]
    pub blocked_by: Vec<String>,
    #[serde(default)]
    pub reviewed: bool,
    pub reason: Option<String>,
    /// GitLab usernames; empty: no owner.
    #[serde(default)]
    pub owners: Vec<String>,
    pub merge_request: Option<MergeRequestView>,
    pub pipeline: Option<PipelineView>,
    pub tag: Option<TagView>,
}

impl ComponentView {
    /// Why the component is where it is (empty when there is nothing to say): what blocks it
    /// first, then the reason the worker gave. Mirrors `reasonOf` in `frontend/release.js`.
    pub fn why(&self) -> String {
        let mut parts = Vec::new();
        let reason = self.reason.as_deref().unwrap_or_default();
        if !self.blocked_by.is_empty() && !reason.contains("blocked") {
            parts.push(format!("blocked by {}", self.blocked_by.join(", ")));
        }
        if !reason.is_empty() {
            parts.push(reason.to_owned());
        } else if !self.waiting_on.is_empty() {
            parts.push(format!("waiting for {}", self.waiting_on.join(", ")));
        }
        parts.join("; ")
    }
}

#[derive(Debug, Deserialize)]
pub struct MergeRequestView {
    pub iid: u64,
    pub state: String,
    /// `None` unless GitLab gave an `http`/`https` address (`views::web_link`).
    pub web_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PipelineView {
    pub id: u64,
    pub kind: String,
    pub status: String,
    /// `None` unless GitLab gave an `http`/`https` address (`views::web_link`).
    pub web_url: Option<String>,
}

impl PipelineView {
    pub fn kind_label(&self) -> &'static str {
        if self.kind == "tag" { "tag" } else { "MR" }
    }
}

#[derive(Debug, Deserialize)]
pub struct TagView {
    pub name: String,
}

/// An event kind in words: "state" → "state changed", "version_changed" → "version changed".
fn kind_words(kind: &str) -> String {
    if kind == "state" {
        "state changed".to_owned()
    } else {
        kind.replace('_', " ")
    }
}

/// One line of a release's timeline. Mirrors `frontend/timeline.js`.
pub struct EventRow {
    pub id: i64,
    pub actor: String,
    pub what: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reason: Option<String>,
    pub created_at: String,
    pub time: String,
}

impl From<&ReleaseEvent> for EventRow {
    fn from(event: &ReleaseEvent) -> EventRow {
        let subject = event.component_name.as_deref().unwrap_or("release");
        EventRow {
            id: event.id,
            actor: event.actor.clone(),
            what: format!("{subject}: {}", kind_words(&event.kind)),
            from_state: event.from_state.clone(),
            to_state: event.to_state.clone(),
            reason: event.reason.clone(),
            created_at: event.created_at.to_rfc3339(),
            time: display_time(&event.created_at),
        }
    }
}
