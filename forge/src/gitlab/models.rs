//! GitLab's REST answers, only the fields Convoy reads, and their domain forms. Unknown fields
//! are ignored; unknown status values become `PipelineStatus::Other`.

use serde::{Deserialize, Deserializer};

use crate::types::{
    Branch, Commit, Hook, Job, MergeRequest, MergeRequestState, Note, Pipeline, PipelineStatus,
    Project, Tag, User,
};

#[derive(Debug, Deserialize)]
pub(crate) struct ProjectJson {
    pub id: u64,
    pub path_with_namespace: String,
    /// `null` for a project with an empty repository.
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub web_url: String,
    /// Absent for tokens that cannot see project settings: GitLab's default, `merge`.
    #[serde(default)]
    pub merge_method: Option<String>,
    #[serde(default, deserialize_with = "null_is_false")]
    pub only_allow_merge_if_pipeline_succeeds: bool,
    #[serde(default, deserialize_with = "null_is_false")]
    pub allow_merge_on_skipped_pipeline: bool,
}

impl From<ProjectJson> for Project {
    fn from(p: ProjectJson) -> Self {
        Project {
            id: p.id,
            path: p.path_with_namespace,
            default_branch: p.default_branch.unwrap_or_default(),
            web_url: p.web_url,
            merge_method: p.merge_method.unwrap_or_else(|| "merge".to_owned()),
            only_allow_merge_if_pipeline_succeeds: p.only_allow_merge_if_pipeline_succeeds,
            allow_merge_on_skipped_pipeline: p.allow_merge_on_skipped_pipeline,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct FileJson {
    pub content: String,
    #[serde(default)]
    pub encoding: Option<String>,
    pub last_commit_id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TreeEntryJson {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CommitRefJson {
    pub id: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BranchJson {
    pub name: String,
    pub commit: CommitRefJson,
}

impl From<BranchJson> for Branch {
    fn from(b: BranchJson) -> Self {
        Branch {
            name: b.name,
            commit_sha: b.commit.id,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CompareJson {
    #[serde(default)]
    pub commits: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PipelineJson {
    pub id: u64,
    #[serde(deserialize_with = "status")]
    pub status: PipelineStatus,
    #[serde(rename = "ref", default)]
    pub git_ref: String,
    #[serde(default)]
    pub sha: String,
    #[serde(default)]
    pub web_url: String,
    #[serde(default, deserialize_with = "seconds")]
    pub duration: Option<u64>,
}

impl From<PipelineJson> for Pipeline {
    fn from(p: PipelineJson) -> Self {
        Pipeline {
            id: p.id,
            status: p.status,
            git_ref: p.git_ref,
            sha: p.sha,
            web_url: p.web_url,
            duration: p.duration,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct MergeRequestJson {
    pub iid: u64,
    #[serde(deserialize_with = "merge_request_state")]
    pub state: MergeRequestState,
    pub source_branch: String,
    pub target_branch: String,
    #[serde(default)]
    pub web_url: String,
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    /// Also reported for `auto_merge` on GitLab 17.11+ (responses have no `auto_merge`).
    #[serde(default, deserialize_with = "null_is_false")]
    pub merge_when_pipeline_succeeds: bool,
    #[serde(default)]
    pub head_pipeline: Option<PipelineJson>,
    #[serde(default)]
    pub detailed_merge_status: Option<String>,
}

impl From<MergeRequestJson> for MergeRequest {
    fn from(m: MergeRequestJson) -> Self {
        MergeRequest {
            iid: m.iid,
            state: m.state,
            source_branch: m.source_branch,
            target_branch: m.target_branch,
            web_url: m.web_url,
            sha: m.sha,
            merge_commit_sha: m.merge_commit_sha,
            auto_merge: m.merge_when_pipeline_succeeds,
            head_pipeline: m.head_pipeline.map(Pipeline::from),
            detailed_merge_status: m.detailed_merge_status,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct JobJson {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub stage: String,
    #[serde(deserialize_with = "status")]
    pub status: PipelineStatus,
    #[serde(default)]
    pub web_url: String,
}

impl From<JobJson> for Job {
    fn from(j: JobJson) -> Self {
        Job {
            id: j.id,
            name: j.name,
            stage: j.stage,
            status: j.status,
            web_url: j.web_url,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct TagJson {
    pub name: String,
    #[serde(default)]
    pub message: Option<String>,
    pub commit: CommitRefJson,
}

impl From<TagJson> for Tag {
    fn from(t: TagJson) -> Self {
        // GitLab gives "" for a lightweight tag.
        let message = t.message.filter(|m| !m.is_empty());
        Tag {
            name: t.name,
            commit_sha: t.commit.id,
            commit_message: t.commit.message,
            message,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct HookJson {
    pub id: u64,
    pub url: String,
}

impl From<HookJson> for Hook {
    fn from(h: HookJson) -> Self {
        Hook {
            id: h.id,
            url: h.url,
        }
    }
}

/// A status string; unknown values never fail.
pub(crate) fn status<'de, D: Deserializer<'de>>(d: D) -> Result<PipelineStatus, D::Error> {
    let text = String::deserialize(d)?;
    Ok(PipelineStatus::parse(&text))
}

/// A merge request state. GitLab documents only these four; anything new is read as `locked`
/// (GitLab's own short-lived, transitional state), so Convoy waits and reads again.
pub(crate) fn parse_merge_request_state(text: &str) -> MergeRequestState {
    match text {
        "opened" => MergeRequestState::Opened,
        "closed" => MergeRequestState::Closed,
        "merged" => MergeRequestState::Merged,
        _ => MergeRequestState::Locked,
    }
}

fn merge_request_state<'de, D: Deserializer<'de>>(d: D) -> Result<MergeRequestState, D::Error> {
    let text = String::deserialize(d)?;
    Ok(parse_merge_request_state(&text))
}

/// Durations are whole seconds, but some GitLab versions send floats.
pub(crate) fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let value = Option::<f64>::deserialize(d)?;
    Ok(value
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v.round() as u64))
}

fn null_is_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gitlab");

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
    }

    #[test]
    fn the_documented_merge_request_reads_with_its_head_pipeline() {
        let mr: MergeRequest =
            serde_json::from_str::<MergeRequestJson>(&fixture("api-get-mr.json"))
                .unwrap()
                .into();
        assert_eq!(mr.iid, 133);
        assert_eq!(mr.state, MergeRequestState::Opened);
        assert_eq!(mr.source_branch, "manual-job-rules");
        assert_eq!(mr.target_branch, "main");
        let pipeline = mr.head_pipeline.expect("head pipeline");
        assert_eq!(pipeline.status, PipelineStatus::Failed);
        assert!(!mr.auto_merge);
    }

    #[test]
    fn the_documented_pipelines_read() {
        let p: Pipeline = serde_json::from_str::<PipelineJson>(&fixture("api-get-pipeline.json"))
            .unwrap()
            .into();
        assert_eq!(p.id, 287);
        assert_eq!(p.git_ref, "main");
        assert_eq!(p.status, PipelineStatus::Success);
        assert_eq!(p.duration, Some(34));
        let created: Pipeline =
            serde_json::from_str::<PipelineJson>(&fixture("api-create-mr-pipeline.json"))
                .unwrap()
                .into();
        assert_eq!(created.status, PipelineStatus::Pending);
        assert_eq!(created.duration, None);
    }

    #[test]
    fn the_documented_tag_reads_with_its_commit() {
        let tag: Tag = serde_json::from_str::<TagJson>(&fixture("api-get-tag.json"))
            .unwrap()
            .into();
        assert_eq!(tag.name, "v5.0.0");
        assert_eq!(tag.commit_sha, "60a8ff033665e1207714d6670fcd7b65304ec02f");
    }

    #[test]
    fn an_unknown_pipeline_status_is_kept_as_other() {
        let json = r#"{"id": 1, "status": "waiting_for_callback", "ref": "main", "sha": "abc", "web_url": "u", "duration": 12.6}"#;
        let p: Pipeline = serde_json::from_str::<PipelineJson>(json).unwrap().into();
        assert_eq!(
            p.status,
            PipelineStatus::Other("waiting_for_callback".into())
        );
        assert_eq!(p.duration, Some(13));
    }
}

/// `Entities::UserBasic`, the fields Convoy reads.
#[derive(Debug, Deserialize)]
pub(crate) struct UserJson {
    pub id: u64,
    pub username: String,
}

impl From<UserJson> for User {
    fn from(u: UserJson) -> Self {
        User {
            id: u.id,
            username: u.username,
        }
    }
}

/// `Entities::User` (`GET /users/:id`), the profile field Convoy reads.
#[derive(Debug, Deserialize)]
pub(crate) struct UserProfileJson {
    #[serde(default)]
    pub public_email: Option<String>,
}

/// `Entities::Commit`, the fields Convoy reads.
#[derive(Debug, Deserialize)]
pub(crate) struct CommitJson {
    pub id: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub author_name: String,
    #[serde(default)]
    pub author_email: String,
    #[serde(default)]
    pub parent_ids: Vec<String>,
}

impl From<CommitJson> for Commit {
    fn from(c: CommitJson) -> Self {
        Commit {
            id: c.id,
            message: c.message,
            author_name: c.author_name,
            author_email: c.author_email,
            is_merge: c.parent_ids.len() > 1,
        }
    }
}

/// `Entities::Note`, the fields Convoy reads.
#[derive(Debug, Deserialize)]
pub(crate) struct NoteJson {
    pub id: u64,
    #[serde(default)]
    pub body: String,
    #[serde(default, deserialize_with = "null_is_false")]
    pub system: bool,
}

impl From<NoteJson> for Note {
    fn from(n: NoteJson) -> Self {
        Note {
            id: n.id,
            body: n.body,
            system: n.system,
        }
    }
}
