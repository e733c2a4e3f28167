//! `convoy`: one binary for every role. `convoy demo` shows a whole release against the
//! built-in GitLab simulator; `convoy run` is the service on one machine; `convoy serve` and
//! `convoy work` split it across processes; `convoy release` follows a release from a terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use convoy::commands;

#[derive(Parser)]
#[command(
    name = "convoy",
    version,
    about = "Release many components of one app together, in dependency order, through GitLab."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a whole release against the built-in GitLab simulator, and watch it.
    Demo(commands::demo::DemoArgs),
    /// Run the HTTP server and the worker in one process.
    Run(ConfigArgs),
    /// Run the HTTP server (API, webhooks, dashboard).
    Serve(ConfigArgs),
    /// Run the worker (jobs, reconcile).
    Work(ConfigArgs),
    /// Run the GitLab simulator standalone.
    Sim(commands::sim::SimArgs),
    /// Print what Convoy reads from a manifest, as JSON.
    #[command(subcommand)]
    Inspect(commands::inspect::InspectCommand),
    /// Say what each setting is and where it came from, try the GitLab token and the public
    /// URL; exit 1 with a sentence per problem.
    CheckConfig(commands::check_config::CheckConfigArgs),
    /// Start, watch and act on releases of a running Convoy.
    #[command(subcommand)]
    Release(commands::release::ReleaseCommand),
}

#[derive(clap::Args)]
struct ConfigArgs {
    /// A TOML configuration file; environment variables (CONVOY_*) override it.
    #[arg(long, env = "CONVOY_CONFIG")]
    config: Option<PathBuf>,
    /// Start even though sign-in with GitLab is not configured: anyone who can reach the port
    /// may read, and only the bootstrap token (CONVOY_API_TOKEN) may change anything.
    #[arg(long)]
    allow_anonymous: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            // Exit code 2: Convoy itself could not do the job (1 is a release that failed).
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => commands::demo::demo(args).await,
        Command::Run(args) => {
            commands::service::run(
                args.config.as_deref(),
                commands::service::Role::Both,
                args.allow_anonymous,
            )
            .await
        }
        Command::Serve(args) => {
            commands::service::run(
                args.config.as_deref(),
                commands::service::Role::Server,
                args.allow_anonymous,
            )
            .await
        }
        Command::Work(args) => {
            commands::service::run(
                args.config.as_deref(),
                commands::service::Role::Worker,
                args.allow_anonymous,
            )
            .await
        }
        Command::Sim(args) => commands::sim::sim(args).await,
        Command::Inspect(command) => Ok(commands::inspect::inspect(command)),
        Command::Release(command) => commands::release::release(command).await,
        Command::CheckConfig(args) => commands::check_config::check_config(args).await,
    }
}
