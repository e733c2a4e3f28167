//! `convoy check-config`: what an operator runs before starting Convoy. It reads the config
//! file and the environment as `convoy run` does, says what each setting is and where it came
//! from (secrets only as set or unset), tries the GitLab token and Convoy's public URL, and
//! exits non-zero with one sentence per problem.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{FileConfig, Settings};

#[derive(clap::Args)]
pub struct CheckConfigArgs {
    /// A TOML configuration file; environment variables (CONVOY_*) override it.
    #[arg(long, env = "CONVOY_CONFIG")]
    config: Option<PathBuf>,
}

/// How long each check waits for an answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(String),
    Env(String),
    Unset,
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Default => "default".to_owned(),
            Source::File(key) => format!("config file, {key}"),
            Source::Env(name) => format!("environment, {name}"),
            Source::Unset => "not set".to_owned(),
        }
    }
}

/// One line of the report: a setting, what it is, and where it came from.
#[derive(Debug, Clone)]
pub struct Line {
    pub setting: &'static str,
    pub shown: String,
    pub source: Source,
}

/// A plain setting: `env` overrides the file's `key`, else `default`.
struct Plain {
    setting: &'static str,
    env: &'static str,
    key: &'static str,
    default: Option<&'static str>,
}

const PLAIN: [Plain; 17] = [
    Plain {
        setting: "listen address",
        env: "CONVOY_LISTEN",
        key: "listen",
        default: Some("127.0.0.1:8080"),
    },
    Plain {
        setting: "probe address",
        env: "CONVOY_PROBE_LISTEN",
        key: "probe_listen",
        default: None,
    },
    Plain {
        setting: "database",
        env: "CONVOY_DATABASE_URL",
        key: "database_url",
        default: Some(crate::config::DEFAULT_DATABASE_URL),
    },
    Plain {
        setting: "GitLab URL",
        env: "CONVOY_GITLAB_URL",
        key: "gitlab_url",
        default: None,
    },
    Plain {
        setting: "public URL for hooks",
        env: "CONVOY_PUBLIC_URL",
        key: "public_url",
        default: None,
    },
    Plain {
        setting: "reconcile interval (s)",
        env: "CONVOY_RECONCILE_SECONDS",
        key: "reconcile_seconds",
        default: Some("30"),
    },
    Plain {
        setting: "pipeline cap",
        env: "CONVOY_MAX_RUNNING_PIPELINES",
        key: "max_running_pipelines",
        default: None,
    },
    Plain {
        setting: "GitLab requests per second",
        env: "CONVOY_GITLAB_REQUESTS_PER_SECOND",
        key: "gitlab_requests_per_second",
        default: None,
    },
    Plain {
        setting: "OAuth application id",
        env: "CONVOY_OAUTH_CLIENT_ID",
        key: "oauth_client_id",
        default: None,
    },
    Plain {
        setting: "admins",
        env: "CONVOY_ADMINS",
        key: "admins",
        default: None,
    },
    Plain {
        setting: "release manager groups",
        env: "CONVOY_RELEASE_MANAGER_GROUPS",
        key: "release_manager_groups",
        default: None,
    },
    Plain {
        setting: "role cache (s)",
        env: "CONVOY_ROLE_CACHE_SECONDS",
        key: "role_cache_seconds",
        default: Some("30"),
    },
    Plain {
        setting: "Slack API",
        env: "CONVOY_SLACK_API_URL",
        key: "slack_api_url",
        default: Some(crate::config::DEFAULT_SLACK_API_URL),
    },
    Plain {
        setting: "Slack channel",
        env: "CONVOY_SLACK_CHANNEL",
        key: "slack_channel",
        default: None,
    },
    Plain {
        setting: "notification channels per app",
        env: "CONVOY_NOTIFY",
        key: "notify",
        default: Some("every configured channel"),
    },
    Plain {
        setting: "notification webhooks",
        env: "CONVOY_NOTIFY_WEBHOOK_URLS",
        key: "notify_webhook_urls",
        default: None,
    },
    Plain {
        setting: "changes per minute (each person or token)",
        env: "CONVOY_CHANGES_PER_MINUTE",
        key: "changes_per_minute",
        default: Some("120"),
    },
];

/// A secret: `env`, else the file named by `env_FILE` or by the config file's `key`.
struct Secret {
    setting: &'static str,
    env: &'static str,
    key: &'static str,
    /// `convoy run` refuses to start without it.
    required: bool,
}

const SECRETS: [Secret; 5] = [
    Secret {
        setting: "GitLab token",
        env: "CONVOY_GITLAB_TOKEN",
        key: "gitlab_token_file",
        required: true,
    },
    Secret {
        setting: "webhook secret",
        env: "CONVOY_WEBHOOK_SECRET",
        key: "webhook_secret_file",
        required: true,
    },
    Secret {
        setting: "API token",
        env: "CONVOY_API_TOKEN",
        key: "api_token_file",
        required: false,
    },
    Secret {
        setting: "Slack bot token",
        env: "CONVOY_SLACK_TOKEN",
        key: "slack_token_file",
        required: false,
    },
    Secret {
        setting: "notification webhook secret",
        env: "CONVOY_NOTIFY_WEBHOOK_SECRET",
        key: "notify_webhook_secret_file",
        required: false,
    },
];

pub async fn check_config(args: CheckConfigArgs) -> anyhow::Result<ExitCode> {
    let env = |name: &str| std::env::var(name).ok();
    let mut problems = Vec::new();
    let file = match &args.config {
        Some(path) => match FileConfig::read(path) {
            Ok(file) => Some(file),
            Err(error) => {
                problems.push(format!("{error:#}"));
                None
            }
        },
        None => None,
    };
    let file_values = file.as_ref().map(FileConfig::values).unwrap_or_default();
    let lines = describe(&env, &file_values);
    print_lines(args.config.as_deref(), &lines);

    let invalid = invalid_settings(&lines, &env, &file_values);
    let checked = invalid.is_empty();
    problems.extend(invalid);
    if checked && (file.is_some() || args.config.is_none()) {
        // The reading `convoy run` does, in case it refuses something the checks above missed.
        if let Err(error) = Settings::load(args.config.as_deref()) {
            problems.push(format!("{error:#}"));
        }
    }
    let value_of = |setting: &str| {
        lines
            .iter()
            .find(|line| line.setting == setting && line.source != Source::Unset)
            .map(|line| line.shown.clone())
    };
    let token = secret_value(&env, &file_values, &SECRETS[0]);
    if let (Some(gitlab_url), Some(token)) = (value_of("GitLab URL"), token) {
        problems.extend(check_gitlab(&gitlab_url, &token).await);
    }
    match value_of("public URL for hooks") {
        Some(public_url) => problems.extend(check_public_url(&public_url).await),
        None => println!(
            "\nno public URL: Convoy installs no webhook and follows GitLab by reconcile only"
        ),
    }

    if problems.is_empty() {
        println!("\nno problem found");
        return Ok(ExitCode::SUCCESS);
    }
    println!();
    for problem in &problems {
        println!("problem: {problem}");
    }
    Ok(ExitCode::FAILURE)
}

/// What `convoy run` would refuse to start with, one sentence per setting.
fn invalid_settings(
    lines: &[Line],
    env: &dyn Fn(&str) -> Option<String>,
    file: &[(String, String)],
) -> Vec<String> {
    let mut problems = Vec::new();
    for line in lines.iter().filter(|line| line.source != Source::Unset) {
        let (value, from) = (&line.shown, line.source.describe());
        let wrong = match line.setting {
            "listen address" | "probe address" => value
                .parse::<SocketAddr>()
                .is_err()
                .then_some("is not an address like 127.0.0.1:8080"),
            "reconcile interval (s)" => value
                .parse::<u64>()
                .is_err()
                .then_some("is not a whole number of seconds"),
            "pipeline cap" => value
                .parse::<usize>()
                .is_err()
                .then_some("is not a whole number"),
            "database" => (!value.starts_with("sqlite:") && !value.starts_with("postgres"))
                .then_some("must start with sqlite:// or postgres://"),
            "GitLab URL" | "public URL for hooks" => (!value.starts_with("http://")
                && !value.starts_with("https://"))
            .then_some("must start with http:// or https://"),
            _ => None,
        };
        if let Some(wrong) = wrong {
            problems.push(format!("the {} {value:?} ({from}) {wrong}", line.setting));
        }
    }
    let unset = |setting: &str| {
        lines
            .iter()
            .any(|line| line.setting == setting && line.source == Source::Unset)
    };
    if unset("GitLab URL") {
        problems.push(
            "no GitLab URL: set CONVOY_GITLAB_URL (or gitlab_url in the config file)".to_owned(),
        );
    }
    for secret in &SECRETS {
        let file_name = format!("{}_FILE", secret.env);
        let path = if env(secret.env).is_some() {
            None
        } else {
            env(&file_name).or_else(|| {
                file.iter()
                    .find(|(k, _)| k == secret.key)
                    .map(|(_, v)| v.clone())
            })
        };
        if let Some(path) = path
            && let Err(error) = std::fs::read_to_string(&path)
        {
            problems.push(format!(
                "the {} file {path} cannot be read ({error}): check the path in {file_name} or {}",
                secret.setting, secret.key
            ));
        }
        if secret.required && unset(secret.setting) {
            problems.push(format!(
                "no {}: set {} or {file_name}",
                secret.setting, secret.env
            ));
        }
    }
    problems
}

/// Every setting with its value and source. Secrets are shown as `set` or `unset` only.
pub fn describe(env: &dyn Fn(&str) -> Option<String>, file: &[(String, String)]) -> Vec<Line> {
    let from_file = |key: &str| file.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let mut lines = Vec::new();
    for plain in &PLAIN {
        let (shown, source) = if let Some(value) = env(plain.env) {
            (value, Source::Env(plain.env.to_owned()))
        } else if let Some(value) = from_file(plain.key) {
            (value, Source::File(plain.key.to_owned()))
        } else if let Some(value) = plain.default {
            (value.to_owned(), Source::Default)
        } else {
            ("unset".to_owned(), Source::Unset)
        };
        let shown = if plain.key == "database_url" {
            without_password(&shown)
        } else {
            shown
        };
        lines.push(Line {
            setting: plain.setting,
            shown,
            source,
        });
    }
    for secret in &SECRETS {
        let file_name = format!("{}_FILE", secret.env);
        let source = if env(secret.env).is_some() {
            Source::Env(secret.env.to_owned())
        } else if let Some(path) = env(&file_name) {
            Source::Env(format!("{file_name}={path}"))
        } else if let Some(path) = from_file(secret.key) {
            Source::File(format!("{}={path}", secret.key))
        } else {
            Source::Unset
        };
        let shown = if source == Source::Unset {
            "unset"
        } else {
            "set"
        };
        lines.push(Line {
            setting: secret.setting,
            shown: shown.to_owned(),
            source,
        });
    }
    lines
}

fn print_lines(config: Option<&Path>, lines: &[Line]) {
    match config {
        Some(path) => println!(
            "configuration from {} and the environment:\n",
            path.display()
        ),
        None => println!("configuration from the environment (no config file):\n"),
    }
    for line in lines {
        println!(
            "  {:<24} {:<40} ({})",
            line.setting,
            line.shown,
            line.source.describe()
        );
    }
}

/// The secret's value, read the way `Settings::load` reads it; `None` when unset or unreadable
/// (`Settings::load` reports an unreadable file).
fn secret_value(
    env: &dyn Fn(&str) -> Option<String>,
    file: &[(String, String)],
    secret: &Secret,
) -> Option<String> {
    if let Some(value) = env(secret.env) {
        return Some(value);
    }
    let path = env(&format!("{}_FILE", secret.env)).or_else(|| {
        file.iter()
            .find(|(k, _)| k == secret.key)
            .map(|(_, v)| v.clone())
    })?;
    std::fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_owned())
}

/// A database URL with its password replaced by `***`.
fn without_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[derive(Deserialize)]
struct User {
    username: String,
}

/// GitLab's `personal_access_tokens/self` answer (`API::Entities::PersonalAccessToken`).
#[derive(Deserialize)]
struct TokenInfo {
    name: String,
    scopes: Vec<String>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    revoked: Option<bool>,
    #[serde(default)]
    expires_at: Option<String>,
}

/// Whom the token authenticates (`GET /user`) and what it may do
/// (`GET /personal_access_tokens/self`, GitLab 15.5 and later, personal tokens only).
async fn check_gitlab(gitlab_url: &str, token: &str) -> Vec<String> {
    let base = format!("{}/api/v4", gitlab_url.trim_end_matches('/'));
    let client = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(client) => client,
        Err(error) => return vec![format!("cannot build an HTTP client: {error}")],
    };
    let get = |path: &str| {
        client
            .get(format!("{base}/{path}"))
            .header("PRIVATE-TOKEN", token)
            .send()
    };
    let user = match get("user").await {
        Ok(response) => response,
        Err(error) => {
            return vec![format!(
                "GitLab at {gitlab_url} cannot be reached ({error}): check CONVOY_GITLAB_URL and the network"
            )];
        }
    };
    match user.status().as_u16() {
        200 => match user.json::<User>().await {
            Ok(user) => println!("\nGitLab token: authenticates @{}", user.username),
            Err(error) => {
                return vec![format!(
                    "{gitlab_url} answered GET /api/v4/user with something that is not a GitLab user ({error}): is CONVOY_GITLAB_URL GitLab's address?"
                )];
            }
        },
        401 => {
            return vec![format!(
                "GitLab at {gitlab_url} refuses the token (401): it is wrong, expired or revoked; create a personal access token with the api scope and set CONVOY_GITLAB_TOKEN or CONVOY_GITLAB_TOKEN_FILE"
            )];
        }
        status => {
            return vec![format!(
                "GitLab at {gitlab_url} answered GET /api/v4/user with {status}: check CONVOY_GITLAB_URL and that GitLab is up"
            )];
        }
    }
    let info = match get("personal_access_tokens/self").await {
        Ok(response) if response.status().is_success() => response.json::<TokenInfo>().await.ok(),
        _ => None,
    };
    let Some(info) = info else {
        // Older GitLab, or not a personal access token (a project or group token): GitLab does
        // not say the scopes here; Convoy's first write would fail with 403 if `api` is missing.
        println!("GitLab token scopes: GitLab does not tell them for this token; not checked");
        return Vec::new();
    };
    println!(
        "GitLab token {:?}: scopes {}{}",
        info.name,
        info.scopes.join(", "),
        info.expires_at
            .as_deref()
            .map(|date| format!(", expires {date}"))
            .unwrap_or_default()
    );
    let mut problems = Vec::new();
    if info.revoked == Some(true) || info.active == Some(false) {
        problems.push(format!(
            "the GitLab token {:?} is revoked or expired: create a new one with the api scope",
            info.name
        ));
    }
    if !info.scopes.iter().any(|scope| scope == "api") {
        problems.push(format!(
            "the GitLab token {:?} lacks the api scope (it has {}): Convoy opens merge requests, commits and tags, which need api; create a token with the api scope",
            info.name,
            if info.scopes.is_empty() { "none".to_owned() } else { info.scopes.join(", ") }
        ));
    }
    problems
}

/// GitLab posts webhooks to `{public_url}/webhooks/gitlab`. From here Convoy can only ask
/// its own `/health_check` there; whether GitLab's network reaches it too is seen on the
/// project hook's "Recent events" page after a release starts.
async fn check_public_url(public_url: &str) -> Vec<String> {
    let url = format!("{}/health_check", public_url.trim_end_matches('/'));
    let client = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(client) => client,
        Err(error) => return vec![format!("cannot build an HTTP client: {error}")],
    };
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => {
            println!("public URL: {url} answers from this machine");
            Vec::new()
        }
        Ok(response) => vec![format!(
            "the public URL {public_url} answers /health_check with {}: GitLab's webhooks will not reach Convoy there; set CONVOY_PUBLIC_URL to the address where Convoy serves",
            response.status()
        )],
        Err(error) => vec![format!(
            "the public URL {public_url} cannot be reached from this machine ({error}): start Convoy first (check-config tests the running service) or set CONVOY_PUBLIC_URL to where it serves"
        )],
    }
}
