//! Configuration: a TOML file, overridden by `CONVOY_*` environment variables. Secrets (GitLab
//! token, webhook secret, API token) come from the environment or from a file named there or in
//! the config file; they are held as `SecretString` and never printed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use convoy_core::notices::{ChannelRule, parse_channel_rules};
use convoy_core::owners::{OwnerRule, parse_owner_rules};
use convoy_worker::notify::{ChatSettings, WebhookSettings};
use secrecy::SecretString;
use serde::Deserialize;

/// What the config file may say. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    listen: Option<String>,
    probe_listen: Option<String>,
    database_url: Option<String>,
    gitlab_url: Option<String>,
    gitlab_token_file: Option<String>,
    webhook_secret_file: Option<String>,
    api_token_file: Option<String>,
    oauth_client_id: Option<String>,
    oauth_client_secret_file: Option<String>,
    admins: Option<Vec<String>>,
    release_manager_groups: Option<Vec<String>>,
    role_cache_seconds: Option<u64>,
    public_url: Option<String>,
    reconcile_seconds: Option<u64>,
    max_running_pipelines: Option<usize>,
    gitlab_requests_per_second: Option<u32>,
    changes_per_minute: Option<u32>,
    /// `[owners]`: component name or project path (globs allowed) → GitLab usernames.
    owners: Option<BTreeMap<String, Vec<String>>>,
    slack_api_url: Option<String>,
    slack_token_file: Option<String>,
    slack_channel: Option<String>,
    /// URLs that receive every state change as a signed JSON event.
    notify_webhook_urls: Option<Vec<String>>,
    notify_webhook_secret_file: Option<String>,
    /// `[notify]`: app project path (globs allowed) → channels (`notes`, `chat`, `webhooks`,
    /// `none`).
    notify: Option<BTreeMap<String, Vec<String>>>,
}

impl FileConfig {
    /// Reads and parses a config file.
    pub(crate) fn read(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("the config file {} is not valid", path.display()))
    }

    /// The keys the file sets, with their values as text (for `convoy check-config`).
    pub(crate) fn values(&self) -> Vec<(String, String)> {
        let text = [
            ("listen", self.listen.clone()),
            ("probe_listen", self.probe_listen.clone()),
            ("database_url", self.database_url.clone()),
            ("gitlab_url", self.gitlab_url.clone()),
            ("gitlab_token_file", self.gitlab_token_file.clone()),
            ("webhook_secret_file", self.webhook_secret_file.clone()),
            ("api_token_file", self.api_token_file.clone()),
            ("public_url", self.public_url.clone()),
            ("slack_api_url", self.slack_api_url.clone()),
            ("slack_token_file", self.slack_token_file.clone()),
            ("slack_channel", self.slack_channel.clone()),
            (
                "notify_webhook_urls",
                self.notify_webhook_urls
                    .as_ref()
                    .map(|urls| urls.join(", ")),
            ),
            (
                "notify_webhook_secret_file",
                self.notify_webhook_secret_file.clone(),
            ),
            (
                "reconcile_seconds",
                self.reconcile_seconds.map(|n| n.to_string()),
            ),
            (
                "max_running_pipelines",
                self.max_running_pipelines.map(|n| n.to_string()),
            ),
            (
                "gitlab_requests_per_second",
                self.gitlab_requests_per_second.map(|n| n.to_string()),
            ),
            (
                "changes_per_minute",
                self.changes_per_minute.map(|n| n.to_string()),
            ),
        ];
        text.into_iter()
            .filter_map(|(key, value)| value.map(|value| (key.to_owned(), value)))
            .collect()
    }
}

/// Convoy's settings, complete and checked.
pub struct Settings {
    pub listen: SocketAddr,
    /// Where `/health_check`, `/ready` and `/metrics` are served on a port of their own (what
    /// a `convoy work` process, which serves no API, needs for health checks and scrapes).
    pub probe_listen: Option<SocketAddr>,
    pub database_url: String,
    pub gitlab_url: String,
    pub gitlab_token: SecretString,
    pub webhook_secret: SecretString,
    /// The bootstrap admin token (`CONVOY_API_TOKEN`).
    pub api_token: Option<SecretString>,
    /// Convoy's OAuth application in GitLab; both or neither.
    pub oauth_client_id: Option<String>,
    pub oauth_client_secret: Option<SecretString>,
    /// GitLab usernames with the admin role.
    pub admins: Vec<String>,
    /// GitLab groups whose Maintainers are release managers of every app.
    pub release_manager_groups: Vec<String>,
    pub role_cache: Duration,
    pub public_url: Option<String>,
    pub reconcile_interval: Duration,
    pub max_running_pipelines: Option<usize>,
    /// At most this many requests a second to GitLab (none: as fast as GitLab answers; its
    /// 429s slow Convoy down either way).
    pub gitlab_requests_per_second: Option<NonZeroU32>,
    /// Changes (POST, PUT, PATCH, DELETE) each person or token may ask for per minute.
    pub changes_per_minute: NonZeroU32,
    /// Who owns which component (`[owners]` or `CONVOY_OWNERS`).
    pub owners: Vec<OwnerRule>,
    /// The Slack-compatible chat channel releases are posted in (`CONVOY_SLACK_*`), if any.
    pub chat: Option<ChatSettings>,
    /// Where every state change is posted as a signed event (`CONVOY_NOTIFY_WEBHOOK_*`).
    pub webhooks: Option<WebhookSettings>,
    /// Which channels each app's notifications go to (`[notify]` or `CONVOY_NOTIFY`).
    pub notify_rules: Vec<ChannelRule>,
}

/// Changes per person or token per minute when `CONVOY_CHANGES_PER_MINUTE` is unset.
pub const DEFAULT_CHANGES_PER_MINUTE: u32 = 120;

/// The default database: a SQLite file in the working directory, created on first run.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://convoy.db?mode=rwc";

impl Settings {
    /// Reads the file (if any) and the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Settings> {
        let file = match path {
            Some(path) => FileConfig::read(path)?,
            None => FileConfig::default(),
        };
        Self::from_sources(file, &|name| std::env::var(name).ok())
    }

    fn from_sources(
        file: FileConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Settings> {
        let listen = env("CONVOY_LISTEN")
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen = listen.parse().with_context(|| {
            format!("CONVOY_LISTEN {listen:?} is not an address like 127.0.0.1:8080")
        })?;
        let probe_listen = match env("CONVOY_PROBE_LISTEN").or(file.probe_listen) {
            Some(text) => Some(text.parse().with_context(|| {
                format!("CONVOY_PROBE_LISTEN {text:?} is not an address like 0.0.0.0:9090")
            })?),
            None => None,
        };
        let Some(gitlab_url) = env("CONVOY_GITLAB_URL").or(file.gitlab_url) else {
            bail!("no GitLab URL: set CONVOY_GITLAB_URL (or gitlab_url in the config file)");
        };
        let gitlab_token = secret(env, "CONVOY_GITLAB_TOKEN", file.gitlab_token_file)?
            .context("no GitLab token: set CONVOY_GITLAB_TOKEN or CONVOY_GITLAB_TOKEN_FILE (an api-scope token)")?;
        let webhook_secret = secret(env, "CONVOY_WEBHOOK_SECRET", file.webhook_secret_file)?
            .context(
                "no webhook secret: set CONVOY_WEBHOOK_SECRET or CONVOY_WEBHOOK_SECRET_FILE",
            )?;
        let reconcile_seconds = match env("CONVOY_RECONCILE_SECONDS") {
            Some(text) => text.parse().with_context(|| {
                format!("CONVOY_RECONCILE_SECONDS {text:?} is not a number of seconds")
            })?,
            None => file.reconcile_seconds.unwrap_or(30),
        };
        let max_running_pipelines = match env("CONVOY_MAX_RUNNING_PIPELINES") {
            Some(text) => Some(text.parse().with_context(|| {
                format!("CONVOY_MAX_RUNNING_PIPELINES {text:?} is not a number")
            })?),
            None => file.max_running_pipelines,
        };
        let gitlab_requests_per_second = match env("CONVOY_GITLAB_REQUESTS_PER_SECOND") {
            Some(text) => Some(text.parse().with_context(|| {
                format!("CONVOY_GITLAB_REQUESTS_PER_SECOND {text:?} is not a whole number above 0")
            })?),
            None => file.gitlab_requests_per_second,
        }
        .map(|n: u32| {
            NonZeroU32::new(n)
                .context("CONVOY_GITLAB_REQUESTS_PER_SECOND is 0: leave it unset for no budget")
        })
        .transpose()?;
        let changes_per_minute = match env("CONVOY_CHANGES_PER_MINUTE") {
            Some(text) => text.parse().with_context(|| {
                format!("CONVOY_CHANGES_PER_MINUTE {text:?} is not a whole number above 0")
            })?,
            None => file
                .changes_per_minute
                .unwrap_or(DEFAULT_CHANGES_PER_MINUTE),
        };
        let changes_per_minute = NonZeroU32::new(changes_per_minute)
            .context("CONVOY_CHANGES_PER_MINUTE is 0: nobody could change anything")?;
        let oauth_client_id = env("CONVOY_OAUTH_CLIENT_ID").or(file.oauth_client_id);
        let oauth_client_secret = secret(
            env,
            "CONVOY_OAUTH_CLIENT_SECRET",
            file.oauth_client_secret_file,
        )?;
        if oauth_client_id.is_some() != oauth_client_secret.is_some() {
            bail!(
                "sign-in needs both CONVOY_OAUTH_CLIENT_ID and CONVOY_OAUTH_CLIENT_SECRET (or CONVOY_OAUTH_CLIENT_SECRET_FILE): set the one that is missing"
            );
        }
        let admins = match env("CONVOY_ADMINS") {
            Some(text) => comma_separated(&text),
            None => file.admins.unwrap_or_default(),
        };
        let release_manager_groups = match env("CONVOY_RELEASE_MANAGER_GROUPS") {
            Some(text) => comma_separated(&text),
            None => file.release_manager_groups.unwrap_or_default(),
        };
        let role_cache_seconds = match env("CONVOY_ROLE_CACHE_SECONDS") {
            Some(text) => text.parse().with_context(|| {
                format!("CONVOY_ROLE_CACHE_SECONDS {text:?} is not a number of seconds")
            })?,
            None => file.role_cache_seconds.unwrap_or(30),
        };
        let owners = match env("CONVOY_OWNERS") {
            Some(text) => parse_owner_rules(&text).map_err(|e| anyhow!("CONVOY_OWNERS: {e}"))?,
            None => file
                .owners
                .unwrap_or_default()
                .iter()
                .map(|(pattern, users)| OwnerRule::new(pattern, users))
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow!("[owners]: {e}"))?,
        };
        let chat = chat_settings(
            env,
            &file.slack_api_url,
            file.slack_token_file,
            file.slack_channel,
        )?;
        let webhooks = webhook_settings(
            env,
            file.notify_webhook_urls,
            file.notify_webhook_secret_file,
        )?;
        let notify_rules = match env("CONVOY_NOTIFY") {
            Some(text) => parse_channel_rules(&text).map_err(|e| anyhow!("CONVOY_NOTIFY: {e}"))?,
            None => file
                .notify
                .unwrap_or_default()
                .iter()
                .map(|(pattern, channels)| ChannelRule::new(pattern, channels))
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow!("[notify]: {e}"))?,
        };
        Ok(Settings {
            notify_rules,
            webhooks,
            chat,
            owners,
            oauth_client_id,
            oauth_client_secret,
            admins,
            release_manager_groups,
            role_cache: Duration::from_secs(role_cache_seconds),
            listen,
            probe_listen,
            database_url: env("CONVOY_DATABASE_URL")
                .or(file.database_url)
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            gitlab_url,
            gitlab_token,
            webhook_secret,
            api_token: secret(env, "CONVOY_API_TOKEN", file.api_token_file)?,
            public_url: env("CONVOY_PUBLIC_URL").or(file.public_url),
            reconcile_interval: Duration::from_secs(reconcile_seconds.max(1)),
            max_running_pipelines,
            gitlab_requests_per_second,
            changes_per_minute,
        })
    }
}

impl Settings {
    /// Who may do what, for the server. Without sign-in configured the server refuses to start
    /// unless `allow_anonymous` (then anonymous callers only read).
    pub fn auth(&self, allow_anonymous: bool) -> anyhow::Result<convoy_server::AuthSettings> {
        let sign_in = match (&self.oauth_client_id, &self.oauth_client_secret) {
            (Some(client_id), Some(client_secret)) => Some(convoy_server::SignInSettings {
                gitlab_url: self.gitlab_url.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                service_token: self.gitlab_token.clone(),
            }),
            _ => None,
        };
        if sign_in.is_none() && !allow_anonymous {
            bail!(
                "sign-in with GitLab is not configured: register Convoy as an OAuth application in GitLab and set CONVOY_OAUTH_CLIENT_ID and CONVOY_OAUTH_CLIENT_SECRET (see the README), or start with --allow-anonymous for a Convoy anyone can read and only the bootstrap token changes"
            );
        }
        Ok(convoy_server::AuthSettings {
            sign_in,
            // An empty CONVOY_PUBLIC_URL (compose's `${CONVOY_PUBLIC_URL:-}`) means none.
            public_url: self.public_url.clone().filter(|url| !url.trim().is_empty()),
            bootstrap_token: self.api_token.clone(),
            admins: self.admins.clone(),
            release_manager_groups: self.release_manager_groups.clone(),
            allow_anonymous_reads: allow_anonymous,
            role_cache: self.role_cache,
        })
    }
}

/// The Slack Web API when neither `CONVOY_SLACK_API_URL` nor `slack_api_url` names another.
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";

/// Chat needs a bot token and a channel; neither means no chat.
fn chat_settings(
    env: &dyn Fn(&str) -> Option<String>,
    api_url: &Option<String>,
    token_file: Option<String>,
    channel: Option<String>,
) -> anyhow::Result<Option<ChatSettings>> {
    let token = secret(env, "CONVOY_SLACK_TOKEN", token_file)?;
    let channel = env("CONVOY_SLACK_CHANNEL").or(channel);
    match (token, channel) {
        (None, None) => Ok(None),
        (Some(token), Some(channel)) => Ok(Some(ChatSettings {
            api_url: env("CONVOY_SLACK_API_URL")
                .or_else(|| api_url.clone())
                .unwrap_or_else(|| DEFAULT_SLACK_API_URL.to_owned()),
            token,
            channel,
        })),
        (Some(_), None) => bail!(
            "a Slack token is set but no channel: set CONVOY_SLACK_CHANNEL to the channel id (C0123…) releases are posted in"
        ),
        (None, Some(_)) => bail!(
            "CONVOY_SLACK_CHANNEL is set but no bot token: set CONVOY_SLACK_TOKEN or CONVOY_SLACK_TOKEN_FILE"
        ),
    }
}

/// Webhooks need URLs (`http`/`https`) and the secret their events are signed with.
fn webhook_settings(
    env: &dyn Fn(&str) -> Option<String>,
    urls: Option<Vec<String>>,
    secret_file: Option<String>,
) -> anyhow::Result<Option<WebhookSettings>> {
    let urls = match env("CONVOY_NOTIFY_WEBHOOK_URLS") {
        Some(text) => comma_separated(&text),
        None => urls.unwrap_or_default(),
    };
    let secret = secret(env, "CONVOY_NOTIFY_WEBHOOK_SECRET", secret_file)?;
    for url in &urls {
        let scheme = url::Url::parse(url).map(|u| u.scheme().to_owned());
        if !matches!(scheme.as_deref(), Ok("http" | "https")) {
            bail!("CONVOY_NOTIFY_WEBHOOK_URLS: {url:?} is not an http:// or https:// URL");
        }
    }
    match (urls.is_empty(), secret) {
        (true, None) => Ok(None),
        (false, Some(secret)) => Ok(Some(WebhookSettings { urls, secret })),
        (false, None) => bail!(
            "webhook URLs are set but no secret to sign their events: set CONVOY_NOTIFY_WEBHOOK_SECRET or CONVOY_NOTIFY_WEBHOOK_SECRET_FILE"
        ),
        (true, Some(_)) => bail!(
            "CONVOY_NOTIFY_WEBHOOK_SECRET is set but no URL: set CONVOY_NOTIFY_WEBHOOK_URLS (comma-separated)"
        ),
    }
}

/// `a, b,,c` gives `a`, `b`, `c`.
fn comma_separated(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A secret from `NAME`, or from the file named by `NAME_FILE` or the config file.
fn secret(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
    file_key: Option<String>,
) -> anyhow::Result<Option<SecretString>> {
    if let Some(value) = env(name) {
        return Ok(Some(SecretString::from(value)));
    }
    let Some(path) = env(&format!("{name}_FILE")).or(file_key) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the secret file {path} (named by {name}_FILE)"))?;
    Ok(Some(SecretString::from(text.trim().to_owned())))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    /// Settings from the environment: GitLab and the webhook secret, plus `extra`.
    fn with(extra: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let base = [
            ("CONVOY_GITLAB_URL", "http://gitlab"),
            ("CONVOY_GITLAB_TOKEN", "t"),
            ("CONVOY_WEBHOOK_SECRET", "s"),
        ];
        let pairs: Vec<_> = base.iter().chain(extra).copied().collect();
        Settings::from_sources(FileConfig::default(), &env_of(&pairs))
    }

    #[test]
    fn environment_variables_override_the_config_file() {
        let file = FileConfig {
            gitlab_url: Some("http://file".into()),
            listen: Some("127.0.0.1:1".into()),
            ..FileConfig::default()
        };
        let env = env_of(&[
            ("CONVOY_GITLAB_URL", "http://env"),
            ("CONVOY_GITLAB_TOKEN", "t"),
            ("CONVOY_WEBHOOK_SECRET", "s"),
        ]);
        let settings = Settings::from_sources(file, &env).unwrap();
        assert_eq!(settings.gitlab_url, "http://env");
        assert_eq!(settings.listen.port(), 1);
        assert_eq!(settings.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(settings.gitlab_token.expose_secret(), "t");
    }

    #[test]
    fn a_missing_token_is_reported_with_what_to_set() {
        let env = env_of(&[("CONVOY_GITLAB_URL", "http://gitlab")]);
        let error = Settings::from_sources(FileConfig::default(), &env)
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("set CONVOY_GITLAB_TOKEN"),
            "{error}"
        );
    }

    #[test]
    fn without_sign_in_the_server_refuses_to_start_unless_anonymous_is_allowed() {
        let env = env_of(&[
            ("CONVOY_GITLAB_URL", "http://gitlab"),
            ("CONVOY_GITLAB_TOKEN", "t"),
            ("CONVOY_WEBHOOK_SECRET", "s"),
        ]);
        let settings = Settings::from_sources(FileConfig::default(), &env).unwrap();
        let error = settings.auth(false).err().unwrap();
        assert!(error.to_string().contains("--allow-anonymous"), "{error}");
        let auth = settings.auth(true).unwrap();
        assert!(auth.sign_in.is_none());
        assert!(auth.allow_anonymous_reads);
    }

    #[test]
    fn sign_in_settings_come_from_the_environment() {
        let env = env_of(&[
            ("CONVOY_GITLAB_URL", "http://gitlab"),
            ("CONVOY_GITLAB_TOKEN", "t"),
            ("CONVOY_WEBHOOK_SECRET", "s"),
            ("CONVOY_OAUTH_CLIENT_ID", "the-client"),
            ("CONVOY_OAUTH_CLIENT_SECRET", "the-secret"),
            ("CONVOY_ADMINS", "root, ana"),
            (
                "CONVOY_RELEASE_MANAGER_GROUPS",
                "mobile/release-managers, ops",
            ),
        ]);
        let settings = Settings::from_sources(FileConfig::default(), &env).unwrap();
        let auth = settings.auth(false).unwrap();
        assert_eq!(
            auth.release_manager_groups,
            vec!["mobile/release-managers".to_string(), "ops".to_string()]
        );
        let sign_in = auth.sign_in.unwrap();
        assert_eq!(sign_in.client_id, "the-client");
        assert_eq!(sign_in.client_secret.expose_secret(), "the-secret");
        assert_eq!(auth.admins, vec!["root".to_string(), "ana".to_string()]);
        assert!(!auth.allow_anonymous_reads);

        let half = env_of(&[
            ("CONVOY_GITLAB_URL", "http://gitlab"),
            ("CONVOY_GITLAB_TOKEN", "t"),
            ("CONVOY_WEBHOOK_SECRET", "s"),
            ("CONVOY_OAUTH_CLIENT_ID", "the-client"),
        ]);
        let error = Settings::from_sources(FileConfig::default(), &half)
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("CONVOY_OAUTH_CLIENT_SECRET"),
            "{error}"
        );
    }

    #[test]
    fn owners_come_from_the_file_or_the_environment() {
        let file: FileConfig =
            toml::from_str("[owners]\n\"ios/*\" = [\"carol\"]\nCoreKit = [\"@alice\"]\n").unwrap();
        let env = env_of(&[
            ("CONVOY_GITLAB_URL", "http://gitlab"),
            ("CONVOY_GITLAB_TOKEN", "t"),
            ("CONVOY_WEBHOOK_SECRET", "s"),
        ]);
        let settings = Settings::from_sources(file, &env).unwrap();
        let rules: Vec<(&str, &[String])> = settings
            .owners
            .iter()
            .map(|r| (r.pattern.as_str(), r.usernames.as_slice()))
            .collect();
        assert_eq!(
            rules,
            [
                ("CoreKit", &["alice".to_owned()][..]),
                ("ios/*", &["carol".to_owned()][..])
            ]
        );
        let env = env_of(&[
            ("CONVOY_GITLAB_URL", "http://gitlab"),
            ("CONVOY_GITLAB_TOKEN", "t"),
            ("CONVOY_WEBHOOK_SECRET", "s"),
            ("CONVOY_OWNERS", "CoreKit=bob"),
        ]);
        let settings = Settings::from_sources(FileConfig::default(), &env).unwrap();
        assert_eq!(settings.owners[0].usernames, ["bob"]);
        let env = env_of(&[
            ("CONVOY_GITLAB_URL", "http://gitlab"),
            ("CONVOY_GITLAB_TOKEN", "t"),
            ("CONVOY_WEBHOOK_SECRET", "s"),
            ("CONVOY_OWNERS", "CoreKit"),
        ]);
        let error = Settings::from_sources(FileConfig::default(), &env)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("CONVOY_OWNERS"), "{error}");
    }

    #[test]
    fn a_secret_can_come_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "from-file\n").unwrap();
        let path = path.to_string_lossy().to_string();
        let pairs = [
            ("CONVOY_GITLAB_URL", "http://gitlab"),
            ("CONVOY_GITLAB_TOKEN_FILE", path.as_str()),
            ("CONVOY_WEBHOOK_SECRET", "s"),
        ];
        let env = env_of(&pairs);
        let settings = Settings::from_sources(FileConfig::default(), &env).unwrap();
        assert_eq!(settings.gitlab_token.expose_secret(), "from-file");
    }

    #[test]
    fn chat_needs_a_bot_token_and_a_channel() {
        assert!(with(&[]).unwrap().chat.is_none());
        let chat = with(&[
            ("CONVOY_SLACK_TOKEN", "xoxb-1"),
            ("CONVOY_SLACK_CHANNEL", "C1"),
        ])
        .unwrap()
        .chat
        .unwrap();
        assert_eq!(chat.api_url, DEFAULT_SLACK_API_URL);
        assert_eq!(
            (chat.token.expose_secret(), chat.channel.as_str()),
            ("xoxb-1", "C1")
        );
        assert!(
            !format!("{chat:?}").contains("xoxb-1"),
            "the token is never printed"
        );
        let no_channel = with(&[("CONVOY_SLACK_TOKEN", "xoxb-1")]).err().unwrap();
        assert!(
            no_channel.to_string().contains("CONVOY_SLACK_CHANNEL"),
            "{no_channel}"
        );
        let no_token = with(&[("CONVOY_SLACK_CHANNEL", "C1")]).err().unwrap();
        assert!(
            no_token.to_string().contains("CONVOY_SLACK_TOKEN"),
            "{no_token}"
        );
    }

    #[test]
    fn webhooks_need_http_urls_and_a_secret() {
        assert!(with(&[]).unwrap().webhooks.is_none());
        let hooks = with(&[
            (
                "CONVOY_NOTIFY_WEBHOOK_URLS",
                "https://a.example/x, http://b.example/y",
            ),
            ("CONVOY_NOTIFY_WEBHOOK_SECRET", "s3cr3t-value"),
        ])
        .unwrap()
        .webhooks
        .unwrap();
        assert_eq!(hooks.urls, ["https://a.example/x", "http://b.example/y"]);
        assert!(
            !format!("{hooks:?}").contains("s3cr3t"),
            "the secret is never printed"
        );
        let no_secret = with(&[("CONVOY_NOTIFY_WEBHOOK_URLS", "https://a.example/x")]);
        assert!(
            no_secret
                .err()
                .unwrap()
                .to_string()
                .contains("CONVOY_NOTIFY_WEBHOOK_SECRET")
        );
        let not_http = with(&[
            ("CONVOY_NOTIFY_WEBHOOK_URLS", "file:///etc/passwd"),
            ("CONVOY_NOTIFY_WEBHOOK_SECRET", "s3cr3t-value"),
        ]);
        assert!(not_http.err().unwrap().to_string().contains("not an http"));
    }
}
