//! Version rules: the version in a branch name, the default version of a component, and what
//! a person may set.

use semver::Version;

/// A version a person typed that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("\"{0}\" is not a valid version: use MAJOR.MINOR.PATCH, for example 1.4.0")]
    Invalid(String),
    #[error("version {version} is not higher than the last released version {last}: choose a higher version")]
    NotHigher { version: String, last: String },
}

/// The version in a branch name: `release/0.1.0` → 0.1.0, `feature/x` → `None`.
pub fn version_from_branch(branch: &str) -> Option<Version> {
    let _ = branch;
    unimplemented!("filled in by issue 2")
}

/// Reads a CocoaPods version literal leniently (`1.0` → 1.0.0, `7.42.2.6` → `None`).
pub fn parse_pod_version(text: &str) -> Option<Version> {
    let _ = text;
    unimplemented!("filled in by issue 2")
}

/// The higher of the branch's version and the podspec's; `None` when neither is known.
pub fn default_version(branch: &str, podspec_version: Option<&str>) -> Option<Version> {
    let _ = (branch, podspec_version);
    unimplemented!("filled in by issue 2")
}

/// Validates a version a person set, against the last released version when known.
pub fn parse_requested_version(text: &str, last_released: Option<&Version>) -> Result<Version, VersionError> {
    let _ = (text, last_released);
    unimplemented!("filled in by issue 2")
}
