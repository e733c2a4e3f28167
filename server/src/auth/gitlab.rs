//! The GitLab calls trust needs: who owns an OAuth access token (`GET /user`), and a user's
//! access level in a project (`GET /projects/:id/members/all/:user_id`, which counts
//! memberships inherited from groups), asked with Convoy's service token.

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
        let encoded: String = url::form_urlencoded::byte_serialize(project.as_bytes()).collect();
        let response = self
            .http
            .get(format!(
                "{}/projects/{encoded}/members/all/{user_id}",
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
