//! Roles, from GitLab's own permissions:
//!
//! | role | who | may |
//! | --- | --- | --- |
//! | viewer | a signed-in user who can read the app project (Guest+, or the project is public or internal) | read its releases |
//! | component owner | Developer+ on the component's project | mark its MR reviewed, retry it |
//! | release manager | Maintainer+ on the app project, or on a configured GitLab group | start, edit versions, deploy, cancel, mark released, retry |
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
pub const GUEST: u64 = 10;
pub const DEVELOPER: u64 = 30;
pub const MAINTAINER: u64 = 40;
/// `Gitlab::VisibilityLevel::INTERNAL` (private is 0, public 20).
pub const INTERNAL: u64 = 10;

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

/// What was asked at GitLab: a user's level in a project or a group, or a project's visibility.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Question {
    Project(String, i64),
    Group(String, i64),
    Visibility(String),
}

/// Question → the answer (an access level, `None`: not a member; or a visibility level), and
/// when it was asked.
type LevelCache = HashMap<Question, (Option<u64>, Instant)>;

/// Decides whether an identity may take an action.
pub struct Permissions {
    people: Option<GitLabPeople>,
    admins: Vec<String>,
    /// GitLab groups whose Maintainers (or more) are release managers of every app.
    release_manager_groups: Vec<String>,
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
            release_manager_groups: Vec::new(),
            cache_lifetime,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Maintainers (or more) of these GitLab groups are release managers of every app.
    pub fn with_release_manager_groups(mut self, groups: Vec<String>) -> Permissions {
        self.release_manager_groups = groups;
        self
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
                self.release_manager(identity, app_project).await?
            }
            Need::ComponentOwner {
                component_project,
                app_project,
                ..
            } => {
                self.at_least(identity, component_project, DEVELOPER)
                    .await?
                    || self.release_manager(identity, app_project).await?
            }
            Need::Admin { .. } => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(AuthError::Forbidden(self.refusal(need)))
        }
    }

    /// The 403 sentence, naming the configured groups too when the role can come from one.
    fn refusal(&self, need: &Need) -> String {
        let sentence = need.refusal();
        if self.release_manager_groups.is_empty() || matches!(need, Need::Admin { .. }) {
            return sentence;
        }
        format!(
            "{sentence}, or Maintainer in the GitLab group {}",
            self.release_manager_groups.join(" or ")
        )
    }

    /// Maintainer+ on the app project, or on one of the release manager groups.
    async fn release_manager(
        &self,
        identity: &Identity,
        app_project: &str,
    ) -> Result<bool, AuthError> {
        if self.at_least(identity, app_project, MAINTAINER).await? {
            return Ok(true);
        }
        let Some(user) = &identity.user else {
            return Ok(false);
        };
        for group in &self.release_manager_groups {
            let question = Question::Group(group.clone(), user.id);
            if self
                .ask(question)
                .await?
                .is_some_and(|level| level >= MAINTAINER)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Ok when the identity is an admin, for a read (a read-only token of an admin may read);
    /// 403 naming the role otherwise.
    pub fn require_admin_to_read(
        &self,
        identity: &Identity,
        action: &str,
    ) -> Result<(), AuthError> {
        if self.is_admin(identity) {
            return Ok(());
        }
        Err(AuthError::Forbidden(
            Need::Admin {
                action: action.to_string(),
            }
            .refusal(),
        ))
    }

    /// Ok when the identity may read the app project's releases: GitLab's `:read_project`
    /// (`ProjectPolicy`: a member with Guest or more, or any signed-in user when the project is
    /// `public` or `internal`), a release manager through a group, or an admin. 403 otherwise,
    /// with a sentence naming the role.
    pub async fn require_reader(
        &self,
        identity: &Identity,
        app_project: &str,
    ) -> Result<(), AuthError> {
        if self.is_admin(identity) {
            return Ok(());
        }
        if self.reads(identity, app_project).await? {
            return Ok(());
        }
        Err(AuthError::Forbidden(format!(
            "seeing the releases of {app_project} needs the viewer role on {app_project} (Guest, or a public or internal project)"
        )))
    }

    /// Whether the identity may read the app project (see `require_reader`).
    pub async fn reads(&self, identity: &Identity, app_project: &str) -> Result<bool, AuthError> {
        if self.is_admin(identity) {
            return Ok(true);
        }
        if identity.user.is_none() {
            return Ok(false);
        }
        // `Gitlab::VisibilityLevel`: INTERNAL 10, PUBLIC 20 (an internal project is readable
        // by every signed-in user who is not external; Convoy's people all sign in).
        let visibility = self
            .ask(Question::Visibility(app_project.to_string()))
            .await?;
        if visibility.is_some_and(|level| level >= INTERNAL) {
            return Ok(true);
        }
        if self.at_least(identity, app_project, GUEST).await? {
            return Ok(true);
        }
        self.release_manager(identity, app_project).await
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
            .ask(Question::Project(project.to_string(), user.id))
            .await?
            .is_some_and(|found| found >= level))
    }

    /// The answer to a question, from the cache or from GitLab.
    async fn ask(&self, question: Question) -> Result<Option<u64>, AuthError> {
        if let Some(answer) = self.cached(&question) {
            return Ok(answer);
        }
        let Some(people) = &self.people else {
            return Ok(None);
        };
        let answer = match &question {
            Question::Project(project, user_id) => people.access_level(project, *user_id).await,
            Question::Group(group, user_id) => people.group_access_level(group, *user_id).await,
            Question::Visibility(project) => people.visibility_level(project).await.map(Some),
        }
        .map_err(|error| {
            tracing::warn!(error = %format!("{error:#}"), question = ?question, "role lookup at GitLab failed");
            AuthError::LookupFailed
        })?;
        self.remember(question, answer);
        Ok(answer)
    }

    fn cached(&self, key: &Question) -> Option<Option<u64>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(key)
            .filter(|(_, at)| at.elapsed() < self.cache_lifetime)
            .map(|(level, _)| *level)
    }

    /// Stores an answer; when full, drops expired answers first and everything if that is not
    /// enough (the cache only saves GitLab calls, losing it costs nothing else).
    fn remember(&self, key: Question, level: Option<u64>) {
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
