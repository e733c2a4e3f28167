//! The GitLab calls trust needs: who owns an OAuth access token (`GET /user`), a user's
//! access level in a project or a group (`GET /projects/:id/members/all/:user_id`,
//! `GET /groups/:id/members/all/:user_id`, both counting memberships inherited from groups;
//! `lib/api/members.rb`), and a project's `visibility` (`GET /projects/:id`), asked with
//! Convoy's service token.

use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// GitLab's answer to `GET /user`.
#[derive(Debug, Clone, Deserialize)]
pub struct GitLabUser {
    pub id: i64,
    pub username: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
struct ProjectVisibility {
    visibility: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Member {
    access_level: u64,
}

/// A small client for those two calls.
#[derive(Clone)]
pub struct GitLabPeople {
    http: reqwest::Client,
    api: String,
    service_token: SecretString,
}

impl GitLabPeople {
    pub fn new(gitlab_url: &str, service_token: SecretString) -> anyhow::Result<GitLabPeople> {
        Ok(GitLabPeople {
            http: http_client()?,
            api: format!("{}/api/v4", gitlab_url.trim_end_matches('/')),
            service_token,
        })
    }

    /// The owner of a user's OAuth access token.
    pub async fn user(&self, access_token: &str) -> anyhow::Result<GitLabUser> {
        let response = self
            .http
            .get(format!("{}/user", self.api))
            .bearer_auth(access_token)
            .send()
            .await
            .context("GitLab could not be reached to read the signed-in user")?;
        let status = response.status();
        anyhow::ensure!(status.is_success(), "GitLab answered {status} to GET /user");
        response
            .json()
            .await
            .context("GitLab's answer to GET /user is not a user")
    }

    /// The user's access level in the project (10 guest … 50 owner), `None` when not a member.
    pub async fn access_level(&self, project: &str, user_id: i64) -> anyhow::Result<Option<u64>> {
        self.member_level("projects", project, user_id).await
    }

    /// The user's access level in the group, `None` when not a member (or no such group).
    pub async fn group_access_level(
        &self,
        group: &str,
        user_id: i64,
    ) -> anyhow::Result<Option<u64>> {
        self.member_level("groups", group, user_id).await
    }

    /// The project's `visibility` as `Gitlab::VisibilityLevel` numbers: private 0, internal 10,
    /// public 20 (an unknown word counts as private).
    pub async fn visibility_level(&self, project: &str) -> anyhow::Result<u64> {
        let encoded: String = url::form_urlencoded::byte_serialize(project.as_bytes()).collect();
        let response = self
            .http
            .get(format!("{}/projects/{encoded}", self.api))
            .header("PRIVATE-TOKEN", self.service_token.expose_secret())
            .send()
            .await
            .context("GitLab could not be reached to read a project's visibility")?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(0);
        }
        anyhow::ensure!(
            status.is_success(),
            "GitLab answered {status} to GET /projects/{project}"
        );
        let project: ProjectVisibility = response
            .json()
            .await
            .context("GitLab's project answer has no visibility")?;
        Ok(match project.visibility.as_deref() {
            Some("public") => 20,
            Some("internal") => 10,
            _ => 0,
        })
    }

    /// `GET /{source}/:id/members/all/:user_id` (`source`: `projects` or `groups`).
    async fn member_level(
        &self,
        source: &str,
        project: &str,
        user_id: i64,
    ) -> anyhow::Result<Option<u64>> {
        let encoded: String = url::form_urlencoded::byte_serialize(project.as_bytes()).collect();
        let response = self
            .http
            .get(format!(
                "{}/{source}/{encoded}/members/all/{user_id}",
                self.api
            ))
            .header("PRIVATE-TOKEN", self.service_token.expose_secret())
            .send()
            .await
            .context("GitLab could not be reached to look up a role")?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        anyhow::ensure!(
            status.is_success(),
            "GitLab answered {status} to a member lookup in {project}"
        );
        let member: Member = response
            .json()
            .await
            .context("GitLab's member answer has no access level")?;
        Ok(Some(member.access_level))
    }
}

/// Short timeouts, and no redirects (an OAuth client must not follow them).
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("could not build the HTTP client for GitLab")
}
