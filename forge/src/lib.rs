//! The forge interface in domain words (project, file, merge request, pipeline, tag, hook), and
//! its GitLab implementation. The worker holds an `Arc<dyn Forge>` and never names GitLab; a
//! second forge is a second implementation of [`Forge`].

pub mod error;
pub mod gitlab;
pub mod types;

pub use error::ForgeError;
pub use types::*;

use async_trait::async_trait;

/// Everything Convoy asks of a forge. Projects are named by their path (`group/app`).
#[async_trait]
pub trait Forge: Send + Sync {
    /// The project at `path`, with its default branch.
    async fn project(&self, path: &str) -> Result<Project, ForgeError>;

    /// The file at `file_path` on `git_ref`, with the commit it was last changed in.
    async fn read_file(
        &self,
        project: &str,
        file_path: &str,
        git_ref: &str,
    ) -> Result<FileContent, ForgeError>;

    /// Paths of the files named `file_name` at most `max_depth` directories deep (0 = root),
    /// shallowest first.
    async fn find_files(
        &self,
        project: &str,
        git_ref: &str,
        file_name: &str,
        max_depth: usize,
    ) -> Result<Vec<String>, ForgeError>;

    /// Paths of every file at most `max_depth` directories deep whose name ends with one of
    /// `suffixes`, shallowest first, from one listing of the repository.
    async fn find_files_with_suffix(
        &self,
        project: &str,
        git_ref: &str,
        suffixes: &[&str],
        max_depth: usize,
    ) -> Result<Vec<String>, ForgeError>;

    /// Commits `content` to `file_path` on `branch`, only if the file was last changed in
    /// `last_commit_id` (else [`ForgeError::FileChanged`]). Returns the new commit id.
    async fn update_file(&self, change: &FileUpdate) -> Result<String, ForgeError>;

    /// The branch and the commit at its head.
    async fn branch(&self, project: &str, name: &str) -> Result<Branch, ForgeError>;

    /// Creates the branch `name` at `git_ref`.
    async fn create_branch(
        &self,
        project: &str,
        name: &str,
        git_ref: &str,
    ) -> Result<Branch, ForgeError>;

    /// True when every commit of `branch` is already in `target`.
    async fn is_merged(
        &self,
        project: &str,
        branch: &str,
        target: &str,
    ) -> Result<bool, ForgeError>;

    /// The open merge request from `source` into `target`, if there is one.
    async fn find_open_merge_request(
        &self,
        project: &str,
        source: &str,
        target: &str,
    ) -> Result<Option<MergeRequest>, ForgeError>;

    /// Opens a merge request (an open one from the same source into the same target is
    /// returned instead: never a second one).
    async fn create_merge_request(&self, mr: &NewMergeRequest) -> Result<MergeRequest, ForgeError>;

    /// The merge request `iid`, with its head pipeline.
    async fn merge_request(&self, project: &str, iid: u64) -> Result<MergeRequest, ForgeError>;

    /// Sets the merge request to merge when its pipeline succeeds (sends both `auto_merge` and
    /// `merge_when_pipeline_succeeds`); merges at once if the pipeline already succeeded.
    /// `sha` is the source head the caller checked: GitLab refuses (409) when it moved.
    async fn merge_when_pipeline_succeeds(
        &self,
        project: &str,
        iid: u64,
        sha: &str,
    ) -> Result<MergeRequest, ForgeError>;

    /// Stops the merge request from merging by itself (cancels auto-merge); a merge request
    /// without auto-merge is returned as it is.
    async fn cancel_auto_merge(&self, project: &str, iid: u64) -> Result<MergeRequest, ForgeError>;

    /// Starts a new pipeline for the merge request.
    async fn create_merge_request_pipeline(
        &self,
        project: &str,
        iid: u64,
    ) -> Result<Pipeline, ForgeError>;

    /// Starts a pipeline for `git_ref` (a branch or tag).
    async fn create_pipeline(&self, project: &str, git_ref: &str) -> Result<Pipeline, ForgeError>;

    /// Retries the failed jobs of a pipeline.
    async fn retry_pipeline(&self, project: &str, pipeline_id: u64)
    -> Result<Pipeline, ForgeError>;

    /// The pipeline `pipeline_id`.
    async fn pipeline(&self, project: &str, pipeline_id: u64) -> Result<Pipeline, ForgeError>;

    /// The newest pipeline for `git_ref`, if any.
    async fn latest_pipeline(
        &self,
        project: &str,
        git_ref: &str,
    ) -> Result<Option<Pipeline>, ForgeError>;

    /// The jobs of a pipeline.
    async fn pipeline_jobs(&self, project: &str, pipeline_id: u64) -> Result<Vec<Job>, ForgeError>;

    /// The last `lines` lines of a job's log.
    async fn job_log_tail(
        &self,
        project: &str,
        job_id: u64,
        lines: usize,
    ) -> Result<String, ForgeError>;

    /// Creates the tag `name` at `git_ref` ([`ForgeError::TagExists`] if it exists).
    async fn create_tag(
        &self,
        project: &str,
        name: &str,
        git_ref: &str,
        message: &str,
    ) -> Result<Tag, ForgeError>;

    /// The tag `name`, if it exists.
    async fn tag(&self, project: &str, name: &str) -> Result<Option<Tag>, ForgeError>;

    /// The user with this username, if there is one.
    async fn user(&self, username: &str) -> Result<Option<User>, ForgeError>;

    /// The one user whose public email is `email`, if exactly one is.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, ForgeError>;

    /// The email user `id` shows on their profile, if any.
    async fn public_email(&self, user_id: u64) -> Result<Option<String>, ForgeError>;

    /// The newest `limit` commits of `git_ref`'s history, newest first.
    async fn commits(
        &self,
        project: &str,
        git_ref: &str,
        limit: usize,
    ) -> Result<Vec<Commit>, ForgeError>;

    /// Every note of merge request `iid`, oldest first.
    async fn merge_request_notes(&self, project: &str, iid: u64) -> Result<Vec<Note>, ForgeError>;

    /// Adds a note to merge request `iid` (the forge tells the people it @mentions).
    async fn create_merge_request_note(
        &self,
        project: &str,
        iid: u64,
        body: &str,
    ) -> Result<Note, ForgeError>;

    /// Replaces the body of note `note_id` of merge request `iid`.
    async fn edit_merge_request_note(
        &self,
        project: &str,
        iid: u64,
        note_id: u64,
        body: &str,
    ) -> Result<Note, ForgeError>;

    /// Makes sure exactly one project hook with `url` exists, sending the events Convoy needs
    /// with `secret` as its token.
    async fn ensure_hook(&self, project: &str, url: &str, secret: &str)
    -> Result<Hook, ForgeError>;

    /// Whether a webhook delivery named `event_name` is one of the events that hook sends
    /// (Convoy acknowledges and ignores the others).
    fn follows_event(&self, event_name: &str) -> bool;
}
