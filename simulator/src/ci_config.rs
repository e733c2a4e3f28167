//! What a `.gitlab-ci.yml` gives a pipeline: first `workflow: rules` decide whether there is a
//! pipeline at all, then each job's `rules` (or `only`/`except`) decide whether it is in it.
//! `rules: - if:` expressions are evaluated against the pipeline's predefined variables, as
//! GitLab does (`Gitlab::Ci::Build::Rules`, `Gitlab::Ci::Pipeline::Expression::Statement`,
//! `Gitlab::Ci::Pipeline::Chain::EvaluateWorkflowRules`, `Gitlab::Ci::Pipeline::Chain::Populate`).

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
    /// `workflow: rules` matched no rule, or a `when: never` one.
    FilteredOut,
    /// No job is left for this kind of pipeline.
    NoJobs,
    InvalidConfig(String),
}

impl NoPipeline {
    /// The sentence GitLab puts in `{"message":{"base":[...]}}`.
    pub fn message(&self) -> String {
        match self {
            NoPipeline::MissingConfig => "Missing CI config file".to_string(),
            // Gitlab::Ci::Pipeline::Chain::EvaluateWorkflowRules
            NoPipeline::FilteredOut => "Pipeline filtered out by workflow rules.".to_string(),
            // Gitlab::Ci::Pipeline::Chain::Populate
            NoPipeline::NoJobs => "No stages / jobs for this pipeline.".to_string(),
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

/// The facts a pipeline's predefined CI/CD variables are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineContext {
    pub kind: PipelineKind,
    /// `push`, `api`, `merge_request_event`, `web`, ...
    pub source: String,
    /// The branch or tag name (the source branch for a merge request pipeline).
    pub ref_name: String,
    /// `group/project!1,...` when the branch has open merge requests (branch pipelines only).
    pub open_merge_requests: Option<String>,
    pub merge_request_iid: Option<u64>,
}

impl PipelineContext {
    /// A predefined variable as GitLab sets it for this pipeline (`None`: not defined).
    /// `CI_COMMIT_BRANCH` is absent in tag and merge request pipelines; see GitLab's
    /// "Predefined CI/CD variables reference".
    fn variable(&self, name: &str) -> Option<String> {
        let is = |kind| self.kind == kind;
        match name {
            "CI_PIPELINE_SOURCE" => Some(self.source.clone()),
            "CI_COMMIT_REF_NAME" => Some(self.ref_name.clone()),
            "CI_COMMIT_BRANCH" => is(PipelineKind::Branch).then(|| self.ref_name.clone()),
            "CI_COMMIT_TAG" => is(PipelineKind::Tag).then(|| self.ref_name.clone()),
            "CI_OPEN_MERGE_REQUESTS" => is(PipelineKind::Branch)
                .then(|| self.open_merge_requests.clone())
                .flatten(),
            "CI_MERGE_REQUEST_IID" => self.merge_request_iid.map(|iid| iid.to_string()),
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME" => {
                is(PipelineKind::MergeRequest).then(|| self.ref_name.clone())
            }
            _ => None,
        }
    }
}

/// The jobs `.gitlab-ci.yml` runs for this pipeline, ordered by stage, or why GitLab creates
/// no pipeline. As in GitLab, a job without `rules`, `only` or `except` runs for branches and
/// tags, not in merge request pipelines.
pub fn jobs_for(
    ci_yaml: Option<&str>,
    context: &PipelineContext,
) -> Result<Vec<JobSpec>, NoPipeline> {
    let text = ci_yaml.ok_or(NoPipeline::MissingConfig)?;
    let doc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| NoPipeline::InvalidConfig(e.to_string()))?;
    let map = doc
        .as_mapping()
        .ok_or_else(|| NoPipeline::InvalidConfig("the root is not a mapping".to_string()))?;
    let workflow_rules = map
        .get("workflow")
        .and_then(|w| w.get("rules"))
        .and_then(|r| r.as_sequence());
    if let Some(rules) = workflow_rules
        && rules_decide(rules, context) != Some(true)
    {
        return Err(NoPipeline::FilteredOut);
    }
    // Gitlab::Ci::Config::Entry::Processable: with workflow rules, a job without `rules`,
    // `only` or `except` loses the `only: [branches, tags]` default and runs everywhere.
    let default_everywhere = workflow_rules.is_some();
    let stages = stage_names(map);
    let mut jobs = Vec::new();
    for (key, value) in map {
        let Some(name) = key.as_str() else { continue };
        if RESERVED_KEYS.contains(&name) || name.starts_with('.') || !value.is_mapping() {
            continue;
        }
        if job_runs(value, context, default_everywhere) {
            let stage = value
                .get("stage")
                .and_then(|s| s.as_str())
                .unwrap_or("test");
            jobs.push(JobSpec {
                name: name.to_string(),
                stage: stage.to_string(),
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

fn stage_names(map: &serde_yaml::Mapping) -> Vec<String> {
    match map.get("stages").and_then(|s| s.as_sequence()) {
        Some(list) => list
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        None => ["build", "test", "deploy"].map(str::to_string).to_vec(),
    }
}

fn job_runs(job: &serde_yaml::Value, context: &PipelineContext, default_everywhere: bool) -> bool {
    let kind = context.kind;
    let list = |key: &str| -> Option<Vec<String>> {
        job.get(key).and_then(|v| v.as_sequence()).map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
    };
    if let Some(rules) = job.get("rules").and_then(|r| r.as_sequence()) {
        return rules_decide(rules, context) == Some(true);
    }
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
    default_everywhere || kind != PipelineKind::MergeRequest
}

/// The first rule that matches decides: `Some(false)` for `when: never`, `Some(true)` for any
/// other `when`; `None` when no rule matches (`Gitlab::Ci::Build::Rules#evaluate`). A rule
/// without `if` matches (this simulator does not evaluate `changes` or `exists`).
fn rules_decide(rules: &[serde_yaml::Value], context: &PipelineContext) -> Option<bool> {
    rules.iter().find_map(|rule| {
        let matches = rule
            .get("if")
            .and_then(|c| c.as_str())
            .is_none_or(|condition| evaluate(condition, context));
        matches.then(|| rule.get("when").and_then(|w| w.as_str()) != Some("never"))
    })
}

/// Evaluates a `rules: if:` expression: `$VAR` (defined and not empty), `==`, `!=`, `=~`,
/// `!~` against `"strings"`, `'strings'`, `/regexes/` or `null`, joined by `&&` (binding
/// tighter) and `||`. Parentheses around a whole term are ignored.
pub fn evaluate(expression: &str, context: &PipelineContext) -> bool {
    expression.split("||").any(|alternative| {
        alternative
            .split("&&")
            .all(|term| term_holds(term.trim(), context))
    })
}

fn term_holds(term: &str, context: &PipelineContext) -> bool {
    let term = term.trim_matches(|c: char| c == '(' || c == ')' || c.is_whitespace());
    for operator in ["=~", "!~"] {
        if let Some((left, pattern)) = term.split_once(operator) {
            let value = operand(left, context).unwrap_or_default();
            let matched = regex_matches(pattern.trim(), &value);
            return matched == (operator == "=~");
        }
    }
    for operator in ["!=", "=="] {
        if let Some((left, right)) = term.split_once(operator) {
            let equal = operand(left, context) == operand(right, context);
            return equal == (operator == "==");
        }
    }
    operand(term, context).is_some_and(|value| !value.is_empty())
}

fn operand(token: &str, context: &PipelineContext) -> Option<String> {
    let token = token.trim();
    if let Some(name) = token.strip_prefix('$') {
        return context.variable(name.trim_matches(|c| c == '{' || c == '}'));
    }
    if token == "null" {
        return None;
    }
    let unquoted = token
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| token.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')));
    Some(unquoted.unwrap_or(token).to_string())
}

/// `/pattern/` or `/pattern/i` against a value; an unreadable pattern matches nothing.
fn regex_matches(pattern: &str, value: &str) -> bool {
    let Some(body) = pattern.strip_prefix('/') else {
        return false;
    };
    let (body, flags) = match body.rsplit_once('/') {
        Some((body, flags)) => (body, flags),
        None => return false,
    };
    let source = if flags.contains('i') {
        format!("(?i){body}")
    } else {
        body.to_string()
    };
    regex::Regex::new(&source).is_ok_and(|re| re.is_match(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(kind: PipelineKind, source: &str) -> PipelineContext {
        PipelineContext {
            kind,
            source: source.to_string(),
            ref_name: "release/1.0".to_string(),
            open_merge_requests: None,
            merge_request_iid: (kind == PipelineKind::MergeRequest).then_some(1),
        }
    }

    fn names(ci: &str, context: &PipelineContext) -> Result<Vec<String>, NoPipeline> {
        jobs_for(Some(ci), context).map(|jobs| jobs.into_iter().map(|j| j.name).collect())
    }

    const CI: &str = "stages: [lint, publish]\nlint:\n  stage: lint\n  script: pod lib lint\npublish:\n  stage: publish\n  script: pod repo push\n  only: [tags]\n";

    #[test]
    fn tag_only_jobs_run_in_tag_pipelines_only() {
        assert_eq!(
            names(CI, &context(PipelineKind::Branch, "push")),
            Ok(vec!["lint".to_string()])
        );
        assert_eq!(
            names(CI, &context(PipelineKind::Tag, "push")),
            Ok(vec!["lint".to_string(), "publish".to_string()])
        );
    }

    #[test]
    fn merge_request_pipelines_need_jobs_that_ask_for_them() {
        let mr = context(PipelineKind::MergeRequest, "merge_request_event");
        assert_eq!(names(CI, &mr), Err(NoPipeline::NoJobs));
        assert_eq!(
            NoPipeline::NoJobs.message(),
            "No stages / jobs for this pipeline."
        );
        let ci = "lint:\n  stage: test\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n    - if: $CI_COMMIT_BRANCH\nold:\n  only: [merge_requests]\n";
        assert_eq!(
            names(ci, &mr),
            Ok(vec!["lint".to_string(), "old".to_string()])
        );
        assert_eq!(
            names(ci, &context(PipelineKind::Branch, "push")),
            Ok(vec!["lint".to_string()])
        );
        assert_eq!(
            names(ci, &context(PipelineKind::Tag, "push")),
            Err(NoPipeline::NoJobs)
        );
    }

    /// GitLab's documented "Switch between branch pipelines and merge request pipelines"
    /// template (doc/ci/yaml/workflow.md).
    const TEMPLATE: &str = "workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n    - if: $CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS\n      when: never\n    - if: $CI_COMMIT_BRANCH\n    - if: $CI_COMMIT_TAG\nlint:\n  script: pod lib lint\n";

    #[test]
    fn the_documented_workflow_template_filters_branch_pipelines_of_open_merge_requests() {
        let mut branch = context(PipelineKind::Branch, "push");
        assert!(
            names(TEMPLATE, &branch).is_ok(),
            "no MR open: branch pipeline"
        );
        branch.open_merge_requests = Some("group/core!1".to_string());
        assert_eq!(names(TEMPLATE, &branch), Err(NoPipeline::FilteredOut));
        branch.source = "api".to_string();
        assert_eq!(names(TEMPLATE, &branch), Err(NoPipeline::FilteredOut));
        assert_eq!(
            NoPipeline::FilteredOut.message(),
            "Pipeline filtered out by workflow rules."
        );
        let mr = context(PipelineKind::MergeRequest, "merge_request_event");
        assert_eq!(names(TEMPLATE, &mr), Ok(vec!["lint".to_string()]));
        assert!(names(TEMPLATE, &context(PipelineKind::Tag, "push")).is_ok());
    }

    #[test]
    fn expressions_compare_match_and_combine() {
        let tag = PipelineContext {
            ref_name: "v1.2.0".to_string(),
            ..context(PipelineKind::Tag, "push")
        };
        assert!(evaluate("$CI_COMMIT_TAG =~ /^v\\d+/", &tag));
        assert!(!evaluate("$CI_COMMIT_TAG !~ /^v\\d+/", &tag));
        assert!(evaluate("$CI_COMMIT_BRANCH == null", &tag));
        assert!(evaluate(
            "$CI_PIPELINE_SOURCE == 'web' || $CI_COMMIT_TAG",
            &tag
        ));
        assert!(!evaluate("$CI_COMMIT_TAG && $CI_COMMIT_BRANCH", &tag));
        assert!(evaluate("$CI_PIPELINE_SOURCE != \"schedule\"", &tag));
    }

    #[test]
    fn no_config_and_no_jobs_are_told_apart() {
        let branch = context(PipelineKind::Branch, "push");
        assert_eq!(jobs_for(None, &branch), Err(NoPipeline::MissingConfig));
        let only_tags = "publish:\n  stage: deploy\n  only: [tags]\n";
        assert_eq!(names(only_tags, &branch), Err(NoPipeline::NoJobs));
    }
}
