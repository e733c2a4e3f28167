//! The rules that decide what CI does: which jobs a `.gitlab-ci.yml` gives a pipeline, whether a
//! commit skips CI, and whether a CocoaPods dependency requirement is met by a released version.

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

/// A job a pipeline runs, in the order of its stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    pub name: String,
    pub stage: String,
}

/// Why a CI configuration gives no pipeline, in GitLab's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoPipeline {
    MissingConfig,
    NoJobs,
    InvalidConfig(String),
}

impl NoPipeline {
    /// The sentence GitLab puts in `{"message":{"base":[...]}}`.
    pub fn message(&self) -> String {
        match self {
            NoPipeline::MissingConfig => "Missing CI config file".to_string(),
            NoPipeline::NoJobs => "Pipeline will not run for the selected trigger. The rules configuration prevented any jobs from being added to the pipeline.".to_string(),
            NoPipeline::InvalidConfig(why) => format!("Invalid configuration format: {why}"),
        }
    }
}

const RESERVED_KEYS: [&str; 9] = [
    "stages",
    "variables",
    "default",
    "include",
    "workflow",
    "image",
    "services",
    "before_script",
    "after_script",
];

/// What a pipeline is for; `.gitlab-ci.yml` picks jobs per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineKind {
    Branch,
    Tag,
    MergeRequest,
}

impl PipelineKind {
    /// The `only`/`except` keyword of this kind.
    fn keyword(self) -> &'static str {
        match self {
            PipelineKind::Branch => "branches",
            PipelineKind::Tag => "tags",
            PipelineKind::MergeRequest => "merge_requests",
        }
    }
}

/// The jobs `.gitlab-ci.yml` runs for a pipeline of this kind, ordered by stage. Understands
/// `stages`, `stage`, `only`/`except` (`branches`, `tags`, `merge_requests`) and `rules` whose
/// `if` tests `$CI_COMMIT_TAG`, `$CI_COMMIT_BRANCH` or `merge_request_event`. As in GitLab, a
/// job without any of these runs for branches and tags, not in merge request pipelines.
pub fn jobs_for(ci_yaml: Option<&str>, kind: PipelineKind) -> Result<Vec<JobSpec>, NoPipeline> {
    let text = ci_yaml.ok_or(NoPipeline::MissingConfig)?;
    let doc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| NoPipeline::InvalidConfig(e.to_string()))?;
    let map = doc
        .as_mapping()
        .ok_or_else(|| NoPipeline::InvalidConfig("the root is not a mapping".to_string()))?;
    let stages: Vec<String> = match map.get("stages").and_then(|s| s.as_sequence()) {
        Some(list) => list
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        None => vec![
            "build".to_string(),
            "test".to_string(),
            "deploy".to_string(),
        ],
    };
    let mut jobs = Vec::new();
    for (key, value) in map {
        let Some(name) = key.as_str() else { continue };
        if RESERVED_KEYS.contains(&name) || name.starts_with('.') || !value.is_mapping() {
            continue;
        }
        let stage = value
            .get("stage")
            .and_then(|s| s.as_str())
            .unwrap_or("test")
            .to_string();
        if runs_for(value, kind) {
            jobs.push(JobSpec {
                name: name.to_string(),
                stage,
            });
        }
    }
    jobs.sort_by_key(|job| {
        stages
            .iter()
            .position(|s| *s == job.stage)
            .unwrap_or(usize::MAX)
    });
    if jobs.is_empty() {
        Err(NoPipeline::NoJobs)
    } else {
        Ok(jobs)
    }
}

fn runs_for(job: &serde_yaml::Value, kind: PipelineKind) -> bool {
    let list = |key: &str| -> Option<Vec<String>> {
        job.get(key).and_then(|v| v.as_sequence()).map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
    };
    if let Some(only) = list("only") {
        // Anything but the kind keywords (a branch name, a pattern) means branches.
        let for_branches = only
            .iter()
            .any(|item| item != "tags" && item != "merge_requests");
        return only.iter().any(|item| item == kind.keyword())
            || (kind == PipelineKind::Branch && for_branches);
    }
    if let Some(except) = list("except") {
        return kind != PipelineKind::MergeRequest
            && !except.iter().any(|item| item == kind.keyword());
    }
    if let Some(rules) = job.get("rules").and_then(|r| r.as_sequence()) {
        let conditions: Vec<&str> = rules
            .iter()
            .filter_map(|rule| rule.get("if").and_then(|c| c.as_str()))
            .collect();
        let tests = |needle: &str| conditions.iter().any(|c| c.contains(needle));
        let (tag, branch, merge_request) = (
            tests("$CI_COMMIT_TAG"),
            tests("$CI_COMMIT_BRANCH"),
            tests("merge_request_event"),
        );
        if !(tag || branch || merge_request) {
            return true;
        }
        return match kind {
            PipelineKind::Tag => tag,
            PipelineKind::Branch => branch,
            PipelineKind::MergeRequest => merge_request,
        };
    }
    kind != PipelineKind::MergeRequest
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

    const CI: &str = "stages: [lint, publish]\nlint:\n  stage: lint\n  script: pod lib lint\npublish:\n  stage: publish\n  script: pod repo push\n  only: [tags]\n";

    #[test]
    fn tag_only_jobs_run_in_tag_pipelines_only() {
        let branch: Vec<String> = jobs_for(Some(CI), PipelineKind::Branch)
            .unwrap()
            .into_iter()
            .map(|j| j.name)
            .collect();
        let tag: Vec<String> = jobs_for(Some(CI), PipelineKind::Tag)
            .unwrap()
            .into_iter()
            .map(|j| j.name)
            .collect();
        assert_eq!(branch, ["lint"]);
        assert_eq!(tag, ["lint", "publish"]);
    }

    #[test]
    fn merge_request_pipelines_need_jobs_that_ask_for_them() {
        assert_eq!(
            jobs_for(Some(CI), PipelineKind::MergeRequest),
            Err(NoPipeline::NoJobs)
        );
        let ci = "lint:\n  stage: test\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n    - if: $CI_COMMIT_BRANCH\nold:\n  only: [merge_requests]\n";
        let names = |kind| {
            jobs_for(Some(ci), kind)
                .map(|jobs| jobs.into_iter().map(|j| j.name).collect::<Vec<_>>())
        };
        assert_eq!(
            names(PipelineKind::MergeRequest),
            Ok(vec!["lint".to_string(), "old".to_string()])
        );
        assert_eq!(names(PipelineKind::Branch), Ok(vec!["lint".to_string()]));
        assert_eq!(names(PipelineKind::Tag), Err(NoPipeline::NoJobs));
    }

    #[test]
    fn no_config_and_no_jobs_are_told_apart() {
        assert_eq!(
            jobs_for(None, PipelineKind::Branch),
            Err(NoPipeline::MissingConfig)
        );
        let only_tags = "publish:\n  stage: deploy\n  only: [tags]\n";
        assert_eq!(
            jobs_for(Some(only_tags), PipelineKind::Branch),
            Err(NoPipeline::NoJobs)
        );
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
