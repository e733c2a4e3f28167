//! `convoy inspect podfile|podspec|ci PATH`: what Convoy reads from a manifest or a
//! `.gitlab-ci.yml`, as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use convoy_core::ci_config::read_ci_config;
use convoy_core::manifest::podfile::parse_podfile;
use convoy_core::manifest::podspec::parse_podspec_file;

#[derive(Subcommand)]
pub enum InspectCommand {
    /// Read a Podfile.
    Podfile { path: PathBuf },
    /// Read a .podspec or .podspec.json.
    Podspec { path: PathBuf },
    /// Read a .gitlab-ci.yml: its stages, publish stage, jobs and the pipelines they run in.
    Ci { path: PathBuf },
}

/// Prints the parse on stdout (exit 0), or a sentence on stderr (exit 1).
pub fn inspect(command: InspectCommand) -> ExitCode {
    let result = match &command {
        InspectCommand::Podfile { path } => read(path).and_then(|text| {
            let podfile = parse_podfile(&text)
                .map_err(|e| format!("{} is not a readable Podfile: {e}", path.display()))?;
            Ok(serde_json::to_string_pretty(&podfile).expect("serializable"))
        }),
        InspectCommand::Podspec { path } => read(path).and_then(|text| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let podspec = parse_podspec_file(&name, &text)
                .map_err(|e| format!("{} is not a readable podspec: {e}", path.display()))?;
            Ok(serde_json::to_string_pretty(&podspec).expect("serializable"))
        }),
        InspectCommand::Ci { path } => read(path).and_then(|text| {
            let ci = read_ci_config(&text)
                .map_err(|e| format!("{} is not a readable CI file: {e}", path.display()))?;
            let summary = serde_json::json!({
                "publish_stage": ci.publish_stage(),
                "config": ci,
            });
            Ok(serde_json::to_string_pretty(&summary).expect("serializable"))
        }),
    };
    match result {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(sentence) => {
            eprintln!("error: {sentence}");
            ExitCode::FAILURE
        }
    }
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
