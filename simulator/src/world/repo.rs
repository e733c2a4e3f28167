//! Repositories: commits as full file maps with parents, branches as pointers, tags, file
//! updates with GitLab's optimistic locking, the tree, compare and three-way merges.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use chrono::Utc;

use super::PipelineSource;
use super::{Commit, Tag, USER_EMAIL, USER_NAME, World};
use crate::error::ApiError;

/// A file write asked through the API.
pub(crate) struct FileChange {
    pub branch: String,
    pub start_branch: Option<String>,
    pub path: String,
    pub content: String,
    pub message: String,
    pub last_commit_id: Option<String>,
    /// true for POST (create), false for PUT (update).
    pub create: bool,
}

/// One row of the repository tree.
pub(crate) struct TreeEntry {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub path: String,
    pub mode: &'static str,
}

impl World {
    /// Stores a commit and returns its sha.
    pub fn new_commit(
        &mut self,
        parents: Vec<String>,
        message: String,
        files: BTreeMap<String, String>,
    ) -> String {
        let sha = self.unique_sha(&message);
        self.commits.insert(
            sha.clone(),
            Commit {
                sha: sha.clone(),
                parents,
                message,
                files,
                created_at: Utc::now(),
                author_name: USER_NAME.to_string(),
                author_email: USER_EMAIL.to_string(),
            },
        );
        sha
    }

    /// A branch name, tag name or (full or 8+ character) commit sha → commit sha.
    pub fn resolve_ref(&self, project_id: u64, reference: &str) -> Option<String> {
        let project = self.project(project_id);
        let reference = reference.strip_prefix("refs/heads/").unwrap_or(reference);
        if let Some(sha) = project.branches.get(reference) {
            return Some(sha.clone());
        }
        let tag_name = reference.strip_prefix("refs/tags/").unwrap_or(reference);
        if let Some(tag) = project.tags.get(tag_name) {
            return Some(tag.commit.clone());
        }
        if reference.len() >= 7 && reference.chars().all(|c| c.is_ascii_hexdigit()) {
            let reachable = self.project_commits(project_id);
            return reachable.into_iter().find(|sha| sha.starts_with(reference));
        }
        None
    }

    /// Every commit reachable from the project's branches and tags.
    fn project_commits(&self, project_id: u64) -> HashSet<String> {
        let project = self.project(project_id);
        let heads = project
            .branches
            .values()
            .chain(project.tags.values().map(|t| &t.commit));
        let mut all = HashSet::new();
        for head in heads {
            all.extend(self.ancestors(head));
        }
        all
    }

    /// The commit and all its ancestors.
    pub fn ancestors(&self, sha: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([sha.to_string()]);
        while let Some(current) = queue.pop_front() {
            if !seen.insert(current.clone()) {
                continue;
            }
            if let Some(commit) = self.commits.get(&current) {
                queue.extend(commit.parents.iter().cloned());
            }
        }
        seen
    }

    /// Commits reachable from `to` but not from `from`, newest first.
    pub fn commits_between(&self, from: &str, to: &str) -> Vec<&Commit> {
        let excluded = self.ancestors(from);
        let mut commits: Vec<&Commit> = self
            .ancestors(to)
            .iter()
            .filter(|sha| !excluded.contains(*sha))
            .filter_map(|sha| self.commits.get(sha))
            .collect();
        commits.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.sha.cmp(&a.sha))
        });
        commits
    }

    /// Commits reachable from a commit, newest first.
    pub fn history(&self, sha: &str) -> Vec<&Commit> {
        let mut commits: Vec<&Commit> = self
            .ancestors(sha)
            .iter()
            .filter_map(|s| self.commits.get(s))
            .collect();
        commits.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.sha.cmp(&a.sha))
        });
        commits
    }

    /// The newest common ancestor of two commits.
    pub fn merge_base(&self, a: &str, b: &str) -> Option<String> {
        let of_a = self.ancestors(a);
        self.history(b)
            .into_iter()
            .find(|c| of_a.contains(&c.sha))
            .map(|c| c.sha.clone())
    }

    /// The last commit (following first parents) that changed the file, as GitLab's
    /// `last_commit_id`.
    pub fn last_commit_for_file(&self, head: &str, path: &str) -> Option<String> {
        let mut current = self.commits.get(head)?;
        let content = current.files.get(path)?;
        loop {
            let parent = current.parents.first().and_then(|p| self.commits.get(p));
            match parent {
                Some(parent) if parent.files.get(path) == Some(content) => current = parent,
                _ => return Some(current.sha.clone()),
            }
        }
    }

    /// Writes one file as a new commit on a branch, with GitLab's checks and messages.
    pub fn change_file(&mut self, project_id: u64, change: FileChange) -> Result<String, ApiError> {
        let project = self.project(project_id);
        let head = match (project.branches.get(&change.branch), &change.start_branch) {
            (Some(head), _) => head.clone(),
            (None, Some(start)) => project
                .branches
                .get(start)
                .cloned()
                .ok_or_else(|| ApiError::bad_request("Invalid start branch name"))?,
            (None, None) => {
                return Err(ApiError::bad_request(
                    "You can only create or edit files when you are on a branch",
                ));
            }
        };
        let existing = self.commits[&head].files.get(&change.path).cloned();
        match (&existing, change.create) {
            (Some(_), true) => {
                return Err(ApiError::bad_request(
                    "A file with this name already exists",
                ));
            }
            (None, false) => {
                return Err(ApiError::bad_request("A file with this name doesn't exist"));
            }
            _ => {}
        }
        if let Some(expected) = &change.last_commit_id {
            let last = self.last_commit_for_file(&head, &change.path);
            if last.as_deref() != Some(expected.as_str()) {
                return Err(ApiError::bad_request(
                    "You are attempting to update a file that has changed since you started editing it.",
                ));
            }
        }
        if existing.as_deref() == Some(change.content.as_str()) {
            // Gitaly refuses an empty commit; GitLab answers 400.
            return Err(ApiError::bad_request(
                "A file with this name already exists with the same content",
            ));
        }
        let mut files = self.commits[&head].files.clone();
        files.insert(change.path, change.content);
        Ok(self.push_commit(project_id, &change.branch, files, change.message))
    }

    /// Adds a commit with these files on top of a branch (creating it from the default branch
    /// if needed), then does what a push does: push webhook and, unless skipped, a pipeline.
    pub fn push_commit(
        &mut self,
        project_id: u64,
        branch: &str,
        files: BTreeMap<String, String>,
        message: String,
    ) -> String {
        let project = self.project(project_id);
        let before = project.branches.get(branch).cloned();
        let parent = before
            .clone()
            .unwrap_or_else(|| project.branches[&project.default_branch].clone());
        let sha = self.new_commit(vec![parent], message, files);
        self.move_branch(project_id, branch, before, sha.clone(), vec![sha.clone()]);
        sha
    }

    /// Points a branch at a new head and reacts as GitLab does to the push.
    pub fn move_branch(
        &mut self,
        project_id: u64,
        branch: &str,
        before: Option<String>,
        after: String,
        new_commits: Vec<String>,
    ) {
        self.project_mut(project_id)
            .branches
            .insert(branch.to_string(), after.clone());
        self.emit_push(project_id, branch, before.as_deref(), &after, &new_commits);
        self.pipeline_for_push(project_id, branch, &after);
        self.refresh_merge_requests(project_id, branch, &after);
    }

    /// What a push of a branch or tag does to CI: a pipeline (`skipped` for a `[ci skip]`
    /// head); errors (no CI config, filtered out by workflow rules, no jobs) mean no pipeline.
    fn pipeline_for_push(&mut self, project_id: u64, reference: &str, _sha: &str) {
        let _ = self.create_pipeline(project_id, reference, PipelineSource::Push, None);
    }

    /// `POST /projects/:id/repository/branches` (`Branches::CreateService`): a new branch at
    /// `reference`, pushed like any other (push hook, pipeline).
    pub fn create_branch(
        &mut self,
        project_id: u64,
        name: &str,
        reference: &str,
    ) -> Result<(), ApiError> {
        if name.is_empty() || name.contains("..") || name.contains(' ') || name.ends_with('/') {
            return Err(ApiError::bad_request("Branch name is invalid"));
        }
        if self.project(project_id).branches.contains_key(name) {
            return Err(ApiError::bad_request("Branch already exists"));
        }
        let commit = self
            .resolve_ref(project_id, reference)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid reference name: {reference}")))?;
        self.move_branch(project_id, name, None, commit.clone(), vec![commit]);
        Ok(())
    }

    /// Deletes a branch (`Branches::DeleteService`, as the merge of a merge request with
    /// `force_remove_source_branch` does): a push hook with `after` all zeros, no pipeline.
    pub fn delete_branch(&mut self, project_id: u64, name: &str) {
        let Some(before) = self.project_mut(project_id).branches.remove(name) else {
            return;
        };
        self.emit_push(project_id, name, Some(&before), &"0".repeat(40), &[]);
    }

    /// Creates a tag (GitLab's tag API), then the tag push webhook and the tag pipeline.
    pub fn create_tag(
        &mut self,
        project_id: u64,
        name: &str,
        reference: &str,
        message: Option<String>,
    ) -> Result<(), ApiError> {
        if name.is_empty() || name.contains("..") || name.contains(' ') || name.ends_with('/') {
            return Err(ApiError::bad_request("Tag name invalid"));
        }
        if self.project(project_id).tags.contains_key(name) {
            return Err(ApiError::bad_request(format!("Tag {name} already exists")));
        }
        let commit = self
            .resolve_ref(project_id, reference)
            .ok_or_else(|| ApiError::bad_request(format!("Target {reference} is invalid")))?;
        let message = message.filter(|m| !m.is_empty());
        let object_sha = message.as_ref().map(|m| self.unique_sha(m));
        let tag = Tag {
            name: name.to_string(),
            commit: commit.clone(),
            message,
            created_at: Utc::now(),
            released_by_scenario: false,
            object_sha,
        };
        self.project_mut(project_id)
            .tags
            .insert(name.to_string(), tag);
        tracing::info!(project = %self.project(project_id).path, tag = name, %commit, "tag created");
        self.emit_tag_push(project_id, name, &commit);
        self.pipeline_for_push(project_id, name, &commit);
        Ok(())
    }

    /// The repository tree under `path` at a commit, folders first like GitLab.
    pub fn tree(&self, sha: &str, path: &str, recursive: bool) -> Option<Vec<TreeEntry>> {
        let files = &self.commits.get(sha)?.files;
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{}/", path.trim_end_matches('/'))
        };
        let mut folders = BTreeSet::new();
        let mut blobs = Vec::new();
        for (file, content) in files.range(prefix.clone()..) {
            let Some(rest) = file.strip_prefix(&prefix) else {
                break;
            };
            let parts: Vec<&str> = rest.split('/').collect();
            let depth = if recursive { parts.len() - 1 } else { 0 };
            for i in 1..parts.len().min(depth + 2) {
                folders.insert(format!("{prefix}{}", parts[..i].join("/")));
            }
            if recursive || parts.len() == 1 {
                blobs.push(TreeEntry {
                    id: blob_id(content),
                    name: parts[parts.len() - 1].to_string(),
                    kind: "blob",
                    path: file.clone(),
                    mode: "100644",
                });
            }
        }
        if !prefix.is_empty() && folders.is_empty() && blobs.is_empty() {
            return None;
        }
        let trees = folders.into_iter().map(|folder| TreeEntry {
            id: blob_id(&folder),
            name: folder.rsplit('/').next().unwrap_or(&folder).to_string(),
            kind: "tree",
            path: folder,
            mode: "040000",
        });
        Some(trees.chain(blobs).collect())
    }

    /// The file map a merge of `source` into `target` would give, or `None` on a conflict
    /// (both sides changed a file differently since their merge base).
    pub fn three_way_merge(&self, target: &str, source: &str) -> Option<BTreeMap<String, String>> {
        let base = self.merge_base(target, source);
        let empty = BTreeMap::new();
        let base_files = base
            .as_ref()
            .map(|b| &self.commits[b].files)
            .unwrap_or(&empty);
        let ours = &self.commits[target].files;
        let theirs = &self.commits[source].files;
        let paths: BTreeSet<&String> = base_files
            .keys()
            .chain(ours.keys())
            .chain(theirs.keys())
            .collect();
        let mut merged = BTreeMap::new();
        for path in paths {
            let (b, o, t) = (base_files.get(path), ours.get(path), theirs.get(path));
            let result = if o == t || t == b {
                o
            } else if o == b {
                t
            } else {
                return None;
            };
            if let Some(content) = result {
                merged.insert(path.clone(), content.clone());
            }
        }
        Some(merged)
    }
}

/// A stable id for a blob's content (git would hash "blob <len>\0<content>" with sha1).
pub(crate) fn blob_id(content: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("blob {}\0{content}", content.len()).as_bytes());
    super::hex(&digest)[..40].to_string()
}

/// The sha256 of content, hex, as `content_sha256`.
pub(crate) fn content_sha256(content: &str) -> String {
    use sha2::{Digest, Sha256};
    super::hex(&Sha256::digest(content.as_bytes()))
}
