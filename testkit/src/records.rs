//! Store records for unit tests that need one without a database.

use convoy_core::ComponentState;
use convoy_store::ComponentRelease;

/// Component release `id` named `name` in state `state`, of release 7, in project
/// `ios/{name}`, releasing 1.0.0 from `release/1.0.0`; nothing else known yet.
pub fn component_release(id: i64, name: &str, state: ComponentState) -> ComponentRelease {
    let now = chrono::Utc::now();
    ComponentRelease {
        id,
        release_id: 7,
        name: name.to_owned(),
        position: id,
        project_path: format!("ios/{name}"),
        git_url: String::new(),
        branch: "release/1.0.0".to_owned(),
        target_branch: None,
        podspec_path: None,
        podspec_version: None,
        default_version: None,
        version: Some("1.0.0".to_owned()),
        state,
        reviewed: false,
        acted: false,
        no_merge_request_jobs: false,
        reason: None,
        merge_request_iid: None,
        pipeline_id: None,
        tag_name: None,
        released_by: None,
        owners: None,
        created_at: now,
        updated_at: now,
    }
}
