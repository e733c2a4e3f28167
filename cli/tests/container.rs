//! The container files, checked without a Docker engine: `docker-compose.yml` runs commands
//! `convoy --help` lists and sets only variables the README's configuration table documents;
//! every process it runs starts with the settings it gives that process (secrets from the
//! compose secrets it mounts); the Dockerfile builds in one stage and runs as a non-root user in
//! another.

use std::collections::BTreeSet;
use std::process::Command;

use serde_yaml::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{name}"))
        .unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
}

fn compose() -> Value {
    let mut compose: Value = serde_yaml::from_str(&read("docker-compose.yml")).unwrap();
    // `<<: *convoy` merges the shared service definition, as docker compose does.
    compose.apply_merge().unwrap();
    for (_, service) in compose["services"].as_mapping_mut().unwrap().iter_mut() {
        if let Some(environment) = service.get_mut("environment") {
            environment.apply_merge().unwrap();
        }
    }
    compose
}

/// The subcommands `convoy --help` lists.
fn subcommands() -> BTreeSet<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    help.lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// The `CONVOY_*` names in the README's configuration table (`CONVOY_X` or `CONVOY_X_FILE`).
fn documented_variables() -> BTreeSet<String> {
    let readme = read("README.md");
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|line| !line.starts_with("| setting | environment |"))
        .take_while(|line| line.starts_with('|'))
        .collect();
    assert!(table.len() > 5, "the README has its configuration table");
    table
        .iter()
        .flat_map(|row| row.split('`'))
        .filter(|word| word.starts_with("CONVOY_"))
        .map(str::to_owned)
        .collect()
}

fn services(compose: &Value) -> Vec<(String, &Value)> {
    compose["services"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(name, service)| (name.as_str().unwrap().to_owned(), service))
        .collect()
}

#[test]
fn compose_runs_postgres_one_server_and_two_workers_with_health_checks() {
    let compose = compose();
    let services = services(&compose);
    let command = |name: &str| {
        services
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s["command"][0].as_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    };
    assert_eq!(command("server"), "serve");
    assert_eq!(command("worker"), "work");
    let worker = services.iter().find(|(n, _)| n == "worker").unwrap().1;
    assert_eq!(worker["deploy"]["replicas"].as_u64(), Some(2));
    for (name, service) in &services {
        let test = &service["healthcheck"]["test"];
        assert!(test.is_sequence(), "{name} has a health check");
    }
    let postgres = services.iter().find(|(n, _)| n == "postgres").unwrap().1;
    assert!(postgres["image"].as_str().unwrap().starts_with("postgres:"));
    for name in ["server", "worker"] {
        let service = services.iter().find(|(n, _)| n == name).unwrap().1;
        let url = service["environment"]["CONVOY_DATABASE_URL"]
            .as_str()
            .unwrap();
        assert!(
            url.starts_with("postgres://") && url.contains("@postgres:5432/"),
            "{url}"
        );
        assert_eq!(
            service["depends_on"]["postgres"]["condition"].as_str(),
            Some("service_healthy"),
            "{name} waits for PostgreSQL"
        );
    }
}

#[test]
fn compose_commands_are_subcommands_of_convoy() {
    let known = subcommands();
    assert!(
        known.contains("serve") && known.contains("work"),
        "{known:?}"
    );
    let compose = compose();
    for (name, service) in services(&compose) {
        let Some(command) = service["command"].as_sequence() else {
            continue;
        };
        let subcommand = command[0].as_str().unwrap();
        assert!(
            known.contains(subcommand),
            "{name}: convoy has no {subcommand:?} ({known:?})"
        );
        // The arguments parse too: clap refuses unknown ones with exit code 2.
        let args: Vec<&str> = command.iter().filter_map(Value::as_str).collect();
        let output = Command::new(env!("CARGO_BIN_EXE_convoy"))
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{name}: convoy {args:?} --help fails"
        );
    }
}

#[test]
fn compose_sets_only_documented_variables_and_health_checks_use_configured_ports() {
    let documented = documented_variables();
    let compose = compose();
    for (name, service) in services(&compose) {
        let Some(environment) = service["environment"].as_mapping() else {
            continue;
        };
        for (key, value) in environment {
            let key = key.as_str().unwrap();
            if !key.starts_with("CONVOY_") {
                continue;
            }
            assert!(
                documented.contains(key),
                "{name}: {key} is not in the README's table ({documented:?})"
            );
            let value = value.as_str().unwrap_or("");
            if key == "CONVOY_LISTEN" || key == "CONVOY_PROBE_LISTEN" {
                let port = value.rsplit(':').next().unwrap();
                let test: Vec<&str> = service["healthcheck"]["test"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                assert!(
                    test.iter().any(|arg| arg.contains(&format!(":{port}/"))),
                    "{name}: the health check asks port {port}: {test:?}"
                );
            }
        }
    }
}

/// A value as docker compose would interpolate it when the operator sets what `${NAME:?…}`
/// demands: `${NAME:-default}` gives the default, `${NAME:?…}` a placeholder of the right kind.
fn interpolated(name: &str, value: &str) -> String {
    let Some(inner) = value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) else {
        return value.to_owned();
    };
    if let Some((_, default)) = inner.split_once(":-") {
        default.to_owned()
    } else if name.ends_with("_URL") {
        "https://gitlab.example.com".to_owned()
    } else {
        "compose-check".to_owned()
    }
}

#[test]
fn every_compose_process_starts_with_the_settings_and_secrets_compose_gives_it() {
    let compose = compose();
    let defined: BTreeSet<String> = compose["secrets"]
        .as_mapping()
        .expect("top-level secrets")
        .keys()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    for (name, service) in services(&compose) {
        let Some(command) = service["command"].as_sequence() else {
            continue;
        };
        let args: Vec<&str> = command.iter().filter_map(Value::as_str).collect();
        let mounted: BTreeSet<String> = service["secrets"]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut process = Command::new(env!("CARGO_BIN_EXE_convoy"));
        process
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (key, value) in service["environment"].as_mapping().unwrap() {
            let key = key.as_str().unwrap();
            let mut value = interpolated(key, value.as_str().unwrap_or(""));
            if let Some(secret) = value.strip_prefix("/run/secrets/") {
                assert!(
                    mounted.contains(secret),
                    "{name}: {key} reads the secret {secret}, which the service does not mount ({mounted:?})"
                );
                assert!(
                    defined.contains(secret),
                    "{name}: the secret {secret} is not defined under `secrets:`"
                );
                let path = dir.path().join(secret);
                std::fs::write(&path, "compose-check-secret").unwrap();
                value = path.display().to_string();
            }
            process.env(key, value);
        }
        // Every setting is checked before the database is opened: a database URL Convoy
        // refuses at once shows that the process got that far, and nothing starts.
        process.env("CONVOY_DATABASE_URL", "unsupported://compose-check");
        let output = process.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name}: {stderr}");
        assert!(
            stderr.contains("the database URL must start with"),
            "{name}: convoy {args:?} refuses the settings compose gives it: {stderr}"
        );
    }
}

#[test]
fn the_dockerfile_builds_in_one_stage_and_runs_unprivileged_in_another() {
    let dockerfile = read("Dockerfile");
    let froms: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].contains(" AS build"), "{froms:?}");
    assert!(
        dockerfile.contains("cargo build --release"),
        "the release binary"
    );
    assert!(
        dockerfile.contains("COPY --from=build"),
        "the runtime stage takes only the binary"
    );
    let user = dockerfile
        .lines()
        .rev()
        .find(|l| l.starts_with("USER "))
        .expect("a USER line");
    let user = user.trim_start_matches("USER ").trim();
    assert!(user != "root" && user != "0", "runs as {user}");
    let known = subcommands();
    let cmd = dockerfile.lines().find(|l| l.starts_with("CMD ")).unwrap();
    let cmd: Vec<String> = serde_json::from_str(cmd.trim_start_matches("CMD ")).unwrap();
    assert!(known.contains(&cmd[0]), "{cmd:?}");
    // The build context holds no build output or local secrets.
    let ignore = read(".dockerignore");
    for entry in ["target/", "secrets/", "e2e/node_modules/"] {
        assert!(
            ignore.lines().any(|l| l.trim() == entry),
            "{entry} is ignored"
        );
    }
}
