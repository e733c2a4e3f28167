//! The simulated GitLab's people: users with ids, usernames and names, their access level in
//! each project, the OAuth applications registered with this GitLab, and the authorization
//! codes and access tokens it handed out (GitLab's Doorkeeper provider).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A user as a scenario describes one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The login (`@username`); ASCII, as GitLab's `Gitlab::PathRegex` allows.
    pub username: String,
    /// The display name; any characters.
    pub name: String,
    /// Project or group path → role name (`guest`, `reporter`, `developer`, `maintainer`,
    /// `owner`). GitLab's `members` table holds both kinds of membership (`source_type`
    /// `Project` or `Namespace`); a group's members are members of its subgroups and projects.
    #[serde(default)]
    pub access: BTreeMap<String, AccessLevel>,
    /// The email shown on the profile (`public_email`), which `GET /users?search=` matches.
    #[serde(default)]
    pub public_email: Option<String>,
}

/// GitLab's access levels, by the names its docs use (`Gitlab::Access`: 10, 20, 30, 40, 50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLevel {
    Guest,
    Reporter,
    Developer,
    Maintainer,
    Owner,
}

impl AccessLevel {
    /// The number GitLab's API answers in `access_level` (`lib/gitlab/access.rb`).
    pub fn number(self) -> u64 {
        match self {
            AccessLevel::Guest => 10,
            AccessLevel::Reporter => 20,
            AccessLevel::Developer => 30,
            AccessLevel::Maintainer => 40,
            AccessLevel::Owner => 50,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: u64,
    pub username: String,
    pub name: String,
    pub public_email: Option<String>,
}

/// An OAuth application registered with this GitLab (Admin > Applications).
#[derive(Debug, Clone)]
pub(crate) struct Application {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

/// An authorization code waiting to be exchanged (Doorkeeper's `oauth_access_grants`).
struct Grant {
    client_id: String,
    user_id: u64,
    redirect_uri: String,
    scopes: String,
    /// The PKCE challenge and its method (`S256` or `plain`), when the client sent one.
    code_challenge: Option<(String, String)>,
    expires_at: Instant,
}

struct AccessToken {
    user_id: u64,
    scopes: String,
    expires_at: Instant,
}

/// What `/oauth/token` answers on success.
pub(crate) struct IssuedToken {
    pub access_token: String,
    pub refresh_token: String,
    pub scopes: String,
    pub expires_in: u64,
}

/// Why a code could not be exchanged: Doorkeeper's `invalid_client` or `invalid_grant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    InvalidClient,
    InvalidGrant,
}

/// Doorkeeper's default `authorization_code_expires_in` (GitLab's
/// `config/initializers/doorkeeper.rb` leaves it at 10 minutes).
const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// GitLab's `access_token_expires_in 7200` (`config/initializers/doorkeeper.rb`).
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(7200);

/// People, memberships and OAuth state.
#[derive(Default)]
pub(crate) struct Users {
    pub users: Vec<User>,
    /// (project or group path, user id) → access level of a direct membership.
    access: BTreeMap<(String, u64), AccessLevel>,
    /// The groups' full paths (the scenario's and every project's namespaces, with parents).
    groups: std::collections::BTreeSet<String>,
    applications: Vec<Application>,
    grants: HashMap<String, Grant>,
    tokens: HashMap<String, AccessToken>,
    /// Refresh token → user id and scopes (GitLab enables `use_refresh_token`).
    refresh_tokens: HashMap<String, (String, u64, String)>,
}

impl Users {
    /// The scenario's users get ids 2, 3, … (1 is the administrator every API token acts as).
    pub fn from_specs(specs: &[UserSpec]) -> anyhow::Result<Users> {
        let mut users = Users::default();
        for spec in specs {
            anyhow::ensure!(
                !spec.username.is_empty()
                    && spec
                        .username
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')),
                "user \"{}\" has a username GitLab would refuse: use letters, digits, _, - and . only",
                spec.username
            );
            anyhow::ensure!(
                users.by_username(&spec.username).is_none(),
                "user \"{}\" appears twice in the scenario: give each user one entry",
                spec.username
            );
            let id = users.users.len() as u64 + 2;
            users.users.push(User {
                id,
                username: spec.username.clone(),
                name: spec.name.clone(),
                public_email: spec.public_email.clone(),
            });
            for (project, level) in &spec.access {
                users.access.insert((project.clone(), id), *level);
            }
        }
        Ok(users)
    }

    pub fn by_username(&self, username: &str) -> Option<&User> {
        self.users.iter().find(|u| u.username == username)
    }

    pub fn by_id(&self, id: u64) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The user's access level in the project or group, if a member: the highest of the direct
    /// membership and those inherited from the parent groups, as `GET …/members/all/:user_id`
    /// counts them (`lib/api/members.rb` through `MembersFinder`/`GroupMembersFinder` with
    /// `inherited` relations, one row per user with the highest `access_level`).
    pub fn access_level(&self, path: &str, user_id: u64) -> Option<AccessLevel> {
        let mut found = None;
        let mut current = Some(path);
        while let Some(source) = current {
            if let Some(level) = self.access.get(&(source.to_string(), user_id)) {
                found = found.max(Some(*level));
            }
            current = source.rsplit_once('/').map(|(parent, _)| parent);
        }
        found
    }

    /// Makes the groups exist: each path and its parents (`a/b` is a subgroup of `a`).
    pub fn add_groups<'a>(&mut self, paths: impl IntoIterator<Item = &'a str>) {
        for path in paths {
            let mut current = Some(path);
            while let Some(group) = current.filter(|g| !g.is_empty()) {
                self.groups.insert(group.to_string());
                current = group.rsplit_once('/').map(|(parent, _)| parent);
            }
        }
    }

    /// The group's full path, found by path (case-insensitive, as GitLab's routes are).
    pub fn group(&self, path: &str) -> Option<&str> {
        self.groups
            .iter()
            .find(|g| g.eq_ignore_ascii_case(path))
            .map(String::as_str)
    }

    /// Gives, changes or (with `None`) removes a membership.
    pub fn set_access_level(&mut self, project: &str, user_id: u64, level: Option<AccessLevel>) {
        let key = (project.to_string(), user_id);
        match level {
            Some(level) => {
                self.access.insert(key, level);
            }
            None => {
                self.access.remove(&key);
            }
        }
    }

    /// Registers an application; returns its client id and secret.
    pub fn register_application(&mut self, redirect_uri: &str) -> Application {
        let application = Application {
            client_id: hex_token(),
            client_secret: format!("gloas-{}", hex_token()),
            redirect_uri: redirect_uri.to_string(),
        };
        self.applications.push(application.clone());
        application
    }

    /// Changes an application's redirect URI (GitLab lets its owner edit it).
    pub fn set_redirect_uri(&mut self, client_id: &str, redirect_uri: &str) -> bool {
        match self
            .applications
            .iter_mut()
            .find(|a| a.client_id == client_id)
        {
            Some(application) => {
                application.redirect_uri = redirect_uri.to_string();
                true
            }
            None => false,
        }
    }

    /// The user's memberships, by project path.
    pub fn memberships(&self, user_id: u64) -> Vec<(String, AccessLevel)> {
        self.access
            .iter()
            .filter(|((_, id), _)| *id == user_id)
            .map(|((project, _), level)| (project.clone(), *level))
            .collect()
    }

    pub fn application(&self, client_id: &str) -> Option<&Application> {
        self.applications.iter().find(|a| a.client_id == client_id)
    }

    /// Records an approved authorization and returns its code.
    pub fn grant(
        &mut self,
        client_id: &str,
        user_id: u64,
        redirect_uri: &str,
        scopes: &str,
        code_challenge: Option<(&str, &str)>,
    ) -> String {
        let code = hex_token();
        self.grants.insert(
            code.clone(),
            Grant {
                client_id: client_id.to_string(),
                user_id,
                redirect_uri: redirect_uri.to_string(),
                scopes: scopes.to_string(),
                code_challenge: code_challenge.map(|(c, m)| (c.to_string(), m.to_string())),
                expires_at: Instant::now() + CODE_LIFETIME,
            },
        );
        code
    }

    /// Exchanges a code for a token, as Doorkeeper's `AuthorizationCodeRequest` does: the client
    /// must authenticate, the code is single-use, unexpired, issued to that client for that
    /// redirect URI, and the PKCE verifier must hash to the challenge (RFC 7636, S256).
    pub fn exchange_code(
        &mut self,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<IssuedToken, TokenError> {
        let client_ok = self
            .application(client_id)
            .is_some_and(|a| a.client_secret == client_secret);
        if !client_ok {
            return Err(TokenError::InvalidClient);
        }
        // Removed whatever happens next: a code is good for one attempt only.
        let grant = self.grants.remove(code).ok_or(TokenError::InvalidGrant)?;
        let verifier_ok = match (&grant.code_challenge, code_verifier) {
            (None, _) => true,
            (Some((challenge, method)), Some(verifier)) if method == "plain" => {
                verifier == challenge
            }
            (Some((challenge, _)), Some(verifier)) => s256(verifier) == *challenge,
            (Some(_), None) => false,
        };
        if grant.client_id != client_id
            || grant.redirect_uri != redirect_uri
            || grant.expires_at < Instant::now()
            || !verifier_ok
        {
            return Err(TokenError::InvalidGrant);
        }
        Ok(self.issue(client_id, grant.user_id, &grant.scopes))
    }

    /// Trades a refresh token for a new access token (the old refresh token is used up).
    pub fn refresh(
        &mut self,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
    ) -> Result<IssuedToken, TokenError> {
        let client_ok = self
            .application(client_id)
            .is_some_and(|a| a.client_secret == client_secret);
        if !client_ok {
            return Err(TokenError::InvalidClient);
        }
        let (owner, user_id, scopes) = self
            .refresh_tokens
            .remove(refresh_token)
            .ok_or(TokenError::InvalidGrant)?;
        if owner != client_id {
            return Err(TokenError::InvalidGrant);
        }
        Ok(self.issue(client_id, user_id, &scopes))
    }

    fn issue(&mut self, client_id: &str, user_id: u64, scopes: &str) -> IssuedToken {
        let access_token = hex_token();
        let refresh_token = hex_token();
        self.tokens.insert(
            access_token.clone(),
            AccessToken {
                user_id,
                scopes: scopes.to_string(),
                expires_at: Instant::now() + TOKEN_LIFETIME,
            },
        );
        self.refresh_tokens.insert(
            refresh_token.clone(),
            (client_id.to_string(), user_id, scopes.to_string()),
        );
        IssuedToken {
            access_token,
            refresh_token,
            scopes: scopes.to_string(),
            expires_in: TOKEN_LIFETIME.as_secs(),
        }
    }

    /// The user and scopes of a valid OAuth access token.
    pub fn token_owner(&self, token: &str) -> Option<(&User, &str)> {
        let token = self.tokens.get(token)?;
        if token.expires_at < Instant::now() {
            return None;
        }
        Some((self.by_id(token.user_id)?, token.scopes.as_str()))
    }

    /// Makes every access token of the user expire now (as if two hours had passed).
    pub fn expire_tokens_of(&mut self, user_id: u64) {
        let now = Instant::now();
        for token in self.tokens.values_mut() {
            if token.user_id == user_id {
                token.expires_at = now;
            }
        }
    }
}

/// A random 64-hex-digit token (GitLab sets Doorkeeper's `default_generator_method :hex`).
fn hex_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The S256 code challenge of a verifier: base64url(SHA-256(verifier)) without padding.
pub(crate) fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_user() -> Users {
        Users::from_specs(&[UserSpec {
            username: "jose".to_string(),
            name: "José Núñez".to_string(),
            public_email: None,
            access: BTreeMap::from([("mobile/app".to_string(), AccessLevel::Maintainer)]),
        }])
        .unwrap()
    }

    #[test]
    fn the_rfc_7636_example_verifier_hashes_to_its_challenge() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_code_is_exchanged_once_and_only_with_the_right_verifier() {
        let mut users = one_user();
        let app = users.register_application("http://convoy.test/auth/callback");
        let challenge = s256("the-verifier");
        let code = users.grant(
            &app.client_id,
            2,
            &app.redirect_uri,
            "read_user",
            Some((&challenge, "S256")),
        );
        let wrong = users.exchange_code(
            &app.client_id,
            &app.client_secret,
            &code,
            &app.redirect_uri,
            Some("another-verifier"),
        );
        assert_eq!(wrong.err(), Some(TokenError::InvalidGrant));
        // The failed attempt used the code up.
        let again = users.exchange_code(
            &app.client_id,
            &app.client_secret,
            &code,
            &app.redirect_uri,
            Some("the-verifier"),
        );
        assert_eq!(again.err(), Some(TokenError::InvalidGrant));

        let code = users.grant(
            &app.client_id,
            2,
            &app.redirect_uri,
            "read_user",
            Some((&challenge, "S256")),
        );
        let issued = users
            .exchange_code(
                &app.client_id,
                &app.client_secret,
                &code,
                &app.redirect_uri,
                Some("the-verifier"),
            )
            .unwrap();
        let (user, scopes) = users.token_owner(&issued.access_token).unwrap();
        assert_eq!(user.name, "José Núñez");
        assert_eq!(scopes, "read_user");
    }

    #[test]
    fn a_wrong_client_secret_is_an_invalid_client() {
        let mut users = one_user();
        let app = users.register_application("http://convoy.test/cb");
        let code = users.grant(&app.client_id, 2, &app.redirect_uri, "read_user", None);
        let result = users.exchange_code(&app.client_id, "nope", &code, &app.redirect_uri, None);
        assert_eq!(result.err(), Some(TokenError::InvalidClient));
    }

    #[test]
    fn a_username_with_a_space_is_refused() {
        let error = Users::from_specs(&[UserSpec {
            username: "a b".to_string(),
            name: "A".to_string(),
            public_email: None,
            access: BTreeMap::new(),
        }])
        .err()
        .unwrap();
        assert!(error.to_string().contains("username"), "{error}");
    }
}
