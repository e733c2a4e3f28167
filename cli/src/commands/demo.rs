//! `convoy demo`: the GitLab simulator with the built-in scenario, the server and the worker on
//! a fresh SQLite file, and a release of the demo app followed to the end — what a newcomer
//! runs first.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use convoy_server::limits::HttpLimits;
use convoy_simulator::{RunningSimulator, SimulatorConfig};
use secrecy::SecretString;

use crate::client::{self, ApiClient, ReleaseView};
use crate::commands::sim::load_scenario;
use crate::wiring::{self, WorkerOptions};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Exit when the release ends: 0 if it succeeded, 1 otherwise.
    #[arg(long)]
    until_done: bool,
    /// Start no release (create one from the dashboard instead). Without --until-done the
    /// dashboard keeps running until Ctrl-C or SIGTERM; its URL is printed as `dashboard: URL`.
    #[arg(long)]
    no_release: bool,
    /// Address of Convoy's HTTP server.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// `demo` for the built-in scenario, or a scenario YAML file.
    #[arg(long, default_value = "demo")]
    scenario: String,
    /// The app project to release (the built-in scenario's is mobile/app).
    #[arg(long, default_value = "mobile/app")]
    app: String,
    /// The ref holding the app's Podfile.
    #[arg(long = "ref", default_value = "release/2.0.0")]
    git_ref: String,
    /// Keep the SQLite database here instead of a temporary directory.
    #[arg(long)]
    database: Option<PathBuf>,
    /// The bootstrap admin token the demo's own client acts with (random when absent).
    #[arg(long, env = "CONVOY_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
    /// The secret GitLab's webhooks carry in `X-Gitlab-Token` (random when absent).
    #[arg(long, env = "CONVOY_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// Seconds between reconcile rounds.
    #[arg(long, default_value_t = 2)]
    reconcile_seconds: u64,
}

pub async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    crate::telemetry::init("warn");
    let temp = tempfile::tempdir()?;
    let database = args
        .database
        .clone()
        .unwrap_or_else(|| temp.path().join("convoy-demo.db"));
    let database_url = format!("sqlite://{}?mode=rwc", database.display());
    let token = random_secret();
    let webhook_secret = args.webhook_secret.clone().unwrap_or_else(random_secret);

    let scenario = load_scenario(&args.scenario)?;
    let sim_config = SimulatorConfig {
        listen: "127.0.0.1:0".parse()?,
        token: token.clone(),
        scenario,
    };
    let sim = RunningSimulator::start(sim_config).await?;
    let storage = wiring::storage(&database_url).await?;
    let secret = SecretString::from(webhook_secret);
    let bootstrap_token = args.api_token.clone().unwrap_or_else(random_secret);
    // Sign-in against the simulator itself: Convoy is registered there as an OAuth application.
    let oauth = sim
        .people()
        .register_oauth_application("http://127.0.0.1/auth/callback");
    let auth = convoy_server::AuthSettings {
        sign_in: Some(convoy_server::SignInSettings {
            gitlab_url: sim.base_url(),
            client_id: oauth.client_id.clone(),
            client_secret: SecretString::from(oauth.client_secret.clone()),
            service_token: SecretString::from(token.clone()),
        }),
        public_url: None,
        bootstrap_token: Some(SecretString::from(bootstrap_token.clone())),
        admins: Vec::new(),
        release_manager_groups: Vec::new(),
        allow_anonymous_reads: false,
        role_cache: Duration::from_secs(5),
    };
    let (port, _server) = wiring::spawn_server(
        &storage,
        args.listen,
        secret.clone(),
        auth,
        sim.base_url(),
        HttpLimits::default(),
    )
    .await?;
    let url = format!("http://127.0.0.1:{port}");
    sim.people()
        .set_redirect_uri(&oauth.client_id, &format!("{url}/auth/callback"))?;
    let forge = wiring::gitlab(&sim.base_url(), &SecretString::from(token), None)?;
    let options = WorkerOptions {
        public_url: Some(url.clone()),
        webhook_secret: secret,
        reconcile_interval: Duration::from_secs(args.reconcile_seconds.max(1)),
        max_running_pipelines: None,
        lease_ttl: WorkerOptions::DEFAULT_LEASE_TTL,
        owners: Vec::new(),
        chat: None,
        webhooks: None,
        notify_rules: Vec::new(),
    };
    wiring::spawn_worker(&storage, forge, options);
    println!("GitLab simulator: {}", sim.base_url());
    println!("database: {}", database.display());
    println!("dashboard: {url}/");
    print_sign_in(&sim, &url, &args.app);

    let outcome = if args.no_release {
        None
    } else {
        Some(run_demo_release(&url, &args.app, &args.git_ref, Some(bootstrap_token)).await?)
    };
    if let Some(release) = &outcome {
        let requests = sim.world().api_requests();
        println!(
            "GitLab requests: {} ({} reads, {} writes) for {} components",
            requests.total(),
            requests.reads,
            requests.writes,
            release.components.len()
        );
    }
    if args.until_done {
        sim.stop().await;
        return Ok(match outcome {
            Some(release) if release.state == "success" => ExitCode::SUCCESS,
            _ => ExitCode::FAILURE,
        });
    }
    println!("\nThe dashboard stays up at {url}/ — press Ctrl-C to stop.");
    crate::shutdown::requested().await?;
    sim.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// Prints who can sign in (the simulator's users) and what each may do.
fn print_sign_in(sim: &RunningSimulator, url: &str, app: &str) {
    use convoy_simulator::AccessLevel;
    println!("sign in at {url}/ with the simulated GitLab, as:");
    for user in sim.people().all() {
        let memberships = sim.people().memberships(&user.username);
        let manages: Vec<&str> = memberships
            .iter()
            .filter(|(project, level)| *level >= AccessLevel::Maintainer && project == app)
            .map(|(project, _)| project.as_str())
            .collect();
        let owns: Vec<&str> = memberships
            .iter()
            .filter(|(_, level)| *level >= AccessLevel::Developer)
            .map(|(project, _)| project.as_str())
            .collect();
        let role = if !manages.is_empty() {
            format!("release manager of {}", manages.join(", "))
        } else if !owns.is_empty() {
            format!("component owner of {}", owns.join(", "))
        } else {
            "viewer".to_string()
        };
        println!("  {} ({}): {role}", user.username, user.name);
    }
}

/// Starts the app's release through the API, deploys it once planned, prints every
/// state change, and ends with a summary.
async fn run_demo_release(
    url: &str,
    app: &str,
    git_ref: &str,
    api_token: Option<String>,
) -> anyhow::Result<ReleaseView> {
    let started = Instant::now();
    let client = ApiClient::new(url, api_token)?;
    let release = client.create_release(app, git_ref, false).await?;
    println!(
        "\nRelease {} of {app} at {git_ref}: {url}/releases/{}\n",
        release.id, release.id
    );
    let mut last_event = 0;
    let planned = client::follow(&client, release.id, &mut last_event, |r| {
        r.state != "created" && r.state != "analyzing"
    })
    .await?;
    if planned.state != "waiting" {
        print_summary(&planned, started.elapsed());
        return Ok(planned);
    }
    println!("planned after {:.1}s", started.elapsed().as_secs_f64());
    print_plan(&planned);
    client.deploy_all(release.id).await?;
    let finished = client::follow(
        &client,
        release.id,
        &mut last_event,
        ReleaseView::is_finished,
    )
    .await?;
    print_summary(&finished, started.elapsed());
    Ok(finished)
}

fn print_plan(release: &ReleaseView) {
    println!(
        "\nPlan ({} components, dependencies first):",
        release.components.len()
    );
    for c in &release.components {
        let deps = if c.dependencies.is_empty() {
            "-".to_owned()
        } else {
            c.dependencies.join(", ")
        };
        println!(
            "  {:<14} {:<10} after: {deps}",
            c.name,
            c.version.as_deref().unwrap_or("?")
        );
    }
    println!("\nDeploying all components…\n");
}

fn print_summary(release: &ReleaseView, elapsed: Duration) {
    println!(
        "\nRelease {} ended {} after {:.1}s",
        release.id,
        release.state,
        elapsed.as_secs_f64()
    );
    if let Some(reason) = &release.reason {
        println!("  {reason}");
    }
    for c in &release.components {
        let tag = c
            .tag
            .as_ref()
            .map(|t| format!("tag {}", t.name))
            .unwrap_or_default();
        let mr = c
            .merge_request
            .as_ref()
            .and_then(|m| m.web_url.clone())
            .unwrap_or_default();
        let reason = c.reason.as_deref().unwrap_or_default();
        println!(
            "  {:<14} {:<10} {:<9} {tag:<12} {mr} {reason}",
            c.name,
            c.version.as_deref().unwrap_or("?"),
            c.state
        );
    }
    if release.state == "success" {
        println!(
            "\n{} at {} now pins the released versions.",
            release.app_project, release.app_ref
        );
    }
}

fn random_secret() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect()
}
