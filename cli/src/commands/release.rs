//! `convoy release`: the terminal client for scripts and CI. Exit codes: 0 the release
//! succeeded (or the action was done), 1 it failed or was canceled, 2 Convoy could not be used.

use std::process::ExitCode;

use clap::Subcommand;

use crate::client::{self, ApiClient, ReleaseView};

#[derive(clap::Args)]
pub struct ServerArgs {
    /// Convoy's URL.
    #[arg(long, env = "CONVOY_URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// A personal API token (create one on the dashboard's Tokens page); the server records
    /// its owner as the one who acts.
    #[arg(long, env = "CONVOY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A file holding the token (for CI secrets mounted as files).
    #[arg(long, env = "CONVOY_TOKEN_FILE", conflicts_with = "token")]
    token_file: Option<std::path::PathBuf>,
}

impl ServerArgs {
    fn token(&self) -> anyhow::Result<Option<String>> {
        use anyhow::Context as _;
        match &self.token_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "cannot read the token file {} (CONVOY_TOKEN_FILE)",
                        path.display()
                    )
                })?;
                Ok(Some(text.trim().to_owned()))
            }
            None => Ok(self.token.clone()),
        }
    }
}

#[derive(Subcommand)]
pub enum ReleaseCommand {
    /// Start a release of an app at a ref.
    Start {
        #[command(flatten)]
        server: ServerArgs,
        /// The app's project path, e.g. mobile/app.
        #[arg(long)]
        project: String,
        /// The branch holding the Podfile, e.g. release/2.0.0.
        #[arg(long = "ref")]
        git_ref: String,
        /// Require each merge request to be marked reviewed before it merges.
        #[arg(long)]
        require_review: bool,
        /// Deploy every component as soon as the plan is ready.
        #[arg(long)]
        deploy: bool,
        /// Print every state change until the release ends; the exit code is its outcome.
        #[arg(long)]
        watch: bool,
    },
    /// Print every state change of a release until it ends.
    Watch {
        #[command(flatten)]
        server: ServerArgs,
        id: i64,
    },
    /// Change the version a component will be released at (while waiting or failed).
    SetVersion {
        #[command(flatten)]
        server: ServerArgs,
        id: i64,
        component: String,
        version: String,
    },
    /// Try a failed component again.
    Retry {
        #[command(flatten)]
        server: ServerArgs,
        id: i64,
        component: String,
    },
    /// Cancel a release and every unfinished component.
    Cancel {
        #[command(flatten)]
        server: ServerArgs,
        id: i64,
    },
    /// Mark a component as released by hand.
    MarkReleased {
        #[command(flatten)]
        server: ServerArgs,
        id: i64,
        component: String,
        /// Why (recorded in the event log).
        #[arg(long)]
        reason: String,
    },
}

pub async fn release(command: ReleaseCommand) -> anyhow::Result<ExitCode> {
    match command {
        ReleaseCommand::Start {
            server,
            project,
            git_ref,
            require_review,
            deploy,
            watch,
        } => {
            let client = connect(&server)?;
            let release = client
                .create_release(&project, &git_ref, require_review)
                .await?;
            println!(
                "release {} started: {}/releases/{}",
                release.id,
                server.server.trim_end_matches('/'),
                release.id
            );
            let mut last_event = 0;
            if deploy {
                let planned = client::follow(&client, release.id, &mut last_event, |r| {
                    r.state != "created" && r.state != "analyzing"
                })
                .await?;
                if planned.state != "waiting" {
                    return Ok(outcome(&planned));
                }
                client.deploy_all(release.id).await?;
            }
            if watch {
                let finished = client::follow(
                    &client,
                    release.id,
                    &mut last_event,
                    ReleaseView::is_finished,
                )
                .await?;
                return Ok(outcome(&finished));
            }
            Ok(ExitCode::SUCCESS)
        }
        ReleaseCommand::Watch { server, id } => {
            let client = connect(&server)?;
            let finished = client::follow(&client, id, &mut 0, ReleaseView::is_finished).await?;
            Ok(outcome(&finished))
        }
        ReleaseCommand::SetVersion {
            server,
            id,
            component,
            version,
        } => {
            connect(&server)?
                .set_version(id, &component, &version)
                .await?;
            println!("{component} will be released at {version}");
            Ok(ExitCode::SUCCESS)
        }
        ReleaseCommand::Retry {
            server,
            id,
            component,
        } => {
            connect(&server)?.retry_component(id, &component).await?;
            println!("{component} is being retried");
            Ok(ExitCode::SUCCESS)
        }
        ReleaseCommand::Cancel { server, id } => {
            let release = connect(&server)?.cancel(id).await?;
            Ok(outcome(&release))
        }
        ReleaseCommand::MarkReleased {
            server,
            id,
            component,
            reason,
        } => {
            let client = connect(&server)?;
            client.mark_released(id, &component, &reason).await?;
            println!("{component} marked as released");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn connect(server: &ServerArgs) -> anyhow::Result<ApiClient> {
    ApiClient::new(&server.server, server.token()?)
}

fn outcome(release: &ReleaseView) -> ExitCode {
    println!("release {} {}", release.id, release.state);
    if let Some(reason) = &release.reason {
        println!("  {reason}");
    }
    if release.state == "success" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
