//! Simulator scenarios the tests start GitLab with.

use convoy_simulator::Scenario;

/// The demo scenario (the brief's diamond: CoreKit, NetworkKit, StorageKit, FeatureKit and the
/// app `mobile/app`) with short pipelines, so a release takes seconds.
pub fn fast_demo() -> Scenario {
    let mut scenario = Scenario::demo();
    scenario.pipeline_duration_ms = 150;
    scenario
}
