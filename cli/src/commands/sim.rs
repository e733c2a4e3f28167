//! `convoy sim`: the GitLab simulator on its own, for trying clients against it.

use std::net::SocketAddr;
use std::process::ExitCode;

use convoy_simulator::{Scenario, SimulatorConfig};

#[derive(clap::Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// The token clients must send (PRIVATE-TOKEN or Bearer).
    #[arg(long, env = "CONVOY_SIM_TOKEN", default_value = "sim-token")]
    token: String,
    /// `demo` for the built-in scenario, or a scenario YAML file.
    #[arg(long, default_value = "demo")]
    scenario: String,
}

pub async fn sim(args: SimArgs) -> anyhow::Result<ExitCode> {
    crate::telemetry::init("info");
    let scenario = load_scenario(&args.scenario)?;
    println!(
        "GitLab simulator on http://{} (token from --token)",
        args.listen
    );
    convoy_simulator::run_standalone(SimulatorConfig {
        listen: args.listen,
        token: args.token,
        scenario,
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// `demo`, or a scenario file.
pub fn load_scenario(name: &str) -> anyhow::Result<Scenario> {
    if name == "demo" {
        Ok(Scenario::demo())
    } else {
        Scenario::from_file(name)
    }
}
