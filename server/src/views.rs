//! The release as people see it, shared by the JSON API and the dashboard pages: its components
//! with their links, what each waits on, why it stopped, and which actions are allowed now.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use convoy_core::actions::{self, ComponentAction, ComponentFacts, ReleaseAction, ReleaseFacts};
use convoy_core::notices::Notice;
use convoy_core::scheduler::{self, ComponentStatus, SchedulerOptions};
use convoy_core::{ComponentState, MainReleaseState};
use convoy_store::{
    ComponentRelease, MainRelease, MainReleaseSummary, MergeRequestRecord, Notification,
    PipelineRecord, ReleaseEvent, Store, StoreError,
};
use serde::Serialize;
use utoipa::ToSchema;

/// How far a release got: released components out of all components in its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Progress {
    pub released: u64,
    pub total: u64,
}

/// A main release with everything the release page shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseDetail {
    pub id: i64,
    pub app_project: String,
    pub app_ref: String,
    pub state: MainReleaseState,
    pub require_review: bool,
    pub reason: Option<String>,
    pub started_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub manifest_path: Option<String>,
    pub progress: Progress,
    /// What a person may do to the whole release now: `deploy`, `retry`, `cancel`.
    pub actions: Vec<&'static str>,
    /// In plan order (dependencies first).
    pub components: Vec<ComponentDetail>,
}

/// One component release with its links and its allowed actions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComponentDetail {
    pub id: i64,
    pub name: String,
    pub state: ComponentState,
    pub version: Option<String>,
    pub default_version: Option<String>,
    pub podspec_version: Option<String>,
    pub project_path: String,
    pub branch: String,
    pub target_branch: Option<String>,
    /// Direct dependencies that are in the plan.
    pub dependencies: Vec<String>,
    /// Its direct dependencies that are not released yet.
    pub waiting_on: Vec<String>,
    /// Failed, skipped or canceled components that keep this one from ever moving.
    pub blocked_by: Vec<String>,
    pub reviewed: bool,
    /// Why it is in its state, in one sentence.
    pub reason: Option<String>,
    pub released_by: Option<String>,
    /// GitLab usernames who must act on it; empty: no owner (or not resolved yet, before it
    /// is prepared).
    pub owners: Vec<String>,
    pub merge_request: Option<MergeRequestLink>,
    pub pipeline: Option<PipelineLink>,
    pub tag: Option<TagLink>,
    /// What a person may do now: `edit_version`, `deploy`, `mark_reviewed`, `mark_released`,
    /// `retry`, `cancel`.
    pub actions: Vec<&'static str>,
}

/// Links from GitLab (`web_url`) are `null` unless they are `http://` or `https://` addresses
/// (see [`web_link`]), so no page ever puts a `javascript:` or `data:` URL into an `href`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MergeRequestLink {
    pub iid: u64,
    pub state: String,
    pub web_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PipelineLink {
    pub id: u64,
    pub kind: String,
    pub status: String,
    pub web_url: Option<String>,
    pub failed_job: Option<String>,
    /// The last lines of the failed job's log.
    pub failure_log: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagLink {
    pub name: String,
    pub web_url: Option<String>,
}

/// One line of the releases list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseSummary {
    pub id: i64,
    pub app_project: String,
    pub app_ref: String,
    pub state: MainReleaseState,
    pub started_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub progress: Progress,
}

/// One entry of a release's event log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    pub release_id: i64,
    pub component_id: Option<i64>,
    pub component_name: Option<String>,
    pub actor: String,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What Convoy told people about a release, and whether a channel is failing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationLog {
    /// Set while deliveries fail: the release is not affected, Convoy keeps trying.
    pub warning: Option<String>,
    /// Oldest first.
    pub notifications: Vec<NotificationView>,
}

/// One thing Convoy tells (or told) the people of a component.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub component_name: Option<String>,
    /// `merge_request_note`.
    pub channel: String,
    /// `status` (one message, edited in place) or why the owners were asked to act: `failed`,
    /// `pipeline_failed`, `review`.
    pub kind: String,
    /// `delivered`, `pending` (to be sent or brought up to date) or `failing`.
    pub delivery: String,
    /// Failed deliveries in a row, and the last one's sentence.
    pub attempts: i64,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The message at the forge, once it exists (an `http`/`https` link only).
    pub web_url: Option<String>,
}

/// The notification log of release `id` (empty for a release with none).
pub async fn notification_log(store: &Store, id: i64) -> Result<NotificationLog, StoreError> {
    let notifications = store.notifications(id).await?;
    let names: BTreeMap<i64, String> = store
        .components(id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let merge_requests = store.current_merge_requests(id).await?;
    let warning = notifications
        .iter()
        .filter(|n| n.is_due() && n.attempts > 0)
        .max_by_key(|n| n.attempts)
        .and_then(|n| n.last_error.as_deref())
        .map(|error| {
            format!("Notifications are failing: {error}. Convoy keeps trying; the release goes on.")
        });
    let views = notifications
        .iter()
        .map(|n| {
            let note_url = n
                .component_id
                .and_then(|c| merge_requests.get(&c))
                .and_then(|mr| {
                    let note = n.external_id.as_deref()?;
                    web_link(&format!("{}#note_{note}", mr.web_url))
                });
            notification_view(
                n,
                n.component_id.and_then(|c| names.get(&c).cloned()),
                note_url,
            )
        })
        .collect();
    Ok(NotificationLog {
        warning,
        notifications: views,
    })
}

fn notification_view(
    n: &Notification,
    component_name: Option<String>,
    web_url: Option<String>,
) -> NotificationView {
    let delivery = match (n.is_due(), n.attempts) {
        (false, _) => "delivered",
        (true, 0) => "pending",
        (true, _) => "failing",
    };
    NotificationView {
        id: n.id,
        component_name,
        channel: n.channel.clone(),
        kind: match n.notice {
            Notice::Status => "status".to_owned(),
            Notice::Mention(mention) => mention.as_str().to_owned(),
            Notice::Event => "event".to_owned(),
        },
        delivery: delivery.to_owned(),
        attempts: n.attempts,
        last_error: n.last_error.clone(),
        delivered_at: n.delivered_at,
        web_url,
    }
}

impl From<MainReleaseSummary> for ReleaseSummary {
    fn from(summary: MainReleaseSummary) -> ReleaseSummary {
        let release = summary.release;
        ReleaseSummary {
            id: release.id,
            app_project: release.app_project,
            app_ref: release.app_ref,
            state: release.state,
            started_by: release.started_by,
            created_at: release.created_at,
            finished_at: release.finished_at,
            progress: Progress {
                released: summary.components_released,
                total: summary.components_total,
            },
        }
    }
}

impl From<ReleaseEvent> for EventView {
    fn from(event: ReleaseEvent) -> EventView {
        EventView {
            id: event.id,
            release_id: event.release_id,
            component_id: event.component_id,
            component_name: event.component_name,
            actor: event.actor,
            kind: event.kind,
            from_state: event.from_state,
            to_state: event.to_state,
            reason: event.reason,
            created_at: event.created_at,
        }
    }
}

/// Builds the detail of release `id`; `None` when there is no such release.
pub async fn release_detail(
    store: &Store,
    forge_web_url: &str,
    id: i64,
) -> Result<Option<ReleaseDetail>, StoreError> {
    let Some(release) = store.main_release(id).await? else {
        return Ok(None);
    };
    let components = store.components(id).await?;
    let plan = store.plan(id).await?;

    let statuses: BTreeMap<String, ComponentStatus> = components
        .iter()
        .map(|c| {
            let status = ComponentStatus {
                state: c.state,
                acted: c.acted,
                gate_open: !release.require_review || c.reviewed,
            };
            (c.name.clone(), status)
        })
        .collect();
    let schedule = scheduler::schedule(&plan.graph(), &statuses, &SchedulerOptions::default());
    let dependencies: BTreeMap<&str, &Vec<String>> = plan
        .components
        .iter()
        .map(|planned| (planned.name.as_str(), &planned.dependencies))
        .collect();

    // One query each for the whole release, however many components it has.
    let mut merge_requests = store.current_merge_requests(id).await?;
    let mut pipelines = store.current_pipelines(id).await?;

    let mut details = Vec::with_capacity(components.len());
    for c in &components {
        let merge_request = merge_requests.remove(&c.id).map(merge_request_link);
        let pipeline = pipelines.remove(&c.id).map(pipeline_link);
        let waiting_on = schedule
            .waiting_on
            .get(&c.name)
            .cloned()
            .unwrap_or_default();
        let blocked_by = schedule.blocked.get(&c.name).cloned().unwrap_or_default();
        let reason = component_reason(c, release.require_review, &waiting_on, &blocked_by);
        details.push(ComponentDetail {
            id: c.id,
            name: c.name.clone(),
            state: c.state,
            version: c.version.clone(),
            default_version: c.default_version.clone(),
            podspec_version: c.podspec_version.clone(),
            project_path: c.project_path.clone(),
            branch: c.branch.clone(),
            target_branch: c.target_branch.clone(),
            dependencies: dependencies
                .get(c.name.as_str())
                .map(|deps| deps.to_vec())
                .unwrap_or_default(),
            waiting_on,
            blocked_by,
            reviewed: c.reviewed,
            reason,
            released_by: c.released_by.clone(),
            owners: c.owners.clone().unwrap_or_default(),
            merge_request,
            pipeline,
            tag: c.tag_name.as_ref().map(|name| TagLink {
                name: name.clone(),
                web_url: web_link(&tag_url(forge_web_url, &c.project_path, name)),
            }),
            actions: component_actions(&release, c),
        });
    }

    Ok(Some(ReleaseDetail {
        id: release.id,
        app_project: release.app_project.clone(),
        app_ref: release.app_ref.clone(),
        state: release.state,
        require_review: release.require_review,
        reason: release.reason.clone(),
        started_by: release.started_by.clone(),
        created_at: release.created_at,
        updated_at: release.updated_at,
        finished_at: release.finished_at,
        manifest_path: release.manifest_path.clone(),
        progress: progress(&components),
        actions: release_actions(&release, &components),
        components: details,
    }))
}

fn merge_request_link(mr: MergeRequestRecord) -> MergeRequestLink {
    MergeRequestLink {
        iid: mr.iid,
        state: mr.state,
        web_url: web_link(&mr.web_url),
    }
}

fn pipeline_link(p: PipelineRecord) -> PipelineLink {
    PipelineLink {
        id: p.pipeline_id,
        kind: p.kind.as_str().to_string(),
        status: p.status,
        web_url: web_link(&p.web_url),
        failed_job: p.failed_job,
        failure_log: p.failure_log,
    }
}

/// Released components out of all of them.
pub fn progress(components: &[ComponentRelease]) -> Progress {
    Progress {
        released: components
            .iter()
            .filter(|c| c.state == ComponentState::Success)
            .count() as u64,
        total: components.len() as u64,
    }
}

/// `text` when it is an absolute `http`/`https` URL, the only links a page may show; anything
/// else (`javascript:`, `data:`, relative or unparsable) is `None` and shown as plain text.
pub fn web_link(text: &str) -> Option<String> {
    let parsed = url::Url::parse(text.trim()).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.to_string())
}

/// The forge page of a tag: `<forge>/<group/project>/-/tags/<tag>`.
pub fn tag_url(forge_web_url: &str, project_path: &str, tag: &str) -> String {
    format!(
        "{}/{}/-/tags/{}",
        forge_web_url.trim_end_matches('/'),
        project_path,
        tag
    )
}

/// The facts about a release that its actions depend on.
pub fn release_facts(release: &MainRelease) -> ReleaseFacts {
    ReleaseFacts {
        state: release.state,
        require_review: release.require_review,
    }
}

/// The facts about a component release that its actions depend on.
pub fn component_facts(c: &ComponentRelease) -> ComponentFacts {
    ComponentFacts {
        state: c.state,
        reviewed: c.reviewed,
    }
}

/// The release-level actions offered now, by name (see [`actions::release_actions`]).
pub fn release_actions(
    release: &MainRelease,
    components: &[ComponentRelease],
) -> Vec<&'static str> {
    let components: Vec<ComponentFacts> = components.iter().map(component_facts).collect();
    actions::release_actions(release_facts(release), &components)
        .into_iter()
        .map(ReleaseAction::as_str)
        .collect()
}

/// The component-level actions offered now, by name (see [`actions::component_actions`]).
pub fn component_actions(release: &MainRelease, c: &ComponentRelease) -> Vec<&'static str> {
    actions::component_actions(release_facts(release), component_facts(c))
        .into_iter()
        .map(ComponentAction::as_str)
        .collect()
}

/// Why a component stands where it stands, in one sentence: what blocks or holds it first,
/// else what Convoy last recorded (a failure, or what it is waiting for at GitLab).
fn component_reason(
    c: &ComponentRelease,
    require_review: bool,
    waiting_on: &[String],
    blocked_by: &[String],
) -> Option<String> {
    // States in which the order of the plan holds the component back.
    let holding = matches!(
        c.state,
        ComponentState::Waiting | ComponentState::Pending | ComponentState::Merged
    );
    if holding && !blocked_by.is_empty() {
        return Some(format!(
            "blocked: {} cannot be released",
            blocked_by.join(", ")
        ));
    }
    if holding && !waiting_on.is_empty() {
        return Some(format!("waiting for {}", waiting_on.join(", ")));
    }
    if c.state == ComponentState::Pending && require_review && !c.reviewed {
        return Some("waiting for its merge request to be marked reviewed".to_owned());
    }
    c.reason.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_link_points_at_the_forge_tag_page() {
        assert_eq!(
            tag_url("http://127.0.0.1:9000/", "ios/b", "0.1.0"),
            "http://127.0.0.1:9000/ios/b/-/tags/0.1.0"
        );
    }

    #[test]
    fn only_http_and_https_links_are_kept() {
        assert_eq!(
            web_link("https://gitlab.example/ios/a/-/merge_requests/4").as_deref(),
            Some("https://gitlab.example/ios/a/-/merge_requests/4")
        );
        assert_eq!(
            web_link("http://127.0.0.1:9000/x").as_deref(),
            Some("http://127.0.0.1:9000/x")
        );
        for unsafe_link in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "/relative/path",
            "//evil.example/x",
            "",
        ] {
            assert_eq!(web_link(unsafe_link), None, "{unsafe_link}");
        }
    }
}
