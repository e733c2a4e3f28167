//! An independent client: python-gitlab drives the simulator (simulator/python/check_python_gitlab.py).

mod common;

use common::{TOKEN, start_with};
use convoy_simulator::Scenario;

#[tokio::test]
async fn python_gitlab_drives_the_simulator_without_surprises() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import gitlab"])
        .output();
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "python-gitlab is not installed for python3 (run `pip install python-gitlab`): {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => panic!(
            "python3 cannot be run ({error}); install Python 3 and `pip install python-gitlab`"
        ),
    }

    let mut scenario = Scenario::demo();
    scenario.pipeline_duration_ms = 300;
    let simulator = start_with(scenario).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/check_python_gitlab.py");
    // The simulator runs on its own thread, so blocking this one on the script stalls nothing.
    let output = std::process::Command::new("python3")
        .args([script, &simulator.base_url(), TOKEN])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "check_python_gitlab.py failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("python-gitlab checks passed"), "{stdout}");

    let world = simulator.world();
    let merged = world.merge_requests_between("mobile/app", "python/readme", "main");
    assert_eq!(merged.len(), 1);
    assert_eq!(
        (merged[0].state.as_str(), merged[0].merge_count),
        ("merged", 1)
    );
    assert_eq!(world.tags("mobile/app").len(), 1);
    assert!(
        world.is_released("mobile/app", "2.0.0"),
        "the tag pipeline ran"
    );
    let merges = world.merges("mobile/app");
    assert!(
        merges[0].had_passing_ci(),
        "merged with CI passed: {merges:?}"
    );
}
