//! [`GitLab`]: the [`Forge`] on GitLab's REST API v4, through the `gitlab` crate's endpoints.

use async_trait::async_trait;
use base64::Engine;
use gitlab::api::common::SortOrder;
use gitlab::api::projects::Project as GetProject;
use gitlab::api::projects::hooks::{CreateHook, EditHook, Hooks};
use gitlab::api::projects::jobs::JobTrace;
use gitlab::api::projects::merge_requests::notes::{
    CreateMergeRequestNote, EditMergeRequestNote, MergeRequestNotes, NoteOrderBy,
};
use gitlab::api::projects::merge_requests::pipelines::CreateMergeRequestPipelines;
use gitlab::api::projects::merge_requests::{
    CreateMergeRequest, MergeRequest as GetMergeRequest, MergeRequestState as MrStateFilter,
    MergeRequests,
};
use gitlab::api::projects::pipelines::{
    CreatePipeline, Pipeline as GetPipeline, PipelineJobs, RetryPipeline,
};
use gitlab::api::projects::repository::branches::{Branch as GetBranch, CreateBranch};
use gitlab::api::projects::repository::commits::{Commits, CompareCommits};
use gitlab::api::projects::repository::files::{File, UpdateFile};
use gitlab::api::projects::repository::tags::{CreateTag, Tag as GetTag};
use gitlab::api::users::{User as GetUser, Users};
use gitlab::api::{AsyncQuery, Endpoint, Pageable, Pagination};
use serde::de::DeserializeOwned;

use super::client::{ConfigError, GitLabOptions, HttpClient};
use super::endpoints::{CancelAutoMerge, LatestPipeline, MergeWhenPipelineSucceeds, RecursiveTree};
use super::errors::{Access, Failure};
use super::models::*;
use crate::types::*;
use crate::{Forge, ForgeError};

/// The [`Forge`] on a GitLab instance (REST API v4).
#[derive(Debug, Clone)]
pub struct GitLab {
    client: HttpClient,
}

impl GitLab {
    /// A GitLab adapter for the instance at `base_url` (`https://gitlab.example.com`, or with a
    /// path prefix), authenticating with a personal, project or group access `token` (sent as
    /// `PRIVATE-TOKEN`, never logged). Makes no request.
    pub fn new(
        base_url: &str,
        token: String,
        options: GitLabOptions,
    ) -> Result<GitLab, ConfigError> {
        Ok(GitLab {
            client: HttpClient::new(base_url, token, options)?,
        })
    }

    async fn one<T, E>(&self, endpoint: E) -> Result<T, Failure>
    where
        T: DeserializeOwned + Send + 'static,
        E: Endpoint + Sync + Send,
    {
        endpoint
            .query_async(&self.client)
            .await
            .map_err(Failure::from_api)
    }

    /// One object, with GitLab's failure turned into the domain error for `what`.
    async fn fetch<T, E>(&self, endpoint: E, what: &str, access: Access) -> Result<T, ForgeError>
    where
        T: DeserializeOwned + Send + 'static,
        E: Endpoint + Sync + Send,
    {
        self.one(endpoint)
            .await
            .map_err(|failure| failure.into_forge_error(what, access))
    }

    async fn all<T, E>(&self, endpoint: E) -> Result<Vec<T>, Failure>
    where
        T: DeserializeOwned + Send + 'static,
        E: Endpoint + Pageable + Sync + Send,
    {
        gitlab::api::paged(endpoint, Pagination::All)
            .query_async(&self.client)
            .await
            .map_err(Failure::from_api)
    }

    /// Every file (not directory) of the repository at `git_ref`, shallowest first.
    async fn files(&self, project: &str, git_ref: &str) -> Result<Vec<String>, ForgeError> {
        let what = format!("repository tree at {git_ref} in {project}");
        let entries: Vec<TreeEntryJson> = self
            .all(RecursiveTree { project, git_ref })
            .await
            .map_err(|f| f.into_forge_error(&what, Access::ReadRepository))?;
        let mut paths: Vec<String> = entries
            .into_iter()
            .filter(|e| e.kind == "blob")
            .map(|e| e.path)
            .collect();
        paths.sort_by(|a, b| depth(a).cmp(&depth(b)).then_with(|| a.cmp(b)));
        Ok(paths)
    }

    async fn find_files_where(
        &self,
        project: &str,
        git_ref: &str,
        max_depth: usize,
        name_matches: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>, ForgeError> {
        let files = self.files(project, git_ref).await?;
        Ok(files
            .into_iter()
            .filter(|path| depth(path) <= max_depth && name_matches(file_name(path)))
            .collect())
    }
}

/// Directories above the file: `Podfile` is 0, `Example/Podfile` is 1.
fn depth(path: &str) -> usize {
    path.matches('/').count()
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A builder error is a bug in the adapter, not something GitLab said.
fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, ForgeError> {
    result.map_err(|e| ForgeError::Rejected {
        status: 0,
        message: format!("invalid request: {e}"),
    })
}

fn decode_file(path: &str, file: FileJson) -> Result<String, ForgeError> {
    let bytes = match file.encoding.as_deref() {
        Some("text") => file.content.into_bytes(),
        _ => {
            let compact: String = file.content.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|e| ForgeError::Rejected {
                    status: 200,
                    message: format!("the content of {path} is not valid base64: {e}"),
                })?
        }
    };
    String::from_utf8(bytes).map_err(|_| ForgeError::Rejected {
        status: 200,
        message: format!("{path} is not UTF-8 text"),
    })
}

/// The last `lines` lines of a job log, as a person would see them: ANSI colours and GitLab's
/// collapsible-section markers removed, and for a line rewritten with `\r` only its last state.
pub(crate) fn log_tail(log: &str, lines: usize) -> String {
    let cleaned: Vec<String> = log
        .split('\n')
        .map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let shown = line.rsplit('\r').next().unwrap_or(line);
            strip_ansi(shown)
        })
        .collect();
    let end = cleaned
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    let start = end.saturating_sub(lines);
    cleaned[start..end].join("\n")
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters and intermediates, up to the final byte (a letter or `@`–`~`).
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn is_merge_refusal(status: Option<u16>) -> bool {
    matches!(status, Some(405 | 406 | 409 | 422))
}

#[async_trait]
impl Forge for GitLab {
    async fn project(&self, path: &str) -> Result<Project, ForgeError> {
        let endpoint = built(GetProject::builder().project(path).build())?;
        let project: ProjectJson = self
            .one(endpoint)
            .await
            .map_err(|f| f.into_forge_error(&format!("project {path}"), Access::Read))?;
        Ok(project.into())
    }

    async fn read_file(
        &self,
        project: &str,
        file_path: &str,
        git_ref: &str,
    ) -> Result<FileContent, ForgeError> {
        let endpoint = built(
            File::builder()
                .project(project)
                .file_path(file_path)
                .ref_(git_ref)
                .build(),
        )?;
        let what = format!("file {file_path} at {git_ref} in {project}");
        let file: FileJson = self.fetch(endpoint, &what, Access::ReadRepository).await?;
        let last_commit_id = file.last_commit_id.clone();
        let content = decode_file(file_path, file)?;
        Ok(FileContent {
            path: file_path.to_owned(),
            content,
            last_commit_id,
        })
    }

    async fn find_files(
        &self,
        project: &str,
        git_ref: &str,
        file_name: &str,
        max_depth: usize,
    ) -> Result<Vec<String>, ForgeError> {
        self.find_files_where(project, git_ref, max_depth, |name| name == file_name)
            .await
    }

    async fn find_files_with_suffix(
        &self,
        project: &str,
        git_ref: &str,
        suffixes: &[&str],
        max_depth: usize,
    ) -> Result<Vec<String>, ForgeError> {
        self.find_files_where(project, git_ref, max_depth, |name| {
            suffixes.iter().any(|suffix| name.ends_with(suffix))
        })
        .await
    }

    async fn update_file(&self, change: &FileUpdate) -> Result<String, ForgeError> {
        let endpoint = built(
            UpdateFile::builder()
                .project(change.project.as_str())
                .file_path(change.file_path.as_str())
                .branch(change.branch.as_str())
                .content(change.content.as_bytes())
                .commit_message(change.commit_message.as_str())
                .last_commit_id(change.last_commit_id.as_str())
                .build(),
        )?;
        let what = format!(
            "file {} on {} in {}",
            change.file_path, change.branch, change.project
        );
        let _: serde::de::IgnoredAny = self.one(endpoint).await.map_err(|failure| {
            if failure.status() == Some(400)
                && failure
                    .message()
                    .contains("changed since you started editing it")
            {
                ForgeError::FileChanged {
                    path: change.file_path.clone(),
                    message: failure.message().to_owned(),
                }
            } else {
                failure.into_forge_error(&what, Access::Write)
            }
        })?;
        // GitLab's answer carries no commit id: read the commit that now last changed the file.
        let file = self
            .read_file(&change.project, &change.file_path, &change.branch)
            .await?;
        Ok(file.last_commit_id)
    }

    async fn branch(&self, project: &str, name: &str) -> Result<Branch, ForgeError> {
        let endpoint = built(GetBranch::builder().project(project).branch(name).build())?;
        let what = format!("branch {name} in {project}");
        let branch: BranchJson = self.fetch(endpoint, &what, Access::Read).await?;
        Ok(branch.into())
    }

    async fn create_branch(
        &self,
        project: &str,
        name: &str,
        git_ref: &str,
    ) -> Result<Branch, ForgeError> {
        let endpoint = built(
            CreateBranch::builder()
                .project(project)
                .branch(name)
                .ref_(git_ref)
                .build(),
        )?;
        let what = format!("ref {git_ref} in {project}");
        let branch: BranchJson = self.fetch(endpoint, &what, Access::Write).await?;
        Ok(branch.into())
    }

    async fn is_merged(
        &self,
        project: &str,
        branch: &str,
        target: &str,
    ) -> Result<bool, ForgeError> {
        let endpoint = built(
            CompareCommits::builder()
                .project(project)
                .from(target)
                .to(branch)
                .build(),
        )?;
        let what = format!("comparison of {branch} with {target} in {project}");
        let compare: CompareJson = self.fetch(endpoint, &what, Access::ReadRepository).await?;
        Ok(compare.commits.is_empty())
    }

    async fn find_open_merge_request(
        &self,
        project: &str,
        source: &str,
        target: &str,
    ) -> Result<Option<MergeRequest>, ForgeError> {
        let endpoint = built(
            MergeRequests::builder()
                .project(project)
                .state(MrStateFilter::Opened)
                .source_branch(source)
                .target_branch(target)
                .build(),
        )?;
        let what = format!("merge requests of {project}");
        let found: Vec<MergeRequestJson> = self.fetch(endpoint, &what, Access::Read).await?;
        let open = found.into_iter().find(|mr| {
            mr.source_branch == source
                && mr.target_branch == target
                && mr.state == MergeRequestState::Opened
        });
        match open {
            // The list omits the head pipeline: read the merge request itself.
            Some(mr) => Ok(Some(self.merge_request(project, mr.iid).await?)),
            None => Ok(None),
        }
    }

    async fn create_merge_request(&self, mr: &NewMergeRequest) -> Result<MergeRequest, ForgeError> {
        let project = mr.project.as_str();
        let mut builder = CreateMergeRequest::builder();
        builder
            .project(project)
            .source_branch(mr.source.as_str())
            .target_branch(mr.target.as_str())
            .title(mr.title.as_str())
            .description(mr.description.as_str());
        if !mr.assignee_ids.is_empty() {
            builder.assignees(mr.assignee_ids.iter().copied());
        }
        let endpoint = built(builder.build())?;
        let what = format!("project {project}");
        match self.one::<MergeRequestJson, _>(endpoint).await {
            Ok(mr) => Ok(mr.into()),
            // "Another open merge request already exists for this source branch": after a
            // retried request or a restart, that one is ours. Never open a second one.
            Err(failure) if failure.status() == Some(409) => {
                match self
                    .find_open_merge_request(project, &mr.source, &mr.target)
                    .await?
                {
                    Some(existing) => Ok(existing),
                    None => Err(failure.into_forge_error(&what, Access::Write)),
                }
            }
            Err(failure) => Err(failure.into_forge_error(&what, Access::Write)),
        }
    }

    async fn merge_request(&self, project: &str, iid: u64) -> Result<MergeRequest, ForgeError> {
        let endpoint = built(
            GetMergeRequest::builder()
                .project(project)
                .merge_request(iid)
                .build(),
        )?;
        let what = format!("merge request !{iid} in {project}");
        let mr: MergeRequestJson = self.fetch(endpoint, &what, Access::Read).await?;
        Ok(mr.into())
    }

    async fn merge_when_pipeline_succeeds(
        &self,
        project: &str,
        iid: u64,
        sha: &str,
    ) -> Result<MergeRequest, ForgeError> {
        let what = format!("merge request !{iid} in {project}");
        let mr: MergeRequestJson = self
            .one(MergeWhenPipelineSucceeds { project, iid, sha })
            .await
            .map_err(|failure| {
                if is_merge_refusal(failure.status()) {
                    ForgeError::CannotMerge {
                        status: failure.status().unwrap_or_default(),
                        message: failure.message().to_owned(),
                    }
                } else {
                    failure.into_forge_error(&what, Access::Write)
                }
            })?;
        Ok(mr.into())
    }

    async fn cancel_auto_merge(&self, project: &str, iid: u64) -> Result<MergeRequest, ForgeError> {
        let what = format!("merge request !{iid} in {project}");
        match self
            .one::<MergeRequestJson, _>(CancelAutoMerge { project, iid })
            .await
        {
            Ok(mr) => Ok(mr.into()),
            // 406 "Can't cancel the automatic merge": it was not set, or the MR is closed.
            Err(failure) if failure.status() == Some(406) => self.merge_request(project, iid).await,
            Err(failure) => Err(failure.into_forge_error(&what, Access::Write)),
        }
    }

    async fn create_merge_request_pipeline(
        &self,
        project: &str,
        iid: u64,
    ) -> Result<Pipeline, ForgeError> {
        let endpoint = built(
            CreateMergeRequestPipelines::builder()
                .project(project)
                .merge_request(iid)
                .build(),
        )?;
        let what = format!("merge request !{iid} in {project}");
        let pipeline: PipelineJson = self.fetch(endpoint, &what, Access::Write).await?;
        Ok(pipeline.into())
    }

    async fn create_pipeline(&self, project: &str, git_ref: &str) -> Result<Pipeline, ForgeError> {
        let endpoint = built(
            CreatePipeline::builder()
                .project(project)
                .ref_(git_ref)
                .build(),
        )?;
        let what = format!("ref {git_ref} in {project}");
        let pipeline: PipelineJson = self.fetch(endpoint, &what, Access::Write).await?;
        Ok(pipeline.into())
    }

    async fn retry_pipeline(
        &self,
        project: &str,
        pipeline_id: u64,
    ) -> Result<Pipeline, ForgeError> {
        let endpoint = built(
            RetryPipeline::builder()
                .project(project)
                .pipeline(pipeline_id)
                .build(),
        )?;
        let what = format!("pipeline {pipeline_id} in {project}");
        let pipeline: PipelineJson = self.fetch(endpoint, &what, Access::Write).await?;
        Ok(pipeline.into())
    }

    async fn pipeline(&self, project: &str, pipeline_id: u64) -> Result<Pipeline, ForgeError> {
        let endpoint = built(
            GetPipeline::builder()
                .project(project)
                .pipeline(pipeline_id)
                .build(),
        )?;
        let what = format!("pipeline {pipeline_id} in {project}");
        let pipeline: PipelineJson = self.fetch(endpoint, &what, Access::Read).await?;
        Ok(pipeline.into())
    }

    async fn latest_pipeline(
        &self,
        project: &str,
        git_ref: &str,
    ) -> Result<Option<Pipeline>, ForgeError> {
        let what = format!("pipelines of {project}");
        let pipelines: Vec<PipelineJson> = self
            .fetch(LatestPipeline { project, git_ref }, &what, Access::Read)
            .await?;
        Ok(pipelines
            .into_iter()
            .max_by_key(|p| p.id)
            .map(Pipeline::from))
    }

    async fn pipeline_jobs(&self, project: &str, pipeline_id: u64) -> Result<Vec<Job>, ForgeError> {
        let endpoint = built(
            PipelineJobs::builder()
                .project(project)
                .pipeline(pipeline_id)
                .build(),
        )?;
        let what = format!("pipeline {pipeline_id} in {project}");
        let jobs: Vec<JobJson> = self
            .all(endpoint)
            .await
            .map_err(|f| f.into_forge_error(&what, Access::Read))?;
        Ok(jobs.into_iter().map(Job::from).collect())
    }

    async fn job_log_tail(
        &self,
        project: &str,
        job_id: u64,
        lines: usize,
    ) -> Result<String, ForgeError> {
        let endpoint = built(JobTrace::builder().project(project).job(job_id).build())?;
        let what = format!("log of job {job_id} in {project}");
        let log: Vec<u8> = gitlab::api::raw(endpoint)
            .query_async(&self.client)
            .await
            .map_err(|e| Failure::from_api(e).into_forge_error(&what, Access::Read))?;
        Ok(log_tail(&String::from_utf8_lossy(&log), lines))
    }

    async fn create_tag(
        &self,
        project: &str,
        name: &str,
        git_ref: &str,
        message: &str,
    ) -> Result<Tag, ForgeError> {
        let mut builder = CreateTag::builder();
        builder.project(project).tag_name(name).ref_(git_ref);
        if !message.is_empty() {
            builder.message(message);
        }
        let endpoint = built(builder.build())?;
        let what = format!("ref {git_ref} in {project}");
        let tag: TagJson = self.one(endpoint).await.map_err(|failure| {
            if failure.status() == Some(400) && failure.message().contains("already exists") {
                ForgeError::TagExists {
                    tag: name.to_owned(),
                }
            } else {
                failure.into_forge_error(&what, Access::Write)
            }
        })?;
        Ok(tag.into())
    }

    async fn tag(&self, project: &str, name: &str) -> Result<Option<Tag>, ForgeError> {
        let endpoint = built(GetTag::builder().project(project).tag_name(name).build())?;
        match self.one::<TagJson, _>(endpoint).await {
            Ok(tag) => Ok(Some(tag.into())),
            // "404 Tag Not Found"; a missing project is still an error.
            Err(failure)
                if failure.status() == Some(404) && !failure.message().contains("Project") =>
            {
                Ok(None)
            }
            Err(failure) => {
                Err(failure.into_forge_error(&format!("project {project}"), Access::Read))
            }
        }
    }

    async fn user(&self, username: &str) -> Result<Option<User>, ForgeError> {
        // `UsersFinder` matches `username` exactly (case-insensitively): 0 or 1 user.
        let endpoint = built(Users::builder().username(username).build())?;
        let what = format!("user {username}");
        let found: Vec<UserJson> = self.fetch(endpoint, &what, Access::Read).await?;
        Ok(found
            .into_iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
            .map(User::from))
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, ForgeError> {
        // `search` with a whole address matches public emails exactly (`User.search`).
        let endpoint = built(Users::builder().search(email).build())?;
        let what = format!("users with the email {email}");
        let found: Vec<UserJson> = self.fetch(endpoint, &what, Access::Read).await?;
        let mut found = found.into_iter();
        match (found.next(), found.next()) {
            (Some(user), None) => Ok(Some(user.into())),
            _ => Ok(None),
        }
    }

    async fn public_email(&self, user_id: u64) -> Result<Option<String>, ForgeError> {
        let endpoint = built(GetUser::builder().user(user_id).build())?;
        let what = format!("user {user_id}");
        let user: UserProfileJson = self.fetch(endpoint, &what, Access::Read).await?;
        Ok(user.public_email.filter(|email| !email.trim().is_empty()))
    }

    async fn commits(
        &self,
        project: &str,
        git_ref: &str,
        limit: usize,
    ) -> Result<Vec<Commit>, ForgeError> {
        let endpoint = built(
            Commits::builder()
                .project(project)
                .ref_name(git_ref)
                .build(),
        )?;
        let what = format!("commits of {git_ref} in {project}");
        let commits: Vec<CommitJson> = gitlab::api::paged(endpoint, Pagination::Limit(limit))
            .query_async(&self.client)
            .await
            .map_err(Failure::from_api)
            .map_err(|f| f.into_forge_error(&what, Access::ReadRepository))?;
        Ok(commits.into_iter().map(Commit::from).collect())
    }

    async fn merge_request_notes(&self, project: &str, iid: u64) -> Result<Vec<Note>, ForgeError> {
        // GitLab lists the newest first unless asked (`lib/api/notes.rb`: `sort` defaults to desc).
        let endpoint = built(
            MergeRequestNotes::builder()
                .project(project)
                .merge_request(iid)
                .order_by(NoteOrderBy::CreatedAt)
                .sort(SortOrder::Ascending)
                .build(),
        )?;
        let what = format!("notes of merge request !{iid} of {project}");
        let notes: Vec<NoteJson> = self
            .all(endpoint)
            .await
            .map_err(|f| f.into_forge_error(&what, Access::Read))?;
        Ok(notes.into_iter().map(Note::from).collect())
    }

    async fn create_merge_request_note(
        &self,
        project: &str,
        iid: u64,
        body: &str,
    ) -> Result<Note, ForgeError> {
        let endpoint = built(
            CreateMergeRequestNote::builder()
                .project(project)
                .merge_request(iid)
                .body(body)
                .build(),
        )?;
        let what = format!("a note on merge request !{iid} of {project}");
        let note: NoteJson = self.fetch(endpoint, &what, Access::Write).await?;
        Ok(note.into())
    }

    async fn edit_merge_request_note(
        &self,
        project: &str,
        iid: u64,
        note_id: u64,
        body: &str,
    ) -> Result<Note, ForgeError> {
        let endpoint = built(
            EditMergeRequestNote::builder()
                .project(project)
                .merge_request(iid)
                .note(note_id)
                .body(body)
                .build(),
        )?;
        let what = format!("note {note_id} of merge request !{iid} of {project}");
        let note: NoteJson = self.fetch(endpoint, &what, Access::Write).await?;
        Ok(note.into())
    }

    async fn ensure_hook(
        &self,
        project: &str,
        url: &str,
        secret: &str,
    ) -> Result<Hook, ForgeError> {
        let what = format!("hooks of {project}");
        let list = built(Hooks::builder().project(project).build())?;
        let hooks: Vec<HookJson> = self
            .all(list)
            .await
            .map_err(|f| f.into_forge_error(&what, Access::Hooks))?;
        let hook: HookJson = match hooks.into_iter().find(|h| h.url == url) {
            // Keep the one hook, but make sure its secret and events are Convoy's.
            Some(existing) => {
                let edit = built(
                    EditHook::builder()
                        .project(project)
                        .hook_id(existing.id)
                        .url(url)
                        .token(secret)
                        .push_events(true)
                        .tag_push_events(true)
                        .merge_requests_events(true)
                        .pipeline_events(true)
                        .job_events(true)
                        .build(),
                )?;
                self.one(edit)
                    .await
                    .map_err(|f| f.into_forge_error(&what, Access::Hooks))?
            }
            None => {
                let create = built(
                    CreateHook::builder()
                        .project(project)
                        .url(url)
                        .token(secret)
                        .push_events(true)
                        .tag_push_events(true)
                        .merge_requests_events(true)
                        .pipeline_events(true)
                        .job_events(true)
                        .build(),
                )?;
                self.one(create)
                    .await
                    .map_err(|f| f.into_forge_error(&what, Access::Hooks))?
            }
        };
        Ok(hook.into())
    }

    fn follows_event(&self, event_name: &str) -> bool {
        super::webhook::is_hook_event(event_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_the_directories_above_a_file() {
        assert_eq!(depth("Podfile"), 0);
        assert_eq!(depth("Example/Podfile"), 1);
        assert_eq!(depth("a/b/c/Podfile"), 3);
    }

    #[test]
    fn the_log_tail_keeps_the_last_lines_without_colours_or_section_markers() {
        let log = "line 1\nsection_start:1700000000:step_script\r\u{1b}[0K\u{1b}[32;1mRunning lint\u{1b}[0;m\n\
                   progress 10%\rprogress 100%\r\n\u{1b}[31;1mERROR: lint failed\u{1b}[0;m\n\n";
        assert_eq!(
            log_tail(log, 3),
            "Running lint\nprogress 100%\nERROR: lint failed"
        );
        assert_eq!(log_tail(log, 1), "ERROR: lint failed");
        assert_eq!(log_tail("", 5), "");
    }

    #[test]
    fn a_text_encoded_file_is_read_as_is_and_base64_is_decoded() {
        let text = FileJson {
            content: "pod 'A'\n".into(),
            encoding: Some("text".into()),
            last_commit_id: "c".into(),
        };
        assert_eq!(decode_file("Podfile", text).unwrap(), "pod 'A'\n");
        let encoded = FileJson {
            content: "cG9kICdBJwo=".into(),
            encoding: Some("base64".into()),
            last_commit_id: "c".into(),
        };
        assert_eq!(decode_file("Podfile", encoded).unwrap(), "pod 'A'\n");
        let broken = FileJson {
            content: "@@@@".into(),
            encoding: None,
            last_commit_id: "c".into(),
        };
        assert_eq!(
            decode_file("Podfile", broken),
            Err(ForgeError::Rejected {
                status: 200,
                message: "the content of Podfile is not valid base64: Invalid symbol 64, offset 0."
                    .into()
            })
        );
    }
}
