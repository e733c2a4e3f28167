//! Simulator scenarios the tests start GitLab with.

use convoy_simulator::Scenario;

/// The demo scenario's app project, whose Podfile pins the four components.
pub const APP: &str = "mobile/app";
/// The ref of the demo app that a release is started at.
pub const APP_REF: &str = "release/2.0.0";

/// The demo scenario (the brief's diamond: CoreKit, NetworkKit, StorageKit, FeatureKit and the
/// app `mobile/app`) with short pipelines, so a release takes seconds.
pub fn fast_demo() -> Scenario {
    let mut scenario = Scenario::demo();
    scenario.pipeline_duration_ms = 150;
    scenario
}
