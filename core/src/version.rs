//! Version rules: the version in a branch name, the default version of a component, and what
//! a person may set.

use std::sync::LazyLock;

use regex::Regex;
use semver::{BuildMetadata, Prerelease, Version};

/// A version a person typed that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Not `MAJOR.MINOR.PATCH` (with an optional prerelease and build).
    #[error("\"{0}\" is not a valid version: use MAJOR.MINOR.PATCH, for example 1.4.0")]
    Invalid(String),
    /// Valid, but releasing it would not move the component forward.
    #[error(
        "version {version} is not higher than the last released version {last}: choose a higher version"
    )]
    NotHigher {
        /// The version that was asked for.
        version: String,
        /// The last released version (the last tag).
        last: String,
    },
}

/// `MAJOR.MINOR[.PATCH][-PRERELEASE]` somewhere in a branch name; boundaries are checked by hand
/// because the regex crate has no look-around.
static BRANCH_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?")
        .expect("the branch version pattern is valid")
});

/// A whole CocoaPods version literal: one to three numbers, then an optional prerelease and build.
static POD_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$",
    )
    .expect("the pod version pattern is valid")
});

/// The version in a branch name: `release/0.1.0` → 0.1.0, `feature/x` → `None`.
///
/// Also reads `release-1.2.3`, `v1.2.3`, `1.2` (→ 1.2.0) and a trailing prerelease
/// (`release/2.0.0-beta.1`). When several versions appear, the last one wins; a run of four
/// numbers (`7.42.2.6`) is not a version.
pub fn version_from_branch(branch: &str) -> Option<Version> {
    BRANCH_VERSION
        .captures_iter(branch)
        .filter(|captures| {
            let whole = captures.get(0).expect("group 0 always matches");
            is_version_boundary(branch[..whole.start()].chars().next_back())
                && is_version_boundary(branch[whole.end()..].chars().next())
        })
        .filter_map(|captures| {
            let number = |index: usize| captures.get(index).map(|m| m.as_str());
            build_version(number(1), number(2), number(3), number(4), None)
        })
        .last()
}

/// A version in a branch name must not touch another digit or dot (`7.42.2.6` is no version).
fn is_version_boundary(neighbour: Option<char>) -> bool {
    !matches!(neighbour, Some(c) if c.is_ascii_digit() || c == '.')
}

/// Reads a CocoaPods version literal leniently (`1.0` → 1.0.0, `7.42.2.6` → `None`).
///
/// Missing minor and patch numbers are zero (`1` → 1.0.0); prereleases (`1.0.0-beta.1`) and
/// build metadata are kept.
pub fn parse_pod_version(text: &str) -> Option<Version> {
    let captures = POD_VERSION.captures(text.trim())?;
    let part = |index: usize| captures.get(index).map(|m| m.as_str());
    build_version(part(1), part(2), part(3), part(4), part(5))
}

/// Assembles a version from its matched parts; `None` when a part is out of range or invalid.
fn build_version(
    major: Option<&str>,
    minor: Option<&str>,
    patch: Option<&str>,
    pre: Option<&str>,
    build: Option<&str>,
) -> Option<Version> {
    let number = |part: Option<&str>| part.map_or(Some(0), |digits| digits.parse::<u64>().ok());
    let mut version = Version::new(number(major)?, number(minor)?, number(patch)?);
    if let Some(pre) = pre {
        version.pre = Prerelease::new(pre).ok()?;
    }
    if let Some(build) = build {
        version.build = BuildMetadata::new(build).ok()?;
    }
    Some(version)
}

/// The higher of the branch's version and the podspec's; `None` when neither is known.
pub fn default_version(branch: &str, podspec_version: Option<&str>) -> Option<Version> {
    let from_branch = version_from_branch(branch);
    let from_podspec = podspec_version.and_then(parse_pod_version);
    match (from_branch, from_podspec) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Validates a version a person set, against the last released version when known.
///
/// Only strict semver is accepted (`1.4.0`, `2.0.0-rc.1`), surrounding spaces aside: a person
/// who types `1.4` should see the rule rather than have Convoy guess.
pub fn parse_requested_version(
    text: &str,
    last_released: Option<&Version>,
) -> Result<Version, VersionError> {
    let version =
        Version::parse(text.trim()).map_err(|_| VersionError::Invalid(text.to_string()))?;
    match last_released {
        Some(last) if version <= *last => Err(VersionError::NotHigher {
            version: version.to_string(),
            last: last.to_string(),
        }),
        _ => Ok(version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn a_release_branch_gives_its_version() {
        assert_eq!(version_from_branch("release/0.1.0"), Some(v("0.1.0")));
        assert_eq!(version_from_branch("release-1.2.3"), Some(v("1.2.3")));
        assert_eq!(version_from_branch("v1.2.3"), Some(v("1.2.3")));
        assert_eq!(version_from_branch("release/v4.5.6"), Some(v("4.5.6")));
    }

    #[test]
    fn a_branch_with_two_numbers_gets_patch_zero() {
        assert_eq!(version_from_branch("1.2"), Some(v("1.2.0")));
        assert_eq!(version_from_branch("release/3.10"), Some(v("3.10.0")));
    }

    #[test]
    fn a_branch_keeps_a_trailing_prerelease() {
        assert_eq!(
            version_from_branch("release/2.0.0-beta.1"),
            Some(v("2.0.0-beta.1"))
        );
    }

    #[test]
    fn a_branch_without_a_version_gives_none() {
        assert_eq!(version_from_branch("feature/login"), None);
        assert_eq!(version_from_branch("main"), None);
        assert_eq!(version_from_branch("release/7"), None);
        assert_eq!(version_from_branch(""), None);
    }

    #[test]
    fn a_branch_with_four_numbers_gives_none() {
        assert_eq!(version_from_branch("release/7.42.2.6"), None);
    }

    #[test]
    fn the_last_version_in_a_branch_wins() {
        assert_eq!(version_from_branch("from-1.0.0/to-1.1.0"), Some(v("1.1.0")));
    }

    #[test]
    fn pod_versions_are_read_leniently() {
        assert_eq!(parse_pod_version("1.0"), Some(v("1.0.0")));
        assert_eq!(parse_pod_version("1"), Some(v("1.0.0")));
        assert_eq!(parse_pod_version("1.2.3"), Some(v("1.2.3")));
        assert_eq!(parse_pod_version(" 15.0.0 "), Some(v("15.0.0")));
        assert_eq!(parse_pod_version("1.0.0-beta.1"), Some(v("1.0.0-beta.1")));
        assert_eq!(parse_pod_version("1.0-rc1"), Some(v("1.0.0-rc1")));
        assert_eq!(parse_pod_version("1.0.0+build.7"), Some(v("1.0.0+build.7")));
    }

    #[test]
    fn pod_versions_that_are_not_versions_give_none() {
        assert_eq!(parse_pod_version("7.42.2.6"), None);
        assert_eq!(parse_pod_version(""), None);
        assert_eq!(parse_pod_version("abc"), None);
        assert_eq!(parse_pod_version("#{version}"), None);
        assert_eq!(parse_pod_version("1.0.0-beta.01"), None);
    }

    #[test]
    fn the_default_version_is_the_higher_of_branch_and_podspec() {
        assert_eq!(
            default_version("release/0.2.0", Some("0.1.0")),
            Some(v("0.2.0"))
        );
        assert_eq!(
            default_version("release/0.1.0", Some("0.1.5")),
            Some(v("0.1.5"))
        );
        assert_eq!(
            default_version("release/2.0.0", Some("2.0.0-beta.3")),
            Some(v("2.0.0"))
        );
    }

    #[test]
    fn the_default_version_uses_whichever_side_is_known() {
        assert_eq!(default_version("feature/x", Some("1.0")), Some(v("1.0.0")));
        assert_eq!(default_version("release/0.3.0", None), Some(v("0.3.0")));
        assert_eq!(
            default_version("release/0.3.0", Some("7.42.2.6")),
            Some(v("0.3.0"))
        );
        assert_eq!(default_version("feature/x", None), None);
        assert_eq!(default_version("feature/x", Some("not a version")), None);
    }

    #[test]
    fn a_requested_version_must_be_strict_semver() {
        assert_eq!(parse_requested_version("1.4.0", None), Ok(v("1.4.0")));
        assert_eq!(
            parse_requested_version(" 2.0.0-rc.1 ", None),
            Ok(v("2.0.0-rc.1"))
        );
        let error = parse_requested_version("1.4", None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"1.4\" is not a valid version: use MAJOR.MINOR.PATCH, for example 1.4.0"
        );
        assert_eq!(
            parse_requested_version("v1.4.0", None),
            Err(VersionError::Invalid("v1.4.0".to_string()))
        );
    }

    #[test]
    fn a_requested_version_must_be_higher_than_the_last_release() {
        let last = v("1.4.0");
        assert_eq!(
            parse_requested_version("1.4.1", Some(&last)),
            Ok(v("1.4.1"))
        );
        let error = parse_requested_version("1.4.0", Some(&last)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "version 1.4.0 is not higher than the last released version 1.4.0: choose a higher version"
        );
        assert_eq!(
            parse_requested_version("1.3.9", Some(&last)),
            Err(VersionError::NotHigher {
                version: "1.3.9".to_string(),
                last: "1.4.0".to_string(),
            })
        );
    }
}
