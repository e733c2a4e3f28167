//! Reads a Podfile (the Ruby DSL as people write it) without evaluating Ruby.
//!
//! What it understands: `pod` lines (old `:git =>` and new `git:` hash syntax, one or more
//! version requirements, `:branch`/`:tag`/`:commit`/`:path`/`:podspec`), the `target` /
//! `abstract_target` tree with `inherit!`, and the directives that do not change which pods are
//! used (`source`, `platform`, `use_frameworks!`, `project`, `plugin`, `install!`, …).
//!
//! What it does not evaluate (conditionals, `require`, variables, hooks, calls it does not know)
//! is skipped with a [`Warning`] naming the line, and no pod is ever taken from inside it.
//! One exception, because real Podfiles rely on it: a helper method with no parameters whose
//! body holds only `pod` lines and `inherit!` (`def common_pods … end`) is expanded where it is
//! called, and the call site gets a warning that says so.
//!
//! Decisions:
//! - Pods outside any `target` belong to the implicit root target, named `Pods` as CocoaPods
//!   names it ([`ROOT_TARGET`]); every top-level target inherits from it.
//! - One [`PodDependency`] per pod name per target it is declared in. Its `targets` are that
//!   target first, then every descendant that inherits it: a child with `inherit! :search_paths`
//!   or `inherit! :none` does not get its parent's pods (nor do the child's own children).
//!   A pod declared in a parent and again in a child gives two entries.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::ruby::{self, Statement, Tok, Token};
use super::{ManifestError, Warning};

/// The name CocoaPods gives the implicit target that holds pods declared outside any `target`.
pub const ROOT_TARGET: &str = "Pods";

/// Where a pod comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PodSource {
    /// `:git => url`, with at most one of `:branch`, `:tag`, `:commit` (none: default branch).
    Git {
        url: String,
        branch: Option<String>,
        tag: Option<String>,
        commit: Option<String>,
    },
    /// `:path => '../A'`: a local pod, never published from here.
    Path { path: String },
    /// `:podspec => url`: a podspec fetched from elsewhere.
    Podspec { url: String },
    /// A version requirement (or none) resolved from a spec repo.
    Registry,
}

/// One `pod` line, as it applies to one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodDependency {
    /// The full name as written (`Firebase/Analytics` for a subspec).
    pub name: String,
    /// Version requirements joined with ", " (`">= 1.0, < 2.0"`), or `None`.
    pub requirement: Option<String>,
    pub source: PodSource,
    /// True for a git dependency on a branch (or on no ref, which follows the default branch):
    /// it must be released. False for a tag, a commit, a path, a podspec or a spec repo.
    pub needs_release: bool,
    /// The target the pod is declared in, then the descendants that inherit it.
    pub targets: Vec<String>,
    /// 1-based line of the `pod` statement.
    #[serde(skip)]
    pub line: usize,
}

impl PodDependency {
    /// The pod this entry belongs to: `Firebase` for `Firebase/Analytics`.
    pub fn root_name(&self) -> &str {
        self.name.split('/').next().unwrap_or(&self.name)
    }
}

/// What a Podfile declares.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Podfile {
    /// Every `pod` read, one entry per pod name per target it is declared in, in file order.
    pub dependencies: Vec<PodDependency>,
    /// Ruby that was skipped (and helper methods that were expanded), sorted by line.
    pub warnings: Vec<Warning>,
}

impl Podfile {
    /// The components this Podfile asks to release: git pods on a branch (or on no ref), one per
    /// root pod (`Interstellar/Core` counts as `Interstellar`), in file order. When the same
    /// root is declared several times the first declaration is returned; the reader has already
    /// warned if the declarations point at different repositories or branches.
    pub fn components_to_release(&self) -> Vec<&PodDependency> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for dependency in self.dependencies.iter().filter(|d| d.needs_release) {
            if !seen.contains(&dependency.root_name()) {
                seen.push(dependency.root_name());
                out.push(dependency);
            }
        }
        out
    }
}

/// Reads a Podfile. Ruby it cannot evaluate becomes a warning naming the line.
///
/// Fails only when the file is not a Podfile Convoy can trust at all: a string that never ends,
/// or `do`/`end` that do not balance (the target of every pod would be a guess).
pub fn parse_podfile(text: &str) -> Result<Podfile, ManifestError> {
    let statements = ruby::statements(ruby::tokenize(text)?);
    let mut reader = Reader::new(text);
    let mut index = 0;
    reader.read_block(&statements, &mut index, 0, None)?;
    Ok(reader.finish())
}

/// Directives that do not change which pods a target uses.
const IGNORED_DIRECTIVES: &[&str] = &[
    "source",
    "platform",
    "project",
    "xcodeproj",
    "workspace",
    "plugin",
    "install!",
    "inhibit_all_warnings!",
    "use_frameworks!",
    "use_modular_headers!",
    "abstract!",
    "ensure_bundler!",
    "generate_bridge_support!",
    "set_arc_compatibility_flag!",
    "link_with",
    "supports_swift_versions",
    "script_phase",
];

/// Hooks: arbitrary Ruby run by CocoaPods, which cannot declare pods.
const HOOKS: &[&str] = &[
    "pre_install",
    "post_install",
    "pre_integrate",
    "post_integrate",
];

/// `pod` options that do not change where a pod comes from.
const IGNORED_POD_OPTIONS: &[&str] = &[
    "configurations",
    "configuration",
    "modular_headers",
    "inhibit_warnings",
    "subspecs",
    "testspecs",
    "appspecs",
    "project_name",
    "source",
];

/// What a target inherits from its parent (`inherit!`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inheritance {
    Complete,
    SearchPaths,
    Nothing,
}

#[derive(Debug)]
struct TargetNode {
    name: String,
    parent: Option<usize>,
    inheritance: Inheritance,
}

#[derive(Debug)]
struct Helper {
    line: usize,
    body: Vec<Statement>,
    /// True when the body is plain `pod`/`inherit!` lines that can be expanded.
    readable: bool,
}

struct Reader<'a> {
    text: &'a str,
    targets: Vec<TargetNode>,
    /// Each pod with the index of the target it is declared in.
    declared: Vec<(usize, PodDependency)>,
    helpers: HashMap<String, Helper>,
    warnings: Vec<Warning>,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Reader {
            text,
            targets: vec![TargetNode {
                name: ROOT_TARGET.to_string(),
                parent: None,
                inheritance: Inheritance::Complete,
            }],
            declared: Vec::new(),
            helpers: HashMap::new(),
            warnings: Vec::new(),
        }
    }

    fn warn(&mut self, line: usize, message: String) {
        self.warnings.push(Warning { line, message });
    }

    /// Reads statements up to the `end` closing the block opened on `opened_at` (or to the end
    /// of the file for the root).
    fn read_block(
        &mut self,
        stmts: &[Statement],
        index: &mut usize,
        target: usize,
        opened_at: Option<usize>,
    ) -> Result<(), ManifestError> {
        while *index < stmts.len() {
            let stmt = &stmts[*index];
            let delta = stmt.depth_delta();
            if stmt.first_ident() == Some("end") && delta == -1 {
                if opened_at.is_none() {
                    return Err(ManifestError {
                        line: stmt.line,
                        message: "`end` without a matching `do`: the targets of this Podfile \
                                  are ambiguous"
                            .to_string(),
                    });
                }
                *index += 1;
                return Ok(());
            }
            if delta < 0 {
                return Err(ManifestError {
                    line: stmt.line,
                    message: "this line closes more `do`/`end` blocks than were opened".to_string(),
                });
            }
            if delta > 0 {
                self.read_opener(stmts, index, target)?;
            } else {
                self.read_statement(stmt, target);
                *index += 1;
            }
        }
        match opened_at {
            Some(line) => Err(ManifestError {
                line,
                message: format!(
                    "target '{}' opened here has no matching `end`",
                    self.targets[target].name
                ),
            }),
            None => Ok(()),
        }
    }

    /// A statement that opens a block: a target, a helper method, a hook or other Ruby.
    fn read_opener(
        &mut self,
        stmts: &[Statement],
        index: &mut usize,
        target: usize,
    ) -> Result<(), ManifestError> {
        let stmt = &stmts[*index];
        let word = stmt.first_ident().unwrap_or("");
        let is_target = word == "target" || word == "abstract_target";
        let name = stmt
            .do_index()
            .filter(|_| is_target && stmt.depth_delta() == 1 && !stmt.has_modifier_condition())
            .and_then(|do_index| target_name(&stmt.tokens[1..do_index]));
        if let Some(name) = name {
            let child = self.add_target(name, target);
            *index += 1;
            return self.read_block(stmts, index, child, Some(stmt.line));
        }
        if word == "def" {
            return self.read_def(stmts, index);
        }
        let after = skip_block(stmts, *index)?;
        let last_line = stmts[after - 1].line;
        let lines = format!("lines {}-{}", stmt.line, last_line);
        let message = if HOOKS.contains(&word) {
            format!("`{word}` hook skipped ({lines}): Convoy does not run Ruby hooks")
        } else if is_target {
            format!(
                "target block skipped ({lines}): its name is not a plain string, so its pods \
                 are not read"
            )
        } else {
            format!(
                "Ruby block skipped ({lines}): Convoy does not evaluate `{}`, so pods inside it \
                 are not read",
                ruby::source_line(self.text, stmt.line)
            )
        };
        self.warn(stmt.line, message);
        *index = after;
        Ok(())
    }

    /// `def name … end`: remembered, and expanded where it is called when its body is plain.
    fn read_def(&mut self, stmts: &[Statement], index: &mut usize) -> Result<(), ManifestError> {
        let stmt = &stmts[*index];
        let after = skip_block(stmts, *index)?;
        let body = &stmts[*index + 1..after - 1];
        let name = stmt.tokens.get(1).and_then(Token::ident).unwrap_or("");
        let params = &stmt.tokens[2.min(stmt.tokens.len())..];
        let no_params = params.is_empty()
            || (params.len() == 2 && params[0].is_punct("(") && params[1].is_punct(")"));
        let readable = no_params && body.iter().all(|s| self.is_plain_dsl(s));
        if !readable {
            self.warn(
                stmt.line,
                format!(
                    "helper method `{name}` (lines {}-{}) is Ruby Convoy does not evaluate: \
                     pods it declares are not read",
                    stmt.line,
                    stmts[after - 1].line
                ),
            );
        }
        let helper = Helper {
            line: stmt.line,
            body: body.to_vec(),
            readable,
        };
        self.helpers.insert(name.to_string(), helper);
        *index = after;
        Ok(())
    }

    /// True for a statement a helper body may hold and still be expanded.
    fn is_plain_dsl(&self, stmt: &Statement) -> bool {
        if stmt.depth_delta() != 0 || stmt.has_modifier_condition() {
            return false;
        }
        match stmt.first_ident() {
            Some("pod") => {
                let parsed = parse_pod(self.text, stmt);
                parsed.dependency.is_some() && parsed.warnings.is_empty()
            }
            Some("inherit!") => true,
            Some(word) => IGNORED_DIRECTIVES.contains(&word),
            None => false,
        }
    }

    /// A statement with no block.
    fn read_statement(&mut self, stmt: &Statement, target: usize) {
        let args = &stmt.tokens[1.min(stmt.tokens.len())..];
        match stmt.first_ident() {
            Some("pod") => self.read_pod(stmt, target),
            Some("target" | "abstract_target") => match target_name(args) {
                Some(name) if !stmt.has_modifier_condition() => {
                    self.add_target(name, target);
                }
                _ => self.warn_unevaluated(stmt),
            },
            Some("inherit!") => self.targets[target].inheritance = inheritance(args),
            Some(word) if IGNORED_DIRECTIVES.contains(&word) => {}
            Some("podspec") => self.warn(
                stmt.line,
                "`podspec` adds the dependencies of a local podspec, which Convoy does not \
                 read from the Podfile"
                    .to_string(),
            ),
            Some(word) if self.helpers.contains_key(word) && is_bare_call(args) => {
                self.call_helper(word.to_string(), stmt.line, target);
            }
            _ => self.warn_unevaluated(stmt),
        }
    }

    fn warn_unevaluated(&mut self, stmt: &Statement) {
        let code = ruby::snippet(self.text, &stmt.tokens);
        self.warn(
            stmt.line,
            format!("`{code}` is Ruby Convoy does not evaluate; skipped"),
        );
    }

    fn call_helper(&mut self, name: String, line: usize, target: usize) {
        let Some(helper) = self.helpers.get(&name) else {
            return;
        };
        let (def_line, readable, body) = (helper.line, helper.readable, helper.body.clone());
        if !readable {
            self.warn(
                line,
                format!(
                    "call to helper method `{name}` skipped: its body (line {def_line}) is Ruby \
                     Convoy does not evaluate, so pods it declares are missing"
                ),
            );
            return;
        }
        self.warn(
            line,
            format!(
                "helper method `{name}` (line {def_line}) expanded here: its pod lines are read \
                 as if written in target '{}'",
                self.targets[target].name
            ),
        );
        for stmt in &body {
            self.read_statement(stmt, target);
        }
    }

    fn read_pod(&mut self, stmt: &Statement, target: usize) {
        if stmt.has_modifier_condition() {
            self.warn(
                stmt.line,
                format!(
                    "conditional pod skipped: Convoy does not evaluate `{}`",
                    ruby::snippet(self.text, &stmt.tokens)
                ),
            );
            return;
        }
        let parsed = parse_pod(self.text, stmt);
        for message in parsed.warnings {
            self.warn(stmt.line, message);
        }
        if let Some(dependency) = parsed.dependency {
            self.declare(target, dependency);
        }
    }

    /// Records a pod in a target; the same pod declared twice alike (a helper called twice) is
    /// kept once.
    fn declare(&mut self, target: usize, dependency: PodDependency) {
        let same_name = self
            .declared
            .iter()
            .find(|(t, d)| *t == target && d.name == dependency.name);
        if let Some((_, earlier)) = same_name {
            if earlier.requirement == dependency.requirement && earlier.source == dependency.source
            {
                return;
            }
            let message = format!(
                "pod '{}' is declared again in target '{}' with other options (first on line \
                 {}); CocoaPods rejects this",
                dependency.name, self.targets[target].name, earlier.line
            );
            self.warn(dependency.line, message);
        }
        self.declared.push((target, dependency));
    }

    fn add_target(&mut self, name: String, parent: usize) -> usize {
        self.targets.push(TargetNode {
            name,
            parent: Some(parent),
            inheritance: Inheritance::Complete,
        });
        self.targets.len() - 1
    }

    /// The target, then every descendant that inherits its pods, in declaration order.
    fn inheriting_targets(&self, target: usize, out: &mut Vec<String>) {
        out.push(self.targets[target].name.clone());
        for (index, node) in self.targets.iter().enumerate() {
            if node.parent == Some(target) && node.inheritance == Inheritance::Complete {
                self.inheriting_targets(index, out);
            }
        }
    }

    fn finish(mut self) -> Podfile {
        let declared = std::mem::take(&mut self.declared);
        let dependencies: Vec<PodDependency> = declared
            .into_iter()
            .map(|(target, mut dependency)| {
                let mut targets = Vec::new();
                self.inheriting_targets(target, &mut targets);
                dependency.targets = targets;
                dependency
            })
            .collect();
        self.warnings.extend(conflicting_releases(&dependencies));
        self.warnings.sort_by_key(|w| w.line);
        Podfile {
            dependencies,
            warnings: self.warnings,
        }
    }
}

/// A root pod to release that points at two different repositories or branches: Convoy can
/// release only one of them, so the user must hear about the other.
fn conflicting_releases(dependencies: &[PodDependency]) -> Vec<Warning> {
    let releasable: Vec<&PodDependency> = dependencies.iter().filter(|d| d.needs_release).collect();
    let mut warnings = Vec::new();
    for (index, later) in releasable.iter().enumerate() {
        let conflicting = releasable[..index]
            .iter()
            .find(|d| d.root_name() == later.root_name())
            .filter(|first| first.source != later.source);
        if let Some(first) = conflicting {
            warnings.push(Warning {
                line: later.line,
                message: format!(
                    "pod '{}' points at another repository or branch than on line {}; Convoy \
                     releases the one on line {}",
                    later.name, first.line, first.line
                ),
            });
        }
    }
    warnings
}

/// Index just past the `end` that closes the block opened by `stmts[start]`.
fn skip_block(stmts: &[Statement], start: usize) -> Result<usize, ManifestError> {
    let mut depth = 0;
    for (index, stmt) in stmts.iter().enumerate().skip(start) {
        depth += stmt.depth_delta();
        if depth <= 0 {
            return Ok(index + 1);
        }
    }
    Err(ManifestError {
        line: stmts[start].line,
        message: "block opened here has no matching `end`".to_string(),
    })
}

/// A call with no arguments: `common_pods` or `common_pods()`.
fn is_bare_call(args: &[Token]) -> bool {
    args.is_empty() || (args.len() == 2 && args[0].is_punct("(") && args[1].is_punct(")"))
}

/// The name of `target 'X'`, `target "X"`, `target :X` or `target('X')`.
fn target_name(args: &[Token]) -> Option<String> {
    let args = ruby::strip_call_parens(args);
    let first = ruby::split_top_level_commas(args).into_iter().next()?;
    match first {
        [
            Token {
                tok: Tok::Symbol(name),
                ..
            },
        ] => Some(name.clone()),
        _ => plain_string(first),
    }
}

fn inheritance(args: &[Token]) -> Inheritance {
    match args.first().map(|t| &t.tok) {
        Some(Tok::Symbol(mode)) if mode == "search_paths" => Inheritance::SearchPaths,
        Some(Tok::Symbol(mode)) if mode == "none" => Inheritance::Nothing,
        _ => Inheritance::Complete,
    }
}

/// The value of an argument that is exactly one string literal without interpolation.
fn plain_string(tokens: &[Token]) -> Option<String> {
    match tokens {
        [
            Token {
                tok: Tok::Str(s), ..
            },
        ] => s.literal(),
        _ => None,
    }
}

/// What one `pod` statement says, and what could not be read in it.
struct ParsedPod {
    dependency: Option<PodDependency>,
    warnings: Vec<String>,
}

impl ParsedPod {
    fn skipped(message: String) -> Self {
        ParsedPod {
            dependency: None,
            warnings: vec![message],
        }
    }
}

/// Where a pod comes from, as read from its options.
#[derive(Default)]
struct PodOptions {
    git: Option<String>,
    branch: Option<String>,
    tag: Option<String>,
    commit: Option<String>,
    path: Option<String>,
    podspec: Option<String>,
}

/// Reads `pod 'Name', 'req'…, key => value…` (the `pod` word included in `stmt`).
fn parse_pod(text: &str, stmt: &Statement) -> ParsedPod {
    let args = ruby::strip_call_parens(&stmt.tokens[1..]);
    let parts = ruby::split_top_level_commas(args);
    let Some(name) = parts.first().and_then(|first| plain_string(first)) else {
        return ParsedPod::skipped(format!(
            "pod name is not a plain string (`{}`), so this pod is not read",
            ruby::snippet(text, &stmt.tokens)
        ));
    };
    let mut requirements = Vec::new();
    let mut pairs = Vec::new();
    for part in &parts[1..] {
        if let [
            Token {
                tok: Tok::Str(s), ..
            },
        ] = part
        {
            match s.literal() {
                Some(requirement) => requirements.push(requirement),
                None => {
                    return ParsedPod::skipped(format!(
                        "pod '{name}': version requirement `{}` is not a plain string, so this \
                         pod is not read",
                        ruby::snippet(text, part)
                    ));
                }
            }
            continue;
        }
        let inner = strip_braces(part);
        for piece in ruby::split_top_level_commas(inner) {
            match hash_pair(piece) {
                Some(pair) => pairs.push(pair),
                None => {
                    return ParsedPod::skipped(format!(
                        "pod '{name}': `{}` is Ruby Convoy does not evaluate, so this pod is not \
                         read",
                        ruby::snippet(text, piece)
                    ));
                }
            }
        }
    }
    let mut warnings = Vec::new();
    let mut options = PodOptions::default();
    for (key, value) in pairs {
        let slot = match key.as_str() {
            "git" => &mut options.git,
            "branch" => &mut options.branch,
            "tag" => &mut options.tag,
            "commit" => &mut options.commit,
            "path" => &mut options.path,
            "podspec" => &mut options.podspec,
            key if IGNORED_POD_OPTIONS.contains(&key) => continue,
            "hg" | "svn" | "http" | "head" => {
                return ParsedPod::skipped(format!(
                    "pod '{name}': `:{key}` is not supported by Convoy, so this pod is not read"
                ));
            }
            other => {
                warnings.push(format!("pod '{name}': unknown option `:{other}` ignored"));
                continue;
            }
        };
        match plain_string(value) {
            Some(v) => *slot = Some(v),
            None => {
                return ParsedPod::skipped(format!(
                    "pod '{name}': `:{key}` is not a plain string (`{}`), so Convoy cannot tell \
                     where this pod comes from; not read",
                    ruby::snippet(text, value)
                ));
            }
        }
    }
    let source = match pod_source(&name, options, &mut warnings) {
        Ok(source) => source,
        Err(message) => return ParsedPod::skipped(message),
    };
    if !requirements.is_empty() && source != PodSource::Registry {
        warnings.push(format!(
            "pod '{name}': CocoaPods rejects a version requirement on a pod with an external \
             source"
        ));
    }
    let needs_release = matches!(
        &source,
        PodSource::Git {
            tag: None,
            commit: None,
            ..
        }
    );
    let requirement = (!requirements.is_empty()).then(|| requirements.join(", "));
    ParsedPod {
        dependency: Some(PodDependency {
            name,
            requirement,
            source,
            needs_release,
            targets: Vec::new(),
            line: stmt.line,
        }),
        warnings,
    }
}

fn pod_source(
    name: &str,
    options: PodOptions,
    warnings: &mut Vec<String>,
) -> Result<PodSource, String> {
    let externals = [&options.git, &options.path, &options.podspec]
        .iter()
        .filter(|o| o.is_some())
        .count();
    if externals > 1 {
        return Err(format!(
            "pod '{name}' has more than one of `:git`, `:path` and `:podspec`, so it is not read"
        ));
    }
    if let Some(url) = options.git {
        return Ok(PodSource::Git {
            url,
            branch: options.branch,
            tag: options.tag,
            commit: options.commit,
        });
    }
    if options.branch.is_some() || options.tag.is_some() || options.commit.is_some() {
        warnings.push(format!(
            "pod '{name}': `:branch`, `:tag` and `:commit` mean nothing without `:git`; ignored"
        ));
    }
    Ok(match (options.path, options.podspec) {
        (Some(path), _) => PodSource::Path { path },
        (_, Some(url)) => PodSource::Podspec { url },
        _ => PodSource::Registry,
    })
}

/// `{ :git => 'u' }` → `:git => 'u'`.
fn strip_braces(tokens: &[Token]) -> &[Token] {
    let n = tokens.len();
    if n >= 2 && tokens[0].is_punct("{") && tokens[n - 1].is_punct("}") {
        &tokens[1..n - 1]
    } else {
        tokens
    }
}

/// `:key => value`, `'key' => value` or `key: value`.
fn hash_pair(tokens: &[Token]) -> Option<(String, &[Token])> {
    match tokens {
        [
            Token {
                tok: Tok::Label(key),
                ..
            },
            value @ ..,
        ] if !value.is_empty() => Some((key.clone(), value)),
        [key, arrow, value @ ..] if arrow.is_punct("=>") && !value.is_empty() => match &key.tok {
            Tok::Symbol(k) => Some((k.clone(), value)),
            Tok::Str(s) => s.literal().map(|k| (k, value)),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Podfile {
        parse_podfile(text).unwrap()
    }

    fn only(text: &str) -> PodDependency {
        let podfile = parse(text);
        assert_eq!(podfile.dependencies.len(), 1, "{podfile:?}");
        podfile.dependencies[0].clone()
    }

    fn names(podfile: &Podfile) -> Vec<&str> {
        podfile
            .dependencies
            .iter()
            .map(|d| d.name.as_str())
            .collect()
    }

    fn lines(podfile: &Podfile) -> Vec<usize> {
        podfile.warnings.iter().map(|w| w.line).collect()
    }

    #[test]
    fn old_and_new_hash_syntax_read_the_same_git_branch() {
        let old = only("pod 'A', :git => 'https://x/a.git', :branch => 'release/0.1.0'\n");
        let new = only("pod \"A\", git: \"https://x/a.git\", branch: \"release/0.1.0\"\n");
        assert_eq!(old.source, new.source);
        assert_eq!(
            old.source,
            PodSource::Git {
                url: "https://x/a.git".into(),
                branch: Some("release/0.1.0".into()),
                tag: None,
                commit: None
            }
        );
        assert!(old.needs_release && new.needs_release);
        assert_eq!(old.targets, vec![ROOT_TARGET.to_string()]);
        assert_eq!(old.line, 1);
    }

    #[test]
    fn only_a_branch_or_no_ref_on_git_needs_release() {
        let cases = [
            ("pod 'A', :git => 'u', :branch => 'b'", true),
            ("pod 'A', :git => 'u'", true),
            ("pod 'A', :git => 'u', :tag => '1.0.0'", false),
            ("pod 'A', :git => 'u', :commit => 'abc123'", false),
            ("pod 'A', :path => '../A'", false),
            ("pod 'A', :podspec => 'https://x/A.podspec'", false),
            ("pod 'A', '~> 1.0'", false),
            ("pod 'A'", false),
        ];
        for (line, expected) in cases {
            assert_eq!(only(line).needs_release, expected, "{line}");
        }
    }

    #[test]
    fn path_and_podspec_sources_keep_their_value() {
        assert_eq!(
            only("pod 'A', path: '../A'").source,
            PodSource::Path {
                path: "../A".into()
            }
        );
        assert_eq!(
            only("pod 'A', :podspec => 'https://x/A.podspec'").source,
            PodSource::Podspec {
                url: "https://x/A.podspec".into()
            }
        );
    }

    #[test]
    fn several_requirements_are_joined_with_a_comma() {
        assert_eq!(
            only("pod 'A', '>= 1.0', '< 2.0'").requirement.as_deref(),
            Some(">= 1.0, < 2.0")
        );
        assert_eq!(
            only("pod 'A', '= 0.1.0'").requirement.as_deref(),
            Some("= 0.1.0")
        );
        assert_eq!(only("pod 'A', '1.2'").requirement.as_deref(), Some("1.2"));
        assert_eq!(
            only("pod('A', '~> 1.2')").requirement.as_deref(),
            Some("~> 1.2")
        );
    }

    #[test]
    fn options_that_do_not_change_the_source_are_ignored_without_warning() {
        let podfile = parse(
            "pod 'A', '~> 2.0', :configurations => ['Debug']\n\
             pod 'B', '2.7.0', subspecs: %w[NSURLSession NSURLConnection]\n\
             pod 'C', :subspecs => ['X', 'Y'], :modular_headers => true, :inhibit_warnings => true\n\
             pod 'D', :git => 'u', :branch => 'b', :configuration => 'Release'\n",
        );
        assert_eq!(names(&podfile), vec!["A", "B", "C", "D"]);
        assert_eq!(
            podfile.dependencies[0].requirement.as_deref(),
            Some("~> 2.0")
        );
        assert_eq!(
            podfile.dependencies[1].requirement.as_deref(),
            Some("2.7.0")
        );
        assert_eq!(podfile.dependencies[2].source, PodSource::Registry);
        assert!(podfile.dependencies[3].needs_release);
        assert_eq!(podfile.warnings, vec![]);
    }

    #[test]
    fn a_subspec_keeps_its_full_name_and_belongs_to_its_root_pod() {
        let pod = only("pod 'Firebase/Analytics'");
        assert_eq!(pod.name, "Firebase/Analytics");
        assert_eq!(pod.root_name(), "Firebase");
    }

    #[test]
    fn a_pod_statement_continued_over_several_lines_is_one_pod() {
        let podfile = parse(
            "target 'App' do\n  pod 'A',\n    :git => 'https://x/a.git',\n    :branch => 'dev'\n  pod 'B'\nend\n",
        );
        assert_eq!(names(&podfile), vec!["A", "B"]);
        assert_eq!(podfile.dependencies[0].line, 2);
        assert!(podfile.dependencies[0].needs_release);
        assert_eq!(podfile.dependencies[1].line, 5);
    }

    #[test]
    fn a_new_syntax_pod_split_over_lines_keeps_its_options() {
        let pod = only("pod 'A',\n    git: 'https://x/a.git',\n    branch: 'dev'\n");
        assert_eq!(
            pod.source,
            PodSource::Git {
                url: "https://x/a.git".into(),
                branch: Some("dev".into()),
                tag: None,
                commit: None
            }
        );
    }

    #[test]
    fn comments_with_quotes_and_emoji_are_not_read() {
        let podfile = parse(
            "# pod 'Commented'\n\
             pod 'A' # it's 'B' 🎉\n\
             pod 'C', '1.0' # pod 'D'\n",
        );
        assert_eq!(names(&podfile), vec!["A", "C"]);
        assert_eq!(podfile.warnings, vec![]);
    }

    #[test]
    fn directives_that_do_not_declare_pods_are_understood_silently() {
        let podfile = parse(
            "source 'https://cdn.cocoapods.org/'\n\
             platform :ios, '14.0'\n\
             platform :ios\n\
             platform:ios, '8.0'\n\
             project 'App.xcodeproj'\n\
             workspace 'App'\n\
             plugin 'cocoapods-patch'\n\
             install! 'cocoapods', :deterministic_uuids => false\n\
             inhibit_all_warnings!\n\
             use_frameworks! :linkage => :static\n\
             use_modular_headers!\n\
             target 'App' do\n  inherit! :complete\n  pod 'A'\nend\n",
        );
        assert_eq!(names(&podfile), vec!["A"]);
        assert_eq!(podfile.warnings, vec![]);
    }

    #[test]
    fn root_pods_go_to_the_implicit_pods_target_and_to_every_inheriting_target() {
        let podfile = parse(
            "pod 'Root'\n\
             target 'App' do\n  pod 'A'\n  target 'AppTests' do\n    inherit! :search_paths\n  end\nend\n\
             target 'Other' do\n  inherit! :none\nend\n\
             target 'Widget'\n",
        );
        let root = &podfile.dependencies[0];
        assert_eq!(root.targets, vec!["Pods", "App", "Widget"]);
        assert_eq!(podfile.dependencies[1].targets, vec!["App"]);
    }

    #[test]
    fn nested_targets_inherit_unless_they_say_otherwise() {
        let podfile = parse(
            "abstract_target \"Shared (All)\" do\n  pod 'A'\n  target 'iOS App' do\n    target 'iOS Tests' do\n      pod 'T'\n    end\n  end\n  target 'Mac' do\n    inherit! :search_paths\n  end\nend\n",
        );
        assert_eq!(
            podfile.dependencies[0].targets,
            vec!["Shared (All)", "iOS App", "iOS Tests"]
        );
        assert_eq!(podfile.dependencies[1].targets, vec!["iOS Tests"]);
    }

    #[test]
    fn a_pod_declared_in_two_targets_gives_one_entry_per_target() {
        let podfile =
            parse("target 'A' do\n  pod 'X', '1.0'\nend\ntarget 'B' do\n  pod 'X', '1.0'\nend\n");
        assert_eq!(podfile.dependencies.len(), 2);
        assert_eq!(podfile.dependencies[0].targets, vec!["A"]);
        assert_eq!(podfile.dependencies[1].targets, vec!["B"]);
    }

    #[test]
    fn the_same_pod_twice_in_one_target_with_other_options_is_kept_and_warned() {
        let podfile = parse("pod 'X', '1.0'\npod 'X', '2.0'\npod 'Y'\npod 'Y'\n");
        assert_eq!(names(&podfile), vec!["X", "X", "Y"]);
        assert_eq!(
            podfile.warnings,
            vec![Warning {
                line: 2,
                message: "pod 'X' is declared again in target 'Pods' with other options (first \
                          on line 1); CocoaPods rejects this"
                    .into()
            }]
        );
    }

    #[test]
    fn a_conditional_block_is_skipped_with_a_warning_and_its_pods_are_not_read() {
        let podfile = parse(
            "target 'App' do\n  if ENV['CI']\n    pod 'OnlyOnCI'\n  else\n    pod 'Local'\n  end\n  pod 'A'\nend\n",
        );
        assert_eq!(names(&podfile), vec!["A"]);
        assert_eq!(
            podfile.warnings,
            vec![Warning {
                line: 2,
                message: "Ruby block skipped (lines 2-6): Convoy does not evaluate \
                          `if ENV['CI']`, so pods inside it are not read"
                    .into()
            }]
        );
    }

    #[test]
    fn a_pod_with_a_modifier_condition_is_not_read() {
        let podfile = parse("pod 'A'\npod 'Debug', '1.0' if ENV['DEBUG']\n");
        assert_eq!(names(&podfile), vec!["A"]);
        assert_eq!(
            podfile.warnings,
            vec![Warning {
                line: 2,
                message: "conditional pod skipped: Convoy does not evaluate \
                          `pod 'Debug', '1.0' if ENV['DEBUG']`"
                    .into()
            }]
        );
    }

    #[test]
    fn hooks_with_nested_blocks_braces_and_backticks_hide_nothing_after_them() {
        let podfile = parse(
            "post_install do |installer|\n\
             \x20 `sed -i '' 's/end/do/' file`\n\
             \x20 installer.pods_project.targets.each do |t|\n\
             \x20   t.build_configurations.each { |c| c.build_settings['X'] = \"#{c.name} }\" }\n\
             \x20   pod 'Inside'\n\
             \x20 end\n\
             end\n\
             pod 'After'\n",
        );
        assert_eq!(names(&podfile), vec!["After"]);
        assert_eq!(
            podfile.warnings,
            vec![Warning {
                line: 1,
                message: "`post_install` hook skipped (lines 1-7): Convoy does not run Ruby hooks"
                    .into()
            }]
        );
    }

    #[test]
    fn a_heredoc_inside_a_hook_does_not_end_the_hook_early() {
        let podfile = parse(
            "pre_install do |i|\n  File.write('x', <<~EOS)\n    end\n    pod 'Fake'\n  EOS\nend\npod 'Real'\n",
        );
        assert_eq!(names(&podfile), vec!["Real"]);
        assert_eq!(lines(&podfile), vec![1]);
    }

    #[test]
    fn globals_requires_hashes_and_unknown_calls_are_warned_and_never_become_pods() {
        let podfile = parse(
            "require 'json'\n\
             $version = '~> 6.4'\n\
             versions = { 'Flipper' => '0.189.0' }\n\
             use_react_native!(:path => config[:reactNativePath])\n\
             pod 'A'\n",
        );
        assert_eq!(names(&podfile), vec!["A"]);
        assert_eq!(lines(&podfile), vec![1, 2, 3, 4]);
        assert_eq!(
            podfile.warnings[1].message,
            "`$version = '~> 6.4'` is Ruby Convoy does not evaluate; skipped"
        );
    }

    #[test]
    fn a_helper_with_parameters_is_not_expanded_and_its_calls_are_warned() {
        let podfile = parse(
            "def rx(version)\n  pod 'RxSwift', version\nend\ntarget 'App' do\n  rx '6.0'\nend\n",
        );
        assert_eq!(podfile.dependencies, vec![]);
        assert_eq!(lines(&podfile), vec![1, 5]);
        assert_eq!(
            podfile.warnings[0].message,
            "helper method `rx` (lines 1-3) is Ruby Convoy does not evaluate: pods it declares \
             are not read"
        );
        assert_eq!(
            podfile.warnings[1].message,
            "`rx '6.0'` is Ruby Convoy does not evaluate; skipped"
        );
    }

    #[test]
    fn a_helper_with_ruby_in_its_body_is_not_expanded_where_called() {
        let podfile = parse(
            "def shared\n  pod 'A'\n  pod 'B' if ENV['B']\nend\ntarget 'App' do\n  shared\nend\n",
        );
        assert_eq!(podfile.dependencies, vec![]);
        assert_eq!(
            podfile.warnings[1],
            Warning {
                line: 6,
                message: "call to helper method `shared` skipped: its body (line 1) is Ruby \
                          Convoy does not evaluate, so pods it declares are missing"
                    .into()
            }
        );
    }

    #[test]
    fn a_helper_that_is_never_called_declares_nothing() {
        let podfile = parse("def unused\n  pod 'A'\nend\ntarget 'App' do\nend\n");
        assert_eq!(podfile.dependencies, vec![]);
        assert_eq!(podfile.warnings, vec![]);
    }

    #[test]
    fn a_non_literal_branch_skips_the_pod_with_a_warning() {
        let podfile = parse("pod 'A', :git => 'u', :branch => \"release/#{v}\"\n");
        assert_eq!(podfile.dependencies, vec![]);
        assert_eq!(
            podfile.warnings[0].message,
            "pod 'A': `:branch` is not a plain string (`\"release/#{v}\"`), so Convoy cannot \
             tell where this pod comes from; not read"
        );
    }

    #[test]
    fn a_variable_requirement_skips_the_pod_with_a_warning() {
        let podfile = parse("pod 'A', $version\n");
        assert_eq!(podfile.dependencies, vec![]);
        assert_eq!(
            podfile.warnings[0].message,
            "pod 'A': `$version` is Ruby Convoy does not evaluate, so this pod is not read"
        );
    }

    #[test]
    fn unknown_options_and_unsupported_sources_are_warned() {
        let podfile = parse("pod 'A', :git => 'u', :brnach => 'dev'\npod 'B', :svn => 'u'\n");
        assert_eq!(names(&podfile), vec!["A"]);
        assert_eq!(
            podfile.warnings,
            vec![
                Warning {
                    line: 1,
                    message: "pod 'A': unknown option `:brnach` ignored".into()
                },
                Warning {
                    line: 2,
                    message: "pod 'B': `:svn` is not supported by Convoy, so this pod is not read"
                        .into()
                }
            ]
        );
    }

    #[test]
    fn a_podspec_directive_is_warned_because_its_dependencies_are_elsewhere() {
        let podfile = parse("target 'App' do\n  podspec :path => 'A.podspec'\nend\n");
        assert_eq!(lines(&podfile), vec![2]);
    }

    #[test]
    fn an_end_without_a_do_is_an_error_because_targets_would_be_a_guess() {
        let err = parse_podfile("target 'A' do\n  pod 'X'\nend\nend\n").unwrap_err();
        assert_eq!(err.line, 4);
        assert_eq!(
            err.message,
            "`end` without a matching `do`: the targets of this Podfile are ambiguous"
        );
    }

    #[test]
    fn a_target_without_its_end_is_an_error_naming_the_target() {
        let err = parse_podfile("target 'A' do\n  pod 'X'\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert_eq!(err.message, "target 'A' opened here has no matching `end`");
    }

    #[test]
    fn components_to_release_lists_each_root_pod_once_in_file_order() {
        let podfile = parse(
            "target 'App' do\n  pod 'B/Core', :git => 'u/b', :branch => 'release/1.0.0'\n  \
             pod 'A', :git => 'u/a'\n  pod 'C', :git => 'u/c', :tag => '1.0'\n  \
             pod 'B/UI', :git => 'u/b', :branch => 'release/1.0.0'\nend\n\
             target 'Tests' do\n  pod 'A', :git => 'u/a'\nend\n",
        );
        let names: Vec<&str> = podfile
            .components_to_release()
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(names, vec!["B/Core", "A"]);
        assert_eq!(podfile.warnings, vec![]);
    }

    #[test]
    fn one_pod_on_two_branches_is_warned_because_only_one_can_be_released() {
        let podfile = parse(
            "target 'App' do\n  pod 'A', :git => 'u', :branch => 'release/1.0'\nend\n\
             target 'Tests' do\n  pod 'A', :git => 'u', :branch => 'develop'\nend\n",
        );
        assert_eq!(podfile.components_to_release()[0].line, 2);
        assert_eq!(
            podfile.warnings,
            vec![Warning {
                line: 5,
                message: "pod 'A' points at another repository or branch than on line 2; \
                          Convoy releases the one on line 2"
                    .into()
            }]
        );
    }

    #[test]
    fn an_empty_podfile_declares_nothing() {
        assert_eq!(parse(""), Podfile::default());
    }

    #[test]
    fn crlf_line_endings_read_like_lf() {
        let podfile = parse("target 'App' do\r\n  pod 'A', '1.0' # c\r\nend\r\n");
        assert_eq!(podfile.dependencies[0].requirement.as_deref(), Some("1.0"));
        assert_eq!(podfile.dependencies[0].targets, vec!["App"]);
    }
}
