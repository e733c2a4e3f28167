//! What the HTTP server needs to know at startup. Loading it from a file or the environment is
//! the binary's job; this crate only takes the result.

use std::fmt;
use std::net::SocketAddr;

use secrecy::SecretString;

/// The HTTP server's settings.
#[derive(Clone)]
pub struct ServerSettings {
    /// Address to listen on; port 0 picks a free port (see `Application::port`).
    pub listen: SocketAddr,
    /// The secret GitLab sends in `X-Gitlab-Token` with every webhook.
    pub webhook_secret: SecretString,
    /// The forge's web address, the base of tag links (`http://127.0.0.1:9000`).
    pub forge_web_url: String,
    /// Who may do what: sign-in, bootstrap token, admins.
    pub auth: AuthSettings,
    /// Timeouts, connections and the per-client limit on changes.
    pub limits: crate::limits::HttpLimits,
}

/// Sign-in and roles.
#[derive(Clone, Default)]
pub struct AuthSettings {
    /// Sign in with GitLab; `None`: nobody signs in, only the bootstrap token changes anything.
    pub sign_in: Option<SignInSettings>,
    /// Where people reach Convoy (`https://convoy.example.com`): the only Host accepted, the
    /// base of the OAuth redirect URI, and `Secure` cookies when https. When `None`, only
    /// loopback hosts are accepted.
    pub public_url: Option<String>,
    /// `CONVOY_API_TOKEN`: a bootstrap admin token (for setting Convoy up and for CI until
    /// personal tokens exist). `None` disables it.
    pub bootstrap_token: Option<SecretString>,
    /// GitLab usernames with the admin role.
    pub admins: Vec<String>,
    /// GitLab groups (full paths) whose Maintainers, or more, are release managers of every
    /// app (`CONVOY_RELEASE_MANAGER_GROUPS`).
    pub release_manager_groups: Vec<String>,
    /// Reads (pages, API GETs, live feeds) without signing in (`--allow-anonymous`).
    pub allow_anonymous_reads: bool,
    /// How long a role looked up at GitLab is trusted.
    pub role_cache: std::time::Duration,
}

/// The OAuth application Convoy is registered as in GitLab.
#[derive(Clone)]
pub struct SignInSettings {
    /// GitLab's address (`https://gitlab.example.com`).
    pub gitlab_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Convoy's own GitLab token, for looking roles up.
    pub service_token: SecretString,
}

// Written by hand so that no secret can reach a log line through `{:?}`.
impl fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSettings")
            .field("listen", &self.listen)
            .field("webhook_secret", &"[redacted]")
            .field("forge_web_url", &self.forge_web_url)
            .field("auth", &self.auth)
            .field("limits", &self.limits)
            .finish()
    }
}

// By hand, for the same reason.
impl fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthSettings")
            .field(
                "sign_in",
                &self.sign_in.as_ref().map(|s| (&s.gitlab_url, &s.client_id)),
            )
            .field("public_url", &self.public_url)
            .field(
                "bootstrap_token",
                &self.bootstrap_token.as_ref().map(|_| "[redacted]"),
            )
            .field("admins", &self.admins)
            .field("release_manager_groups", &self.release_manager_groups)
            .field("allow_anonymous_reads", &self.allow_anonymous_reads)
            .field("role_cache", &self.role_cache)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_secret() {
        let settings = ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            webhook_secret: SecretString::from("hook-secret-value"),
            forge_web_url: "http://127.0.0.1:9000".to_string(),
            limits: Default::default(),
            auth: AuthSettings {
                sign_in: Some(SignInSettings {
                    gitlab_url: "http://gitlab.test".to_string(),
                    client_id: "client-id".to_string(),
                    client_secret: SecretString::from("client-secret-value"),
                    service_token: SecretString::from("service-token-value"),
                }),
                bootstrap_token: Some(SecretString::from("api-token-value")),
                ..AuthSettings::default()
            },
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hook-secret-value"), "{shown}");
        for secret in [
            "api-token-value",
            "client-secret-value",
            "service-token-value",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("http://127.0.0.1:9000"), "{shown}");
    }
}
