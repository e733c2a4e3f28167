//! The rules that decide what CI does: whether a commit skips CI, and whether a CocoaPods
//! dependency requirement is met by a released version (`ci_config` reads `.gitlab-ci.yml`).

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// True when a commit message asks GitLab not to run a pipeline: GitLab's
/// `/\[(ci[ _-]skip|skip[ _-]ci)\]/i`.
pub fn skips_ci(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "ci skip", "ci-skip", "ci_skip", "skip ci", "skip-ci", "skip_ci",
    ]
    .iter()
    .any(|marker| lower.contains(&format!("[{marker}]")))
}

/// Whether a job of this stage checks that the pod's dependencies are released (as
/// `pod lib lint` and `pod repo push` do).
pub fn stage_checks_dependencies(stage: &str) -> bool {
    matches!(stage, "lint" | "test" | "publish" | "deploy" | "release")
}

/// Whether a job of this stage publishes (fails when the scenario says publishing fails).
pub fn stage_publishes(stage: &str) -> bool {
    matches!(stage, "publish" | "deploy" | "release")
}

/// A semver-ish version: numeric segments (`1.2`, `0.1.0`, `v2.0.0`). Pre-release suffixes
/// sort before the release. Missing segments count as 0 (`0.1` equals `0.1.0`).
#[derive(Debug, Clone)]
pub struct PodVersion {
    segments: Vec<u64>,
    prerelease: Option<String>,
}

impl PodVersion {
    pub fn parse(text: &str) -> Option<PodVersion> {
        let text = text.trim();
        let text = text.strip_prefix('v').unwrap_or(text);
        let (numbers, prerelease) = match text.split_once('-') {
            Some((numbers, pre)) => (numbers, Some(pre.to_string())),
            None => (text, None),
        };
        let segments: Option<Vec<u64>> = numbers.split('.').map(|s| s.parse().ok()).collect();
        let segments = segments?;
        if segments.is_empty() {
            return None;
        }
        Some(PodVersion {
            segments,
            prerelease,
        })
    }

    fn segment(&self, i: usize) -> u64 {
        self.segments.get(i).copied().unwrap_or(0)
    }

    /// The exclusive upper bound of `~> self`: `~> 0.1.2` → 0.2, `~> 0.1` → 1, `~> 3` → 4.
    fn pessimistic_bound(&self) -> PodVersion {
        let mut segments = self.segments.clone();
        if segments.len() > 1 {
            segments.pop();
        }
        if let Some(last) = segments.last_mut() {
            *last += 1;
        }
        PodVersion {
            segments,
            prerelease: None,
        }
    }
}

impl Ord for PodVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.segments.len().max(other.segments.len());
        for i in 0..len {
            match self.segment(i).cmp(&other.segment(i)) {
                Ordering::Equal => continue,
                unequal => return unequal,
            }
        }
        match (&self.prerelease, &other.prerelease) {
            (None, None) => Ordering::Equal,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => a.cmp(b),
        }
    }
}

impl PartialEq for PodVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PodVersion {}

impl PartialOrd for PodVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Whether `version` meets a CocoaPods requirement such as `~> 0.1.0`, `= 1.0`, `>= 1.2, < 2.0`
/// (several conditions separated by commas must all hold). An empty requirement accepts any
/// version; an unreadable one accepts none.
pub fn satisfies(requirement: &str, version: &str) -> bool {
    let Some(version) = PodVersion::parse(version) else {
        return false;
    };
    requirement
        .split(',')
        .map(str::trim)
        .filter(|condition| !condition.is_empty())
        .all(|condition| condition_holds(condition, &version))
}

fn condition_holds(condition: &str, version: &PodVersion) -> bool {
    let (operator, operand) = split_operator(condition);
    let Some(operand) = PodVersion::parse(operand) else {
        return false;
    };
    match operator {
        "=" => *version == operand,
        "!=" => *version != operand,
        ">" => *version > operand,
        ">=" => *version >= operand,
        "<" => *version < operand,
        "<=" => *version <= operand,
        "~>" => *version >= operand && *version < operand.pessimistic_bound(),
        _ => false,
    }
}

fn split_operator(condition: &str) -> (&str, &str) {
    for operator in ["~>", ">=", "<=", "!=", "=", ">", "<"] {
        if let Some(rest) = condition.strip_prefix(operator) {
            return (operator, rest.trim());
        }
    }
    ("=", condition)
}

/// A dependency of a pod that is not released at a version it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmetDependency {
    pub name: String,
    pub requirement: Option<String>,
    pub released: Vec<String>,
}

/// The `pod lib lint` log for a pod whose dependencies are not all released.
pub fn lint_failure_log(pod: &str, version: &str, unmet: &[UnmetDependency]) -> String {
    let mut log = format!("$ pod lib lint --allow-warnings\n\n -> {pod} ({version})\n");
    for dependency in unmet {
        let wanted = match &dependency.requirement {
            Some(requirement) => format!("{} ({requirement})", dependency.name),
            None => dependency.name.clone(),
        };
        let released = if dependency.released.is_empty() {
            "none".to_string()
        } else {
            dependency.released.join(", ")
        };
        log.push_str(&format!(
            "    - ERROR | [iOS] unknown: Encountered an unknown error (CocoaPods could not find compatible versions for pod \"{}\":\n  In Podfile:\n    {pod} (from `.`) was resolved to {version}, which depends on\n      {wanted}\n\nNone of the released versions match (released: {released}).)\n",
            dependency.name
        ));
    }
    log.push_str(&format!(
        "\n[!] {pod} did not pass validation, due to {} error{}.\nERROR: Job failed: exit code 1\n",
        unmet.len(),
        if unmet.len() == 1 { "" } else { "s" }
    ));
    log
}

/// The released versions of each pod that is a project of the world, by pod name.
pub type ReleasedVersions = BTreeMap<String, Vec<String>>;

/// The dependencies (name, requirement) whose pod is known to the world but not released at an
/// accepted version. Subspec names (`Kit/Core`) count as their root pod.
pub fn unmet_dependencies(
    dependencies: &[(String, Option<String>)],
    released: &ReleasedVersions,
) -> Vec<UnmetDependency> {
    let mut unmet = Vec::new();
    for (name, requirement) in dependencies {
        let root = name.split('/').next().unwrap_or(name);
        let Some(versions) = released.get(root) else {
            continue;
        };
        let accepted = versions
            .iter()
            .any(|v| satisfies(requirement.as_deref().unwrap_or(""), v));
        if !accepted && !unmet.iter().any(|u: &UnmetDependency| u.name == root) {
            unmet.push(UnmetDependency {
                name: root.to_string(),
                requirement: requirement.clone(),
                released: versions.clone(),
            });
        }
    }
    unmet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pessimistic_operator_follows_cocoapods() {
        assert!(satisfies("~> 0.1.0", "0.1.0"));
        assert!(satisfies("~> 0.1.0", "0.1.9"));
        assert!(!satisfies("~> 0.1.0", "0.2.0"));
        assert!(!satisfies("~> 0.1.0", "0.0.9"));
        assert!(satisfies("~> 0.1", "0.9.0"));
        assert!(!satisfies("~> 0.1", "1.0.0"));
    }

    #[test]
    fn comparison_operators_and_lists() {
        assert!(satisfies("= 0.1.0", "0.1"));
        assert!(!satisfies("= 0.1.0", "0.1.1"));
        assert!(satisfies(">= 1.2, < 2.0", "1.9.9"));
        assert!(!satisfies(">= 1.2, < 2.0", "2.0.0"));
        assert!(satisfies("> 1.0", "1.0.1"));
        assert!(satisfies("<= 1.0", "1.0.0"));
        assert!(satisfies("0.1.0", "v0.1.0"));
        assert!(satisfies("", "3.0.0"));
        assert!(!satisfies("~> 1.0", "not-a-version"));
    }

    #[test]
    fn a_prerelease_is_below_its_release() {
        assert!(!satisfies(">= 1.0.0", "1.0.0-beta.1"));
        assert!(satisfies("< 1.0.0", "1.0.0-beta.1"));
    }

    #[test]
    fn ci_skip_markers_in_any_case() {
        assert!(skips_ci("Bump version to 0.1.0 [ci skip]"));
        assert!(skips_ci("[Skip CI] bump"));
        assert!(skips_ci("bump [ci-skip]") && skips_ci("bump [skip_ci]"));
        assert!(!skips_ci("ci skip without brackets"));
        assert!(!skips_ci("Bump version"));
    }

    #[test]
    fn unmet_dependencies_ignore_pods_outside_the_world() {
        let released: ReleasedVersions =
            [("CoreKit".to_string(), vec!["0.0.9".to_string()])].into();
        let deps = vec![
            ("CoreKit/Logging".to_string(), Some("~> 0.1.0".to_string())),
            ("Alamofire".to_string(), Some("~> 5.0".to_string())),
        ];
        let unmet = unmet_dependencies(&deps, &released);
        assert_eq!(unmet.len(), 1);
        assert_eq!(unmet[0].name, "CoreKit");
        let log = lint_failure_log("NetworkKit", "0.1.0", &unmet);
        assert!(
            log.contains("CoreKit (~> 0.1.0)") && log.contains("released: 0.0.9"),
            "{log}"
        );
    }
}
