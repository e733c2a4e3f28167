//! Reads a component's `.gitlab-ci.yml` with a YAML parser: its stages, whether one of them
//! publishes, and which jobs run in merge request pipelines and in branch pipelines.
//!
//! Nothing is guessed from the text: flow style (`stages: [lint, publish]`), block style,
//! anchors, aliases and `<<:` merge keys are all YAML, so they read alike. What Convoy does not
//! read is said, not misread: `include:` is listed in [`CiConfig::includes`] ("not read:
//! included files"), and a condition it cannot evaluate gives [`Runs::Unknown`].
//!
//! GitLab's rules applied here (`doc/ci/yaml/_index.md`, `lib/gitlab/ci/config/entry/`):
//! - Without `stages:`, the stages are `.pre`, `build`, `test`, `deploy`, `.post`; a job
//!   without `stage:` is in `test`.
//! - Top-level keys that are keywords (`default`, `include`, `stages`, `variables`, `workflow`,
//!   and the old globals `image`, `services`, `cache`, `before_script`, `after_script`,
//!   `types`) are not jobs; keys starting with `.` are hidden jobs (templates) that never run.
//! - A job without `rules`, `only` and `except` runs as `only: [branches, tags]`: in branch
//!   pipelines, not in merge request pipelines.
//! - `rules` are tried in order and the first that matches decides (`when: never` excludes);
//!   when none matches the job does not run. `workflow: rules` decide the same way for the
//!   whole pipeline.

use serde::Serialize;
use serde_yaml::{Mapping, Value};

/// The stage names that publish a release.
const PUBLISH_STAGES: &[&str] = &["publish", "deploy", "release"];

/// The stages GitLab uses when the file declares none.
const DEFAULT_STAGES: &[&str] = &[".pre", "build", "test", "deploy", ".post"];

/// Top-level keys that configure the pipeline rather than name a job.
const KEYWORDS: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "types",
    "spec",
];

/// Whether something runs in a kind of pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runs {
    Yes,
    No,
    /// It depends on something Convoy does not evaluate (a variable, a branch name pattern).
    Unknown,
}

/// The kinds of pipeline Convoy starts or waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipeline {
    /// A merge request pipeline (`CI_PIPELINE_SOURCE == "merge_request_event"`).
    MergeRequest,
    /// A branch pipeline (push or API) on a branch that has an open merge request, as Convoy's
    /// release branches do (`CI_COMMIT_BRANCH` and `CI_OPEN_MERGE_REQUESTS` are set).
    Branch,
}

/// One job of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiJob {
    pub name: String,
    pub stage: String,
    /// Whether the job runs in a merge request pipeline, by its `rules`/`only`/`except`.
    pub merge_request: Runs,
    /// Whether the job runs in a branch pipeline, by its `rules`/`only`/`except`.
    pub branch: Runs,
}

/// What a `.gitlab-ci.yml` says, as far as Convoy needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiConfig {
    /// The stages in order: the file's `stages:`, or GitLab's defaults.
    pub stages: Vec<String>,
    /// True when the file has its own `stages:` (else [`CiConfig::stages`] are the defaults).
    pub stages_declared: bool,
    /// The jobs that can run (hidden `.jobs` left out), in file order.
    pub jobs: Vec<CiJob>,
    /// `include:` entries, as written (`local: ci/publish.yml`): not read, so stages and jobs
    /// they add are missing here.
    pub includes: Vec<String>,
    /// Whether `workflow: rules` let each kind of pipeline be created.
    pub workflow_merge_request: Runs,
    pub workflow_branch: Runs,
}

/// A `.gitlab-ci.yml` that is not YAML, or not a mapping at its top.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CiConfigError(String);

/// Reads a `.gitlab-ci.yml`.
pub fn read_ci_config(text: &str) -> Result<CiConfig, CiConfigError> {
    let mut root = main_document(text)?;
    // `<<: *defaults` merge keys are how GitLab files share job settings.
    root.apply_merge()
        .map_err(|e| CiConfigError(format!("not valid YAML: {e}")))?;
    let Value::Mapping(root) = root else {
        return Err(CiConfigError(
            "not a GitLab CI file: its top level is not a mapping of keys to values".to_string(),
        ));
    };
    let declared = root.get("stages").or_else(|| root.get("types"));
    let stages = match declared {
        Some(value) => strings(value),
        None => DEFAULT_STAGES.iter().map(|s| s.to_string()).collect(),
    };
    let workflow_rules = root.get("workflow").and_then(|w| w.get("rules"));
    let workflow = |pipeline| workflow_rules.map_or(Runs::Yes, |r| rules_run(r, pipeline));
    let jobs = root
        .iter()
        .filter_map(|(key, value)| job(key.as_str()?, value))
        .collect();
    Ok(CiConfig {
        stages,
        stages_declared: declared.is_some(),
        jobs,
        includes: root.get("include").map(includes).unwrap_or_default(),
        workflow_merge_request: workflow(Pipeline::MergeRequest),
        workflow_branch: workflow(Pipeline::Branch),
    })
}

impl CiConfig {
    /// The first stage that publishes (`publish`, `deploy` or `release`), declared in
    /// `stages:` or used by a job. GitLab's default `deploy` stage counts only when a job uses
    /// it.
    pub fn publish_stage(&self) -> Option<&str> {
        let declared = self.stages.iter().filter(|_| self.stages_declared);
        let used = self.jobs.iter().map(|j| &j.stage);
        declared
            .chain(used)
            .map(String::as_str)
            .find(|stage| PUBLISH_STAGES.contains(stage))
    }

    /// Whether a pipeline of this kind runs at least one job: the workflow allows it and a job
    /// runs in it.
    pub fn runs_jobs_in(&self, pipeline: Pipeline) -> Runs {
        let workflow = match pipeline {
            Pipeline::MergeRequest => self.workflow_merge_request,
            Pipeline::Branch => self.workflow_branch,
        };
        let jobs = self
            .jobs
            .iter()
            .map(|j| match pipeline {
                Pipeline::MergeRequest => j.merge_request,
                Pipeline::Branch => j.branch,
            })
            .fold(Runs::No, any);
        all(workflow, jobs)
    }
}

/// The document that holds the pipeline: the only one, or the one after a `spec:` header
/// (CI/CD components put `spec: inputs:` in a first document).
fn main_document(text: &str) -> Result<Value, CiConfigError> {
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value: Value = serde::Deserialize::deserialize(document)
            .map_err(|e| CiConfigError(format!("not valid YAML: {e}")))?;
        documents.push(value);
    }
    match documents.len() {
        0 => Ok(Value::Mapping(Mapping::new())),
        1 if documents[0].is_null() => Ok(Value::Mapping(Mapping::new())),
        1 => Ok(documents.remove(0)),
        2 if documents[0].get("spec").is_some() => Ok(documents.remove(1)),
        n => Err(CiConfigError(format!(
            "{n} YAML documents: GitLab reads one (after an optional `spec:` header)"
        ))),
    }
}

fn job(name: &str, value: &Value) -> Option<CiJob> {
    if KEYWORDS.contains(&name) || name.starts_with('.') {
        return None;
    }
    let Value::Mapping(job) = value else {
        return None;
    };
    let stage = job
        .get("stage")
        .and_then(Value::as_str)
        .unwrap_or("test")
        .to_string();
    let (merge_request, branch) = match job.get("rules") {
        Some(rules) => (
            rules_run(rules, Pipeline::MergeRequest),
            rules_run(rules, Pipeline::Branch),
        ),
        None => (
            only_except_run(job, Pipeline::MergeRequest),
            only_except_run(job, Pipeline::Branch),
        ),
    };
    Some(CiJob {
        name: name.to_string(),
        stage,
        merge_request,
        branch,
    })
}

/// `include:` as written, one entry per included file.
fn includes(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(items) => items.iter().flat_map(includes).collect(),
        Value::String(path) => vec![path.clone()],
        Value::Mapping(entry) => vec![
            entry
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(k), scalar(v)))
                .collect::<Vec<_>>()
                .join(", "),
        ],
        other => vec![scalar(other)],
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .replace('\n', " "),
    }
}

/// A list of strings (`[a, b]` or a block list), or one string.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        Value::String(one) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// `rules:` tried in order; the first rule that matches decides.
fn rules_run(rules: &Value, pipeline: Pipeline) -> Runs {
    let Value::Sequence(rules) = rules else {
        return Runs::Unknown;
    };
    for rule in rules {
        let matches = match rule.get("if") {
            Some(Value::String(condition)) => evaluate(condition, pipeline),
            Some(_) => Runs::Unknown,
            // `changes:` and `exists:` depend on files; a rule with neither always matches.
            None if rule.get("changes").is_some() || rule.get("exists").is_some() => Runs::Unknown,
            None => Runs::Yes,
        };
        let never = rule.get("when").and_then(Value::as_str) == Some("never");
        match (matches, never) {
            (Runs::No, _) => continue,
            (Runs::Yes, true) => return Runs::No,
            (Runs::Yes, false) => return Runs::Yes,
            (Runs::Unknown, _) => return Runs::Unknown,
        }
    }
    Runs::No
}

/// `only:`/`except:` refs (a list, or `refs:` in a mapping); no `only` means branches and tags.
fn only_except_run(job: &Mapping, pipeline: Pipeline) -> Runs {
    let only = match job.get("only") {
        Some(value) => refs_match(value, pipeline),
        None => refs_match(&Value::from(vec!["branches", "tags"]), pipeline),
    };
    let except = match job.get("except") {
        Some(value) => refs_match(value, pipeline),
        None => Runs::No,
    };
    all(only, not(except))
}

/// Whether a pipeline of this kind is one the refs of `only`/`except` name.
fn refs_match(value: &Value, pipeline: Pipeline) -> Runs {
    let (refs, other_conditions) = match value {
        Value::Mapping(map) => (
            map.get("refs").map(strings).unwrap_or_default(),
            map.keys().any(|k| k.as_str() != Some("refs")),
        ),
        other => (strings(other), false),
    };
    let mut result = Runs::No;
    for reference in &refs {
        let named = match (reference.as_str(), pipeline) {
            ("merge_requests", Pipeline::MergeRequest) => Runs::Yes,
            ("branches" | "pushes" | "api" | "web", Pipeline::Branch) => Runs::Yes,
            (
                "merge_requests"
                | "branches"
                | "tags"
                | "pushes"
                | "api"
                | "web"
                | "schedules"
                | "triggers"
                | "pipelines"
                | "external"
                | "chat"
                | "external_pull_requests",
                _,
            ) => Runs::No,
            // A branch name or pattern: it depends on the branch.
            (_, Pipeline::Branch) => Runs::Unknown,
            (_, Pipeline::MergeRequest) => Runs::No,
        };
        result = any(result, named);
    }
    if other_conditions && result == Runs::Yes {
        // `variables:`, `changes:` or `kubernetes:` narrow it further.
        return Runs::Unknown;
    }
    result
}

/// A rule's `if:` for a kind of pipeline: `$VAR`, `$VAR == "x"`, `$VAR != "x"`, joined by
/// `&&` and `||` (without parentheses). Anything else is [`Runs::Unknown`].
fn evaluate(condition: &str, pipeline: Pipeline) -> Runs {
    if condition.contains('(') || condition.contains("=~") || condition.contains("!~") {
        return Runs::Unknown;
    }
    condition
        .split("||")
        .map(|conjunction| {
            conjunction
                .split("&&")
                .map(|atom| evaluate_atom(atom.trim(), pipeline))
                .fold(Runs::Yes, all)
        })
        .fold(Runs::No, any)
}

fn evaluate_atom(atom: &str, pipeline: Pipeline) -> Runs {
    let (variable, comparison) = match atom.split_once("==") {
        Some((variable, value)) => (variable.trim(), Some((true, value.trim()))),
        None => match atom.split_once("!=") {
            Some((variable, value)) => (variable.trim(), Some((false, value.trim()))),
            None => (atom, None),
        },
    };
    let Some(name) = variable.strip_prefix('$') else {
        return Runs::Unknown;
    };
    let known = variable_value(name, pipeline);
    let Some((equal, expected)) = comparison else {
        // `$VAR` alone: true when the variable is set and not empty.
        return match known {
            Known::Unset => Runs::No,
            Known::Unknown => Runs::Unknown,
            Known::Set | Known::OneOf(_) => Runs::Yes,
        };
    };
    if let Some(other) = expected.strip_prefix('$') {
        let same = match (known, variable_value(other, pipeline)) {
            (Known::Unset, Known::Unset) => Runs::Yes,
            (Known::Unset, Known::Set | Known::OneOf(_))
            | (Known::Set | Known::OneOf(_), Known::Unset) => Runs::No,
            _ => Runs::Unknown,
        };
        return if equal { same } else { not(same) };
    }
    let expected = expected.trim_matches(|c| c == '"' || c == '\'');
    let same = match known {
        Known::Unset => runs(expected == "null"),
        Known::OneOf(values) if values.iter().all(|v| *v == expected) => Runs::Yes,
        Known::OneOf(values) if !values.contains(&expected) => Runs::No,
        _ => Runs::Unknown,
    };
    if equal { same } else { not(same) }
}

/// What Convoy knows of a variable in a kind of pipeline.
enum Known {
    Unset,
    /// Set, to a value Convoy does not know (a branch name).
    Set,
    /// Set to one of these values.
    OneOf(&'static [&'static str]),
    Unknown,
}

/// The predefined variables that tell pipelines apart (`doc/ci/variables/predefined_variables.md`).
fn variable_value(name: &str, pipeline: Pipeline) -> Known {
    let merge_request = pipeline == Pipeline::MergeRequest;
    let set_in = |yes: bool| if yes { Known::Set } else { Known::Unset };
    match name {
        "CI_PIPELINE_SOURCE" if merge_request => Known::OneOf(&["merge_request_event"]),
        // Convoy's branch pipelines come from a push or from `POST /projects/:id/pipeline`.
        "CI_PIPELINE_SOURCE" => Known::OneOf(&["push", "api"]),
        "CI_COMMIT_BRANCH" | "CI_OPEN_MERGE_REQUESTS" => set_in(!merge_request),
        "CI_COMMIT_TAG" => Known::Unset,
        "CI_DEFAULT_BRANCH" => Known::Set,
        name if name.starts_with("CI_MERGE_REQUEST_") => set_in(merge_request),
        _ => Known::Unknown,
    }
}

fn runs(yes: bool) -> Runs {
    if yes { Runs::Yes } else { Runs::No }
}

fn any(a: Runs, b: Runs) -> Runs {
    match (a, b) {
        (Runs::Yes, _) | (_, Runs::Yes) => Runs::Yes,
        (Runs::No, Runs::No) => Runs::No,
        _ => Runs::Unknown,
    }
}

fn all(a: Runs, b: Runs) -> Runs {
    match (a, b) {
        (Runs::No, _) | (_, Runs::No) => Runs::No,
        (Runs::Yes, Runs::Yes) => Runs::Yes,
        _ => Runs::Unknown,
    }
}

fn not(a: Runs) -> Runs {
    match a {
        Runs::Yes => Runs::No,
        Runs::No => Runs::Yes,
        Runs::Unknown => Runs::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> CiConfig {
        read_ci_config(text).unwrap()
    }

    fn job<'a>(config: &'a CiConfig, name: &str) -> &'a CiJob {
        config.jobs.iter().find(|j| j.name == name).unwrap()
    }

    #[test]
    fn flow_style_stages_are_read_like_block_style() {
        let flow =
            read("stages: [lint, publish]\nlint:\n  stage: lint\n  script: [pod lib lint]\n");
        let block = read(
            "stages:\n  - lint\n  - publish\nlint:\n  stage: lint\n  script:\n    - pod lib lint\n",
        );
        assert_eq!(flow, block);
        assert_eq!(flow.stages, vec!["lint", "publish"]);
        assert_eq!(flow.publish_stage(), Some("publish"));
    }

    #[test]
    fn a_publish_stage_comes_from_stages_or_from_a_job() {
        assert_eq!(
            read("push:\n  stage: deploy\n  script: pod trunk push\n").publish_stage(),
            Some("deploy")
        );
        assert_eq!(
            read("stages: [build, release]\n").publish_stage(),
            Some("release")
        );
        // GitLab's default stages include `deploy`, but no job uses it.
        let config = read("lint:\n  script: pod lib lint\n");
        assert_eq!(
            config.stages,
            vec![".pre", "build", "test", "deploy", ".post"]
        );
        assert_eq!(config.publish_stage(), None);
        assert_eq!(job(&config, "lint").stage, "test");
        assert_eq!(
            read("# publish later\nstages:\n  - lint\n").publish_stage(),
            None
        );
    }

    #[test]
    fn include_is_reported_as_not_read() {
        let config = read(
            "include:\n  - local: ci/publish.yml\n  - project: mobile/ci\n    file: pod.yml\n\
             \x20 - https://example.com/ci.yml\nstages: [lint]\n",
        );
        assert_eq!(
            config.includes,
            vec![
                "local: ci/publish.yml",
                "project: mobile/ci, file: pod.yml",
                "https://example.com/ci.yml"
            ]
        );
        assert_eq!(config.publish_stage(), None);
        assert_eq!(read("include: ci/a.yml\n").includes, vec!["ci/a.yml"]);
    }

    #[test]
    fn anchors_aliases_and_merge_keys_are_followed() {
        let config = read(
            ".publish: &publish\n  stage: publish\n  only: [merge_requests]\n\
             stages: &stages [lint, publish]\n\
             push:\n  <<: *publish\n  script: pod trunk push\n",
        );
        assert_eq!(config.stages, vec!["lint", "publish"]);
        assert_eq!(config.jobs.len(), 1, "the hidden template is not a job");
        let push = job(&config, "push");
        assert_eq!(push.stage, "publish");
        assert_eq!(push.merge_request, Runs::Yes);
        assert_eq!(push.branch, Runs::No);
    }

    #[test]
    fn jobs_without_rules_run_in_branch_pipelines_only() {
        let config = read("lint:\n  script: x\n");
        assert_eq!(config.runs_jobs_in(Pipeline::Branch), Runs::Yes);
        assert_eq!(config.runs_jobs_in(Pipeline::MergeRequest), Runs::No);
    }

    #[test]
    fn only_and_except_refs_choose_the_pipelines() {
        let config = read(
            "mr:\n  script: x\n  only: [merge_requests]\n\
             branches:\n  script: x\n  only:\n    refs: [branches]\n\
             not_mr:\n  script: x\n  except: [merge_requests]\n\
             release:\n  script: x\n  only: [/^release\\/.*$/]\n\
             tags:\n  script: x\n  only: [tags]\n",
        );
        let runs = |name| {
            let j = job(&config, name);
            (j.merge_request, j.branch)
        };
        assert_eq!(runs("mr"), (Runs::Yes, Runs::No));
        assert_eq!(runs("branches"), (Runs::No, Runs::Yes));
        assert_eq!(runs("not_mr"), (Runs::No, Runs::Yes));
        assert_eq!(runs("release"), (Runs::No, Runs::Unknown));
        assert_eq!(runs("tags"), (Runs::No, Runs::No));
    }

    #[test]
    fn rules_are_tried_in_order_and_the_first_match_decides() {
        let config = read(
            "mr:\n  script: x\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n\
             never_mr:\n  script: x\n  rules:\n    - if: $CI_MERGE_REQUEST_IID\n      when: never\n    - when: on_success\n\
             branch:\n  script: x\n  rules:\n    - if: '$CI_COMMIT_BRANCH'\n\
             main_only:\n  script: x\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n\
             flag:\n  script: x\n  rules:\n    - if: $PUBLISH == \"1\"\n",
        );
        let runs = |name| {
            let j = job(&config, name);
            (j.merge_request, j.branch)
        };
        assert_eq!(runs("mr"), (Runs::Yes, Runs::No));
        assert_eq!(runs("never_mr"), (Runs::No, Runs::Yes));
        assert_eq!(runs("branch"), (Runs::No, Runs::Yes));
        assert_eq!(runs("main_only"), (Runs::No, Runs::Unknown));
        assert_eq!(runs("flag"), (Runs::Unknown, Runs::Unknown));
    }

    #[test]
    fn the_documented_merge_request_workflow_refuses_branch_pipelines_with_an_open_mr() {
        // `doc/ci/yaml/workflow.md`: "Switch between branch pipelines and merge request
        // pipelines".
        let config = read(
            "workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n\
             \x20   - if: $CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS\n      when: never\n\
             \x20   - if: $CI_COMMIT_BRANCH\n\
             lint:\n  script: x\n  rules:\n    - when: always\n",
        );
        assert_eq!(config.workflow_merge_request, Runs::Yes);
        assert_eq!(config.workflow_branch, Runs::No);
        assert_eq!(config.runs_jobs_in(Pipeline::MergeRequest), Runs::Yes);
        assert_eq!(config.runs_jobs_in(Pipeline::Branch), Runs::No);
    }

    #[test]
    fn keywords_and_hidden_jobs_are_not_jobs() {
        let config = read(
            "default:\n  image: ruby\nvariables:\n  A: b\nimage: ruby\nbefore_script: [x]\n\
             .template:\n  script: x\nlint:\n  script: x\n",
        );
        let names: Vec<&str> = config.jobs.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, vec!["lint"]);
    }

    #[test]
    fn a_component_spec_header_is_skipped() {
        let config =
            read("spec:\n  inputs:\n    stage:\n      default: test\n---\nstages: [publish]\n");
        assert_eq!(config.publish_stage(), Some("publish"));
    }

    #[test]
    fn bad_yaml_is_an_error_with_a_sentence() {
        let err = read_ci_config("stages: [lint\n").unwrap_err();
        assert!(err.to_string().starts_with("not valid YAML: "), "{err}");
        let err = read_ci_config("- a\n- b\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a GitLab CI file: its top level is not a mapping of keys to values"
        );
        assert_eq!(read("").jobs, vec![]);
    }
}
