//! `People`: what tests and the demo do with the simulated GitLab's users: register Convoy as
//! an OAuth application, look users up, change someone's access to a project.

use std::sync::Arc;

use crate::scenario::Visibility;
use crate::shared::Shared;
use crate::world::users::AccessLevel;

/// An OAuth application's credentials, as GitLab shows them once after registering it.
#[derive(Clone, PartialEq, Eq)]
pub struct OauthApplication {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

impl std::fmt::Debug for OauthApplication {
    /// Leaves the secret out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OauthApplication")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// A user of the simulated GitLab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub id: u64,
    pub username: String,
    pub name: String,
}

/// The simulator's users, memberships and OAuth applications.
pub struct People {
    shared: Arc<Shared>,
}

impl People {
    pub(crate) fn new(shared: Arc<Shared>) -> People {
        People { shared }
    }

    fn with_users<R>(&self, f: impl FnOnce(&mut crate::world::users::Users) -> R) -> R {
        let mut users = self.shared.users.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut users)
    }

    /// Registers an OAuth application whose only redirect URI is `redirect_uri`.
    pub fn register_oauth_application(&self, redirect_uri: &str) -> OauthApplication {
        self.with_users(|users| {
            let application = users.register_application(redirect_uri);
            OauthApplication {
                client_id: application.client_id,
                client_secret: application.client_secret,
                redirect_uri: application.redirect_uri,
            }
        })
    }

    /// Changes the application's redirect URI (once the client knows its own address).
    pub fn set_redirect_uri(&self, client_id: &str, redirect_uri: &str) -> anyhow::Result<()> {
        self.with_users(|users| {
            anyhow::ensure!(
                users.set_redirect_uri(client_id, redirect_uri),
                "the simulator has no OAuth application {client_id}"
            );
            Ok(())
        })
    }

    /// The user's access level in every project they are a member of.
    pub fn memberships(&self, username: &str) -> Vec<(String, AccessLevel)> {
        self.with_users(|users| match users.by_username(username) {
            Some(user) => users.memberships(user.id),
            None => Vec::new(),
        })
    }

    pub fn user(&self, username: &str) -> Option<UserInfo> {
        self.with_users(|users| {
            users.by_username(username).map(|user| UserInfo {
                id: user.id,
                username: user.username.clone(),
                name: user.name.clone(),
            })
        })
    }

    /// Every user, in scenario order.
    pub fn all(&self) -> Vec<UserInfo> {
        self.with_users(|users| {
            users
                .users
                .iter()
                .map(|user| UserInfo {
                    id: user.id,
                    username: user.username.clone(),
                    name: user.name.clone(),
                })
                .collect()
        })
    }

    /// The user's access level in the project (`None`: not a member).
    pub fn access_level(&self, project: &str, username: &str) -> Option<AccessLevel> {
        self.with_users(|users| {
            let id = users.by_username(username)?.id;
            users.access_level(project, id)
        })
    }

    /// Gives, changes or (with `None`) removes the user's membership of the project, or of the
    /// group when `project` is a group's path (its members are members of its projects too).
    pub fn set_access_level(
        &self,
        project: &str,
        username: &str,
        level: Option<AccessLevel>,
    ) -> anyhow::Result<()> {
        self.with_users(|users| {
            let id = users
                .by_username(username)
                .ok_or_else(|| anyhow::anyhow!("the simulator has no user {username}"))?
                .id;
            users.set_access_level(project, id, level);
            Ok(())
        })
    }

    /// Makes the user's OAuth access tokens expire now.
    pub fn expire_tokens(&self, username: &str) {
        self.with_users(|users| {
            if let Some(id) = users.by_username(username).map(|u| u.id) {
                users.expire_tokens_of(id);
            }
        });
    }

    /// The user's access level in the group, inherited ones included (`None`: not a member or
    /// no such group).
    pub fn group_access_level(&self, group: &str, username: &str) -> Option<AccessLevel> {
        self.with_users(|users| {
            let group = users.group(group)?.to_string();
            let id = users.by_username(username)?.id;
            users.access_level(&group, id)
        })
    }

    /// Changes the project's `visibility` (Settings > General > Visibility, or
    /// `PUT /projects/:id` with `visibility`).
    pub fn set_visibility(&self, project: &str, visibility: Visibility) -> anyhow::Result<()> {
        self.shared.with_world(|world| {
            let id = world.project_by_path(project)?;
            world.project_mut(id).visibility = visibility;
            Ok(())
        })
    }
}
