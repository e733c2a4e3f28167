//! Roles, from GitLab's own permissions:
//!
//! | role | who | may |
//! | --- | --- | --- |
//! | viewer | any signed-in user | read releases |
//! | component owner | Developer+ on the component's project | mark its MR reviewed, retry it |
//! | release manager | Maintainer+ on the app project | start, edit versions, deploy, cancel, mark released, retry |
//! | admin | named in the configuration (and the bootstrap token) | everything |
//!
//! Access levels are looked up at GitLab with Convoy's service token on every change, through a
//! small cache (bounded in size, entries live `cache_lifetime`): someone removed from a project
//! loses the role within that time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::AuthError;
use super::gitlab::GitLabPeople;
use super::identity::Identity;

/// GitLab's access levels (`Gitlab::Access`).
pub const DEVELOPER: u64 = 30;
pub const MAINTAINER: u64 = 40;

/// At most this many (project, user) answers are kept.
const CACHE_CAPACITY: usize = 10_000;

/// What an action needs. `action` is how the sentence names it ("marking StorageKit released").
#[derive(Debug, Clone)]
pub enum Need {
    /// Maintainer+ on the app project.
    ReleaseManager { app_project: String, action: String },
    /// Developer+ on the component's project, or release manager of the app.
    ComponentOwner {
        component_project: String,
        app_project: String,
        action: String,
    },
    /// An admin named in the configuration.
    Admin { action: String },
}

impl Need {
    fn action(&self) -> &str {
        match self {
            Need::ReleaseManager { action, .. }
            | Need::ComponentOwner { action, .. }
            | Need::Admin { action } => action,
        }
    }

    /// The 403 sentence: what the action needs, in GitLab's terms.
    fn refusal(&self) -> String {
        match self {
            Need::ReleaseManager {
                app_project,
                action,
            } => format!("{action} needs the release manager role on {app_project} (Maintainer)"),
            Need::ComponentOwner {
                component_project,
                app_project,
                action,
            } => format!(
                "{action} needs the component owner role on {component_project} (Developer) or the release manager role on {app_project} (Maintainer)"
            ),
            Need::Admin { action } => {
                format!("{action} needs the admin role (an admin named in Convoy's configuration)")
            }
        }
    }
}

/// (project, GitLab user id) → access level (`None`: not a member), and when it was asked.
type LevelCache = HashMap<(String, i64), (Option<u64>, Instant)>;

/// Decides whether an identity may take an action.
pub struct Permissions {
    people: Option<GitLabPeople>,
    admins: Vec<String>,
    cache_lifetime: Duration,
    cache: Mutex<LevelCache>,
}

impl Permissions {
    /// `people` is `None` when sign-in is not configured: then only the bootstrap token acts.
    pub fn new(
        people: Option<GitLabPeople>,
        admins: Vec<String>,
        cache_lifetime: Duration,
    ) -> Permissions {
        Permissions {
            people,
            admins,
            cache_lifetime,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the identity is an admin (the bootstrap token is).
    pub fn is_admin(&self, identity: &Identity) -> bool {
        match identity.username() {
            None => true,
            Some(username) => self.admins.iter().any(|admin| admin == username),
        }
    }

    /// Ok when the identity may do what `need` describes; 403 with a sentence otherwise.
    pub async fn require(&self, identity: &Identity, need: &Need) -> Result<(), AuthError> {
        if identity.read_only {
            return Err(AuthError::Forbidden(format!(
                "{} needs a token that may make changes: this token is read-only",
                need.action()
            )));
        }
        if self.is_admin(identity) {
            return Ok(());
        }
        let allowed = match need {
            Need::ReleaseManager { app_project, .. } => {
                self.at_least(identity, app_project, MAINTAINER).await?
            }
            Need::ComponentOwner {
                component_project,
                app_project,
                ..
            } => {
                self.at_least(identity, component_project, DEVELOPER)
                    .await?
                    || self.at_least(identity, app_project, MAINTAINER).await?
            }
            Need::Admin { .. } => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(AuthError::Forbidden(need.refusal()))
        }
    }

    /// Whether the identity is the release manager of `app_project` (for showing actions).
    pub async fn may(&self, identity: &Identity, need: &Need) -> bool {
        self.require(identity, need).await.is_ok()
    }

    async fn at_least(
        &self,
        identity: &Identity,
        project: &str,
        level: u64,
    ) -> Result<bool, AuthError> {
        let Some(user) = &identity.user else {
            return Ok(false);
        };
        Ok(self
            .access_level(project, user.id)
            .await?
            .is_some_and(|found| found >= level))
    }

    async fn access_level(&self, project: &str, user_id: i64) -> Result<Option<u64>, AuthError> {
        let key = (project.to_string(), user_id);
        if let Some(level) = self.cached(&key) {
            return Ok(level);
        }
        let Some(people) = &self.people else {
            return Ok(None);
        };
        let level = people
            .access_level(project, user_id)
            .await
            .map_err(|error| {
                tracing::warn!(error = %format!("{error:#}"), project, "role lookup at GitLab failed");
                AuthError::LookupFailed
            })?;
        self.remember(key, level);
        Ok(level)
    }

    fn cached(&self, key: &(String, i64)) -> Option<Option<u64>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(key)
            .filter(|(_, at)| at.elapsed() < self.cache_lifetime)
            .map(|(level, _)| *level)
    }

    /// Stores an answer; when full, drops expired answers first and everything if that is not
    /// enough (the cache only saves GitLab calls, losing it costs nothing else).
    fn remember(&self, key: (String, i64), level: Option<u64>) {
        if self.cache_lifetime.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            let lifetime = self.cache_lifetime;
            cache.retain(|_, (_, at)| at.elapsed() < lifetime);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(key, (level, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::identity::Via;
    use convoy_store::UserRecord;

    fn person(username: &str, read_only: bool) -> Identity {
        Identity {
            user: Some(UserRecord {
                id: 7,
                username: username.to_string(),
                name: "José".to_string(),
            }),
            via: Via::Token {
                id: 1,
                name: "ci".to_string(),
            },
            read_only,
        }
    }

    fn need() -> Need {
        Need::ReleaseManager {
            app_project: "mobile/app".to_string(),
            action: "marking StorageKit released".to_string(),
        }
    }

    #[tokio::test]
    async fn without_gitlab_a_person_has_no_role_and_the_sentence_names_the_role() {
        let permissions = Permissions::new(None, vec![], Duration::from_secs(30));
        let refused = permissions
            .require(&person("jose", false), &need())
            .await
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "marking StorageKit released needs the release manager role on mobile/app (Maintainer)"
        );
    }

    #[tokio::test]
    async fn an_admin_may_everything_but_not_with_a_read_only_token() {
        let permissions = Permissions::new(None, vec!["root".to_string()], Duration::ZERO);
        assert!(permissions.may(&person("root", false), &need()).await);
        let refused = permissions
            .require(&person("root", true), &need())
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("read-only"), "{refused}");
    }
}
