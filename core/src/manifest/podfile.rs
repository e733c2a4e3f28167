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

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::ruby::{self, Statement, Tok, Token};
use super::{MAX_NESTING, MAX_POD_ENTRIES, ManifestError, Warning};

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
    /// The conditions the declaration sits under, as written with their lines
    /// ("`if ENV['CI']` (line 4)"), joined with " and "; absent when it always applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
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
    /// root pod (`Interstellar/Core` counts as `Interstellar`), in file order. For each root the
    /// first declaration outside any condition is returned; the reader has already warned if
    /// the declarations point at different repositories or branches.
    ///
    /// Fails with a sentence when a pod to release is declared only under conditions Convoy
    /// cannot evaluate (`if ENV['CI']`): releasing it, or not, would be a guess.
    pub fn components_to_release(&self) -> Result<Vec<&PodDependency>, String> {
        let mut roots: Vec<&str> = Vec::new();
        let mut unconditional: HashMap<&str, &PodDependency> = HashMap::new();
        let mut conditional: HashMap<&str, &PodDependency> = HashMap::new();
        for dependency in self.dependencies.iter().filter(|d| d.needs_release) {
            let root = dependency.root_name();
            if !unconditional.contains_key(root) && !conditional.contains_key(root) {
                roots.push(root);
            }
            let slot = match dependency.condition {
                None => &mut unconditional,
                Some(_) => &mut conditional,
            };
            slot.entry(root).or_insert(dependency);
        }
        let mut out = Vec::new();
        for root in roots {
            if let Some(dependency) = unconditional.get(root) {
                out.push(*dependency);
                continue;
            }
            let dependency = conditional[root];
            return Err(format!(
                "pod '{}' (line {}) needs release but is declared only under {}, which Convoy \
                 cannot evaluate: declare it outside the condition, or pin it to a tag, and retry",
                dependency.name,
                dependency.line,
                dependency.condition.as_deref().unwrap_or("a condition")
            ));
        }
        Ok(out)
    }
}

/// Reads a Podfile. Ruby it cannot evaluate becomes a warning naming the line.
///
/// Fails only when the file is not a Podfile Convoy can trust at all: a string that never ends,
/// `do`/`end` that do not balance (the target of every pod would be a guess), or a file beyond
/// the limits of [`super::MAX_MANIFEST_BYTES`], [`MAX_NESTING`] and [`MAX_POD_ENTRIES`].
/// Time and memory are linear in the file and in the pod entries it expands to.
pub fn parse_podfile(text: &str) -> Result<Podfile, ManifestError> {
    let statements = ruby::read_statements("Podfile", text)?;
    let mut reader = Reader::new(text, &statements);
    let mut index = 0;
    let root = Scope {
        target: 0,
        condition: None,
        depth: 0,
        in_branch: false,
    };
    reader.read_block(&mut index, statements.len(), &root, None)?;
    reader.finish()
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

/// Ruby keywords: a statement starting with one is never a helper method call.
const KEYWORDS: &[&str] = &[
    "if",
    "unless",
    "elsif",
    "else",
    "end",
    "while",
    "until",
    "case",
    "when",
    "begin",
    "rescue",
    "ensure",
    "def",
    "class",
    "module",
    "for",
    "return",
    "raise",
    "require",
    "require_relative",
    "load",
    "puts",
    "print",
    "system",
    "exec",
    "eval",
    "do",
    "then",
    "yield",
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

/// `def name … end`: where its body is, to be read where it is called.
#[derive(Debug, Clone)]
struct Helper {
    line: usize,
    /// Statement indexes of the body (between `def` and its `end`).
    body: std::ops::Range<usize>,
}

/// Where the statements being read apply.
#[derive(Debug, Clone)]
struct Scope {
    target: usize,
    /// The conditions around the statements, as written with their lines
    /// ("`if ENV['CI']` (line 4)"), joined with " and "; `None` outside any condition.
    condition: Option<String>,
    /// Blocks and helper calls around the statements, at most [`MAX_NESTING`].
    depth: usize,
    /// Inside a branch of `if`/`unless`: `elsif` and `else` end the branch.
    in_branch: bool,
}

/// Why [`Reader::read_block`] stopped.
enum BlockEnd {
    /// At the block's `end` (consumed) or at the end of the statements.
    End,
    /// At an `elsif` or `else` of the conditional being read (not consumed).
    Branch,
}

/// A block being read, for the error when its `end` is missing.
struct Opened {
    line: usize,
    /// "target 'App'" or "`if ENV['CI']`".
    what: String,
}

struct Reader<'a> {
    text: &'a str,
    stmts: &'a [Statement],
    targets: Vec<TargetNode>,
    /// Each pod with the index of the target it is declared in.
    declared: Vec<(usize, PodDependency)>,
    /// The first declaration of each (target, pod name, condition), by index in `declared`.
    first_declared: HashMap<(usize, String, Option<String>), usize>,
    helpers: HashMap<String, Helper>,
    /// Whether a helper (name, `def` line) can be expanded, once worked out.
    readable: HashMap<(String, usize), bool>,
    /// Helper expansions already read (name, `def` line, target, condition): reading one again
    /// would declare the same pods alike, so it is skipped and time stays linear.
    expanded: HashSet<(String, usize, usize, Option<String>)>,
    /// The helper methods being expanded, innermost last.
    calls: Vec<String>,
    warnings: Vec<Warning>,
    warned: HashSet<(usize, String)>,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, stmts: &'a [Statement]) -> Self {
        Reader {
            text,
            stmts,
            targets: vec![TargetNode {
                name: ROOT_TARGET.to_string(),
                parent: None,
                inheritance: Inheritance::Complete,
            }],
            declared: Vec::new(),
            first_declared: HashMap::new(),
            helpers: HashMap::new(),
            readable: HashMap::new(),
            expanded: HashSet::new(),
            calls: Vec::new(),
            warnings: Vec::new(),
            warned: HashSet::new(),
        }
    }

    /// Records a warning once: a helper expanded in five targets warns about its body once.
    fn warn(&mut self, line: usize, message: String) {
        if self.warned.insert((line, message.clone())) {
            self.warnings.push(Warning { line, message });
        }
    }

    /// The scope one block or helper call deeper, or the error that names the line when that
    /// is deeper than [`MAX_NESTING`] (only helper calls can get there: the lexer already
    /// refused files whose blocks nest deeper).
    fn deeper(&self, scope: &Scope, line: usize) -> Result<Scope, ManifestError> {
        if scope.depth >= MAX_NESTING {
            return Err(ManifestError {
                line,
                message: format!(
                    "blocks and helper method calls nest deeper than {MAX_NESTING} levels here: \
                     Convoy reads at most {MAX_NESTING}; call fewer helpers from helpers"
                ),
            });
        }
        Ok(Scope {
            depth: scope.depth + 1,
            in_branch: false,
            ..scope.clone()
        })
    }

    /// Reads statements from `index` up to the `end` closing `opened` (or up to `end` for the
    /// root and helper bodies), or up to an `elsif`/`else` when the scope is a branch.
    fn read_block(
        &mut self,
        index: &mut usize,
        end: usize,
        scope: &Scope,
        opened: Option<&Opened>,
    ) -> Result<BlockEnd, ManifestError> {
        let stmts = self.stmts;
        while *index < end {
            let stmt = &stmts[*index];
            let delta = stmt.depth_delta();
            if stmt.first_ident() == Some("end") && delta == -1 {
                if opened.is_none() {
                    return Err(ManifestError {
                        line: stmt.line,
                        message: "`end` without a matching `do`: the targets of this Podfile \
                                  are ambiguous"
                            .to_string(),
                    });
                }
                *index += 1;
                return Ok(BlockEnd::End);
            }
            if delta < 0 {
                return Err(ManifestError {
                    line: stmt.line,
                    message: "this line closes more `do`/`end` blocks than were opened".to_string(),
                });
            }
            let separator = matches!(stmt.first_ident(), Some("elsif" | "else"));
            if scope.in_branch && delta == 0 && separator {
                return Ok(BlockEnd::Branch);
            }
            if delta > 0 {
                self.read_opener(index, end, scope)?;
            } else {
                self.read_statement(stmt, scope)?;
                *index += 1;
            }
        }
        match opened {
            Some(opened) => Err(ManifestError {
                line: opened.line,
                message: format!("{} opened here has no matching `end`", opened.what),
            }),
            None => Ok(BlockEnd::End),
        }
    }

    /// A statement that opens a block: a target, a conditional, a helper method, a hook or
    /// other Ruby.
    fn read_opener(
        &mut self,
        index: &mut usize,
        end: usize,
        scope: &Scope,
    ) -> Result<(), ManifestError> {
        let stmts = self.stmts;
        let stmt = &stmts[*index];
        let word = stmt.first_ident().unwrap_or("");
        if let Some(name) = block_target_name(stmt) {
            let inner = Scope {
                target: self.add_target(name.clone(), scope.target),
                ..self.deeper(scope, stmt.line)?
            };
            let opened = Opened {
                line: stmt.line,
                what: format!("target '{name}'"),
            };
            *index += 1;
            self.read_block(index, end, &inner, Some(&opened))?;
            return Ok(());
        }
        if is_conditional_opener(stmt) {
            return self.read_conditional(index, end, scope);
        }
        if word == "def" {
            return self.read_def(index, end);
        }
        let after = skip_block(&stmts[..end], *index)?;
        let last_line = stmts[after - 1].line;
        let lines = format!("lines {}-{}", stmt.line, last_line);
        let message = if HOOKS.contains(&word) {
            format!("`{word}` hook skipped ({lines}): Convoy does not run Ruby hooks")
        } else if word == "target" || word == "abstract_target" {
            format!(
                "target block skipped ({lines}): its name is not a plain string, so its pods \
                 are not read"
            )
        } else {
            format!(
                "Ruby block skipped ({lines}): Convoy does not evaluate `{}`, so pods inside it \
                 are not read",
                ruby::source_line_at(self.text, stmt.tokens[0].span.0)
            )
        };
        self.warn(stmt.line, message);
        *index = after;
        Ok(())
    }

    /// `if`/`unless` … `elsif` … `else` … `end`: every branch is read, and what it declares
    /// carries the branch's condition, because Convoy cannot tell which branch CocoaPods runs.
    fn read_conditional(
        &mut self,
        index: &mut usize,
        end: usize,
        scope: &Scope,
    ) -> Result<(), ManifestError> {
        let stmts = self.stmts;
        let header = &stmts[*index];
        let code = condition_code(self.text, header);
        let opened = Opened {
            line: header.line,
            what: format!("`{code}`"),
        };
        let mut branch = format!("`{code}` (line {})", header.line);
        *index += 1;
        loop {
            let inner = Scope {
                condition: Some(join_conditions(scope.condition.as_deref(), &branch)),
                in_branch: true,
                ..self.deeper(scope, header.line)?
            };
            match self.read_block(index, end, &inner, Some(&opened))? {
                BlockEnd::End => return Ok(()),
                BlockEnd::Branch => {
                    let separator = &stmts[*index];
                    branch = if separator.first_ident() == Some("else") {
                        format!("`else` of `{code}` (line {})", separator.line)
                    } else {
                        let elsif = condition_code(self.text, separator);
                        format!("`{elsif}` (line {})", separator.line)
                    };
                    *index += 1;
                }
            }
        }
    }

    /// `def name … end`: remembered, and read where it is called. A body that is not plain
    /// Podfile DSL is warned about here, once.
    fn read_def(&mut self, index: &mut usize, end: usize) -> Result<(), ManifestError> {
        let stmts = self.stmts;
        let stmt = &stmts[*index];
        let after = skip_block(&stmts[..end], *index)?;
        let name = stmt.tokens.get(1).and_then(Token::ident).unwrap_or("");
        let body = *index + 1..after - 1;
        let plain = stmts[body.clone()]
            .iter()
            .all(|s| self.is_plain_dsl(s, None));
        if !plain {
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
            body,
        };
        self.helpers.insert(name.to_string(), helper);
        *index = after;
        Ok(())
    }

    /// True for a statement a helper body may hold and still be expanded: pods, `inherit!`,
    /// directives, targets with plain names, conditionals, and calls of helpers. With
    /// `depth`, a helper call must name a helper that is itself expandable; without, any call
    /// passes (the helper may be defined further down, before the call that matters).
    fn is_plain_dsl(&mut self, stmt: &Statement, depth: Option<usize>) -> bool {
        let delta = stmt.depth_delta();
        if delta > 0 {
            return delta == 1
                && (block_target_name(stmt).is_some() || is_conditional_opener(stmt));
        }
        if delta < 0 {
            return delta == -1 && stmt.first_ident() == Some("end");
        }
        let head = without_modifier(stmt);
        match head.first_ident() {
            Some("pod") => {
                let parsed = parse_pod(self.text, &head);
                parsed.dependency.is_some() && parsed.warnings.is_empty()
            }
            Some("inherit!" | "elsif" | "else") => true,
            Some("target" | "abstract_target") => target_name(&head.tokens[1..]).is_some(),
            Some(word) if IGNORED_DIRECTIVES.contains(&word) => true,
            Some(word) if is_call(&head) => match depth {
                None => true,
                Some(depth) => self.helper_readable(word, depth + 1),
            },
            _ => false,
        }
    }

    /// Whether the helper `name`, as defined now, can be expanded. Worked out once per helper;
    /// helpers called more than [`MAX_NESTING`] helpers deep are not.
    fn helper_readable(&mut self, name: &str, depth: usize) -> bool {
        let Some(helper) = self.helpers.get(name).cloned() else {
            return false;
        };
        let key = (name.to_string(), helper.line);
        if let Some(known) = self.readable.get(&key) {
            return *known;
        }
        if depth > MAX_NESTING {
            return false;
        }
        // A helper that reaches itself again is not expandable (Ruby would loop forever).
        self.readable.insert(key.clone(), false);
        let stmts = self.stmts;
        let readable = stmts[helper.body]
            .iter()
            .all(|s| self.is_plain_dsl(s, Some(depth)));
        self.readable.insert(key, readable);
        readable
    }

    /// A statement with no block.
    fn read_statement(&mut self, stmt: &Statement, scope: &Scope) -> Result<(), ManifestError> {
        if let Some(at) = stmt.modifier_index() {
            return self.read_modified(stmt, at, scope);
        }
        let args = &stmt.tokens[1.min(stmt.tokens.len())..];
        match stmt.first_ident() {
            Some("pod") => self.read_pod(stmt, scope),
            Some("target" | "abstract_target") => match target_name(args) {
                Some(name) => {
                    self.add_target(name, scope.target);
                }
                None => self.warn_unevaluated(stmt),
            },
            Some("inherit!") => self.targets[scope.target].inheritance = inheritance(args),
            Some(word) if IGNORED_DIRECTIVES.contains(&word) => {}
            Some("podspec") => self.warn(
                stmt.line,
                "`podspec` adds the dependencies of a local podspec, which Convoy does not \
                 read from the Podfile"
                    .to_string(),
            ),
            Some(word) if self.helpers.contains_key(word) && is_call(stmt) => {
                return self.call_helper(word, stmt, scope);
            }
            _ => self.warn_unevaluated(stmt),
        }
        Ok(())
    }

    /// `pod 'A' if cond` (or a helper call with a modifier): read like a one-line conditional.
    fn read_modified(
        &mut self,
        stmt: &Statement,
        at: usize,
        scope: &Scope,
    ) -> Result<(), ManifestError> {
        let head = without_modifier(stmt);
        let word = head.first_ident().unwrap_or("");
        let helper = self.helpers.contains_key(word) && is_call(&head);
        if word != "pod" && !helper {
            self.warn_unevaluated(stmt);
            return Ok(());
        }
        let code = ruby::snippet(self.text, &stmt.tokens[at..]);
        let branch = format!("`{code}` (line {})", stmt.line);
        let inner = Scope {
            condition: Some(join_conditions(scope.condition.as_deref(), &branch)),
            ..scope.clone()
        };
        self.read_statement(&head, &inner)
    }

    fn warn_unevaluated(&mut self, stmt: &Statement) {
        let code = ruby::snippet(self.text, &stmt.tokens);
        self.warn(
            stmt.line,
            format!("`{code}` is Ruby Convoy does not evaluate; skipped"),
        );
    }

    /// Reads a helper's body where it is called, as if written in the calling target.
    fn call_helper(
        &mut self,
        name: &str,
        stmt: &Statement,
        scope: &Scope,
    ) -> Result<(), ManifestError> {
        let Some(helper) = self.helpers.get(name).cloned() else {
            return Ok(());
        };
        let line = stmt.line;
        if self.calls.iter().any(|c| c == name) {
            self.warn(
                line,
                format!("helper method `{name}` calls itself; the repeated call is skipped"),
            );
            return Ok(());
        }
        if !self.helper_readable(name, scope.depth) {
            self.warn(
                line,
                format!(
                    "call to helper method `{name}` skipped: its body (line {}) is Ruby \
                     Convoy does not evaluate, so pods it declares are missing",
                    helper.line
                ),
            );
            return Ok(());
        }
        self.warn(
            line,
            format!(
                "helper method `{name}` (line {}) expanded here: its pod lines are read as if \
                 written in target '{}'",
                helper.line, self.targets[scope.target].name
            ),
        );
        let key = (
            name.to_string(),
            helper.line,
            scope.target,
            scope.condition.clone(),
        );
        if !self.expanded.insert(key) {
            return Ok(());
        }
        let inner = self.deeper(scope, line)?;
        self.calls.push(name.to_string());
        let mut index = helper.body.start;
        self.read_block(&mut index, helper.body.end, &inner, None)?;
        self.calls.pop();
        Ok(())
    }

    fn read_pod(&mut self, stmt: &Statement, scope: &Scope) {
        let parsed = parse_pod(self.text, stmt);
        for message in parsed.warnings {
            self.warn(stmt.line, message);
        }
        let Some(mut dependency) = parsed.dependency else {
            return;
        };
        if let Some(condition) = &scope.condition {
            self.warn(
                stmt.line,
                format!(
                    "pod '{}' is declared only under {condition}: Convoy does not evaluate \
                     conditions, so it reads the pod as if the condition held",
                    dependency.name
                ),
            );
            dependency.condition = Some(condition.clone());
        }
        self.declare(scope.target, dependency);
    }

    /// Records a pod in a target; the same pod declared twice alike (a helper called twice) is
    /// kept once. Declarations in different branches are kept apart: only one of them runs.
    fn declare(&mut self, target: usize, dependency: PodDependency) {
        let key = (
            target,
            dependency.name.clone(),
            dependency.condition.clone(),
        );
        if let Some(&earlier) = self.first_declared.get(&key) {
            let earlier = &self.declared[earlier].1;
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
        } else {
            self.first_declared.insert(key, self.declared.len());
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

    /// For each target, the target then every descendant that inherits its pods, in
    /// declaration order; worked out once per target that declares pods, without recursion.
    fn inheriting_targets(&self) -> HashMap<usize, Vec<String>> {
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); self.targets.len()];
        for (index, node) in self.targets.iter().enumerate() {
            if let Some(parent) = node.parent
                && node.inheritance == Inheritance::Complete
            {
                children[parent].push(index);
            }
        }
        let mut out = HashMap::new();
        for (target, _) in &self.declared {
            out.entry(*target).or_insert_with(|| {
                let mut names = Vec::new();
                let mut stack = vec![*target];
                while let Some(next) = stack.pop() {
                    names.push(self.targets[next].name.clone());
                    stack.extend(children[next].iter().rev());
                }
                names
            });
        }
        out
    }

    fn finish(mut self) -> Result<Podfile, ManifestError> {
        let inheriting = self.inheriting_targets();
        let entries: usize = self
            .declared
            .iter()
            .map(|(target, _)| inheriting[target].len())
            .sum();
        if entries > MAX_POD_ENTRIES {
            return Err(ManifestError {
                line: 1,
                message: format!(
                    "the Podfile expands to {entries} pod entries (each pod times each target \
                     that gets it), more than the {MAX_POD_ENTRIES} Convoy reads: declare \
                     shared pods once in a parent target"
                ),
            });
        }
        let declared = std::mem::take(&mut self.declared);
        let dependencies: Vec<PodDependency> = declared
            .into_iter()
            .map(|(target, mut dependency)| {
                dependency.targets = inheriting[&target].clone();
                dependency
            })
            .collect();
        for warning in conflicting_releases(&dependencies) {
            self.warn(warning.line, warning.message);
        }
        self.warnings.sort_by_key(|w| w.line);
        Ok(Podfile {
            dependencies,
            warnings: self.warnings,
        })
    }
}

/// A root pod to release that points at two different repositories or branches: Convoy can
/// release only one of them, so the user must hear about the other.
fn conflicting_releases(dependencies: &[PodDependency]) -> Vec<Warning> {
    let mut first_by_root: HashMap<&str, &PodDependency> = HashMap::new();
    let mut warnings = Vec::new();
    for later in dependencies.iter().filter(|d| d.needs_release) {
        let first = *first_by_root.entry(later.root_name()).or_insert(later);
        if first.source != later.source {
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

/// The name of `target 'X' do` when it is a plain string and the line opens only that block.
fn block_target_name(stmt: &Statement) -> Option<String> {
    let word = stmt.first_ident()?;
    if !(word == "target" || word == "abstract_target")
        || stmt.depth_delta() != 1
        || stmt.has_modifier_condition()
    {
        return None;
    }
    let do_index = stmt.do_index()?;
    target_name(&stmt.tokens[1..do_index])
}

/// `if cond` / `unless cond` opening a block of its own (not `x = if …`).
fn is_conditional_opener(stmt: &Statement) -> bool {
    matches!(stmt.first_ident(), Some("if" | "unless")) && stmt.depth_delta() == 1
}

/// The condition as written (`if ENV['CI']`), without a trailing `then`.
fn condition_code(text: &str, stmt: &Statement) -> String {
    let mut tokens = stmt.tokens.as_slice();
    if let [rest @ .., last] = tokens
        && last.is_ident("then")
    {
        tokens = rest;
    }
    ruby::snippet(text, tokens)
}

fn join_conditions(outer: Option<&str>, inner: &str) -> String {
    match outer {
        Some(outer) => format!("{outer} and {inner}"),
        None => inner.to_string(),
    }
}

/// The statement without its modifier `if`/`unless` and condition.
fn without_modifier(stmt: &Statement) -> Statement {
    match stmt.modifier_index() {
        Some(at) => Statement {
            tokens: stmt.tokens[..at].to_vec(),
            line: stmt.line,
        },
        None => stmt.clone(),
    }
}

/// A statement that can be a call of a helper method: a name, then nothing, `(…)` or
/// arguments (`shared_pods`, `shared_pods()`, `test_pods 'App'`); not `x = 1`, `a.b`, `A::B`.
fn is_call(stmt: &Statement) -> bool {
    let Some(word) = stmt.first_ident() else {
        return false;
    };
    if KEYWORDS.contains(&word) || word.starts_with(char::is_uppercase) {
        return false;
    }
    match stmt.tokens.get(1).map(|t| &t.tok) {
        None => true,
        Some(Tok::Punct(p)) => p == "(",
        Some(_) => true,
    }
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
            condition: None,
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

    fn conditions(podfile: &Podfile) -> Vec<(&str, Option<&str>)> {
        podfile
            .dependencies
            .iter()
            .map(|d| (d.name.as_str(), d.condition.as_deref()))
            .collect()
    }

    #[test]
    fn every_branch_of_an_if_is_read_and_its_pods_carry_the_condition() {
        let podfile = parse(
            "target 'App' do\n  if ENV['CI']\n    pod 'OnlyOnCI'\n  elsif ENV['BETA']\n    \
             pod 'Beta'\n  else\n    pod 'Local'\n  end\n  pod 'A'\nend\n",
        );
        assert_eq!(
            conditions(&podfile),
            vec![
                ("OnlyOnCI", Some("`if ENV['CI']` (line 2)")),
                ("Beta", Some("`elsif ENV['BETA']` (line 4)")),
                ("Local", Some("`else` of `if ENV['CI']` (line 6)")),
                ("A", None),
            ]
        );
        assert_eq!(podfile.dependencies[0].targets, vec!["App"]);
        assert_eq!(
            podfile.warnings[0],
            Warning {
                line: 3,
                message: "pod 'OnlyOnCI' is declared only under `if ENV['CI']` (line 2): Convoy \
                          does not evaluate conditions, so it reads the pod as if the condition \
                          held"
                    .into()
            }
        );
        assert_eq!(lines(&podfile), vec![3, 5, 7]);
    }

    #[test]
    fn unless_then_and_nested_conditions_are_named_together() {
        let podfile =
            parse("unless ENV['LITE'] then\n  if ENV['CI']\n    pod 'Deep'\n  end\nend\n");
        assert_eq!(
            conditions(&podfile),
            vec![(
                "Deep",
                Some("`unless ENV['LITE']` (line 1) and `if ENV['CI']` (line 2)")
            )]
        );
    }

    #[test]
    fn a_pod_with_a_modifier_condition_is_read_with_its_condition() {
        let podfile = parse("pod 'A'\npod 'Debug', '1.0' if ENV['DEBUG']\n");
        assert_eq!(
            conditions(&podfile),
            vec![("A", None), ("Debug", Some("`if ENV['DEBUG']` (line 2)"))]
        );
        assert_eq!(podfile.dependencies[1].requirement.as_deref(), Some("1.0"));
        assert_eq!(lines(&podfile), vec![2]);
    }

    #[test]
    fn ruby_inside_a_branch_is_warned_like_anywhere_else() {
        let podfile = parse("if ENV['CI']\n  config = use_native_modules!\nend\n");
        assert_eq!(podfile.dependencies, vec![]);
        assert_eq!(
            podfile.warnings,
            vec![Warning {
                line: 2,
                message: "`config = use_native_modules!` is Ruby Convoy does not evaluate; \
                          skipped"
                    .into()
            }]
        );
    }

    #[test]
    fn the_same_pod_in_two_branches_is_kept_in_both_without_a_duplicate_warning() {
        let podfile = parse(
            "if ENV['CI']\n  pod 'A', :git => 'u', :branch => 'ci'\nelse\n  \
             pod 'A', :git => 'u', :branch => 'dev'\nend\n",
        );
        assert_eq!(podfile.dependencies.len(), 2);
        assert!(
            podfile
                .warnings
                .iter()
                .all(|w| !w.message.contains("CocoaPods rejects"))
        );
    }

    #[test]
    fn a_conditional_without_its_end_is_an_error_naming_the_condition() {
        let err = parse_podfile("if ENV['CI']\n  pod 'A'\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert_eq!(
            err.message,
            "`if ENV['CI']` opened here has no matching `end`"
        );
    }

    #[test]
    fn a_pod_to_release_only_under_a_condition_fails_the_choice_of_components() {
        let podfile = parse(
            "target 'App' do\n  if ENV['CI']\n    \
             pod 'Kit', :git => 'https://h/kit.git', :branch => 'release/1.0'\n  end\nend\n",
        );
        assert_eq!(
            podfile.components_to_release().unwrap_err(),
            "pod 'Kit' (line 3) needs release but is declared only under `if ENV['CI']` (line \
             2), which Convoy cannot evaluate: declare it outside the condition, or pin it to a \
             tag, and retry"
        );
    }

    #[test]
    fn a_pod_to_release_declared_also_outside_a_condition_is_released_from_there() {
        let podfile = parse(
            "pod 'Kit', :git => 'u', :branch => 'b' if ENV['CI']\n\
             pod 'Kit', :git => 'u', :branch => 'b'\n\
             pod 'Lib', '1.0' if ENV['CI']\n",
        );
        let chosen = podfile.components_to_release().unwrap();
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].line, 2);
        assert_eq!(chosen[0].condition, None);
    }

    #[test]
    fn a_helper_calling_a_helper_is_expanded_in_each_of_five_targets() {
        let podfile = parse(
            "def base_pods\n  pod 'Base', :git => 'u/base', :branch => 'develop'\nend\n\
             def shared_pods\n  base_pods\n  pod 'Shared', '1.0'\nend\n\
             %w[A B C D E].each { |t| puts t }\n\
             target 'A' do\n  shared_pods\nend\ntarget 'B' do\n  shared_pods\nend\n\
             target 'C' do\n  shared_pods\nend\ntarget 'D' do\n  shared_pods\nend\n\
             target 'E' do\n  shared_pods\nend\n",
        );
        let base: Vec<&str> = podfile
            .dependencies
            .iter()
            .filter(|d| d.name == "Base")
            .map(|d| d.targets[0].as_str())
            .collect();
        assert_eq!(base, vec!["A", "B", "C", "D", "E"]);
        assert_eq!(podfile.dependencies.len(), 10);
        assert_eq!(podfile.dependencies[1].name, "Shared");
        let chosen = podfile.components_to_release().unwrap();
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].name, "Base");
        assert!(
            podfile
                .warnings
                .iter()
                .any(|w| w.line == 5 && w.message.starts_with("helper method `base_pods`"))
        );
    }

    #[test]
    fn a_helper_defined_after_the_helper_that_calls_it_is_still_expanded() {
        let podfile = parse(
            "def outer\n  inner\nend\ndef inner\n  pod 'I'\nend\ntarget 'App' do\n  outer\nend\n",
        );
        assert_eq!(names(&podfile), vec!["I"]);
        assert_eq!(podfile.dependencies[0].targets, vec!["App"]);
    }

    #[test]
    fn a_helper_with_arguments_whose_pods_are_literal_is_expanded() {
        let podfile = parse(
            "def test_pods(platform, extra = nil)\n  inherit! :search_paths\n  pod 'Quick', \
             '~> 7.0'\nend\ntarget 'App' do\n  target 'AppTests' do\n    test_pods :ios, \
             'x'\n  end\n  target 'MacTests' do\n    test_pods(:mac)\n  end\nend\n",
        );
        let targets: Vec<&str> = podfile
            .dependencies
            .iter()
            .map(|d| d.targets[0].as_str())
            .collect();
        assert_eq!(targets, vec!["AppTests", "MacTests"]);
        assert!(lines(&podfile).iter().all(|&l| l == 7 || l == 10));
    }

    #[test]
    fn a_helper_called_under_a_condition_gives_its_pods_that_condition() {
        let podfile = parse("def extras\n  pod 'X'\nend\nextras if ENV['EXTRAS']\n");
        assert_eq!(
            conditions(&podfile),
            vec![("X", Some("`if ENV['EXTRAS']` (line 4)"))]
        );
    }

    #[test]
    fn a_helper_that_calls_itself_is_not_expanded() {
        let podfile = parse("def again\n  pod 'A'\n  again\nend\nagain\n");
        assert_eq!(podfile.dependencies, vec![]);
        assert_eq!(lines(&podfile), vec![5]);
    }

    #[test]
    fn helpers_calling_each_other_twice_thirty_levels_deep_are_read_once_each() {
        // Expanded naively this is 2^30 calls; each expansion is read once per target.
        let mut text = String::new();
        for level in 0..30 {
            text.push_str(&format!(
                "def h{level}\n  h{}\n  h{}\nend\n",
                level + 1,
                level + 1
            ));
        }
        text.push_str("def h30\n  pod 'Leaf'\nend\ntarget 'App' do\n  h0\nend\n");
        let podfile = parse(&text);
        assert_eq!(names(&podfile), vec!["Leaf"]);
    }

    #[test]
    fn a_helper_chain_longer_than_the_nesting_limit_is_not_expanded() {
        let mut text = String::new();
        for level in 0..70 {
            text.push_str(&format!("def h{level}\n  h{}\nend\n", level + 1));
        }
        text.push_str("def h70\n  pod 'Leaf'\nend\nh0\n");
        let podfile = parse(&text);
        // Not expandable at all: the chain is longer than the nesting limit.
        assert_eq!(podfile.dependencies, vec![]);
        assert_eq!(
            podfile.warnings.last().unwrap().message,
            "call to helper method `h0` skipped: its body (line 1) is Ruby Convoy does not \
             evaluate, so pods it declares are missing"
        );
    }

    #[test]
    fn targets_nested_deeper_than_the_limit_are_an_error_naming_the_line() {
        let depth = 20_000;
        let text = format!(
            "{}pod 'X', :git => 'https://g/x/y.git', :branch => 'release/1.0.0'\n{}",
            "target 'A' do\n".repeat(depth),
            "end\n".repeat(depth)
        );
        let err = parse_podfile(&text).unwrap_err();
        assert_eq!(err.line, 65);
        assert_eq!(
            err.to_string(),
            "line 65: the Podfile nests deeper than 64 blocks here (`target 'A' do`): Convoy \
             reads at most 64 levels of `do`/`end`; flatten the nesting"
        );
    }

    #[test]
    fn sixty_four_nested_targets_are_read() {
        let text = format!(
            "{}pod 'X'\n{}",
            "target 'A' do\n".repeat(64),
            "end\n".repeat(64)
        );
        assert_eq!(parse(&text).dependencies[0].targets, vec!["A"]);
    }

    #[test]
    fn a_podfile_larger_than_the_limit_is_refused_before_reading_naming_its_size() {
        let text = "pod 'A'\n".repeat(600_000);
        let err = parse_podfile(&text).unwrap_err();
        assert_eq!(err.line, 1);
        assert_eq!(
            err.message,
            "the Podfile is 4800000 bytes, more than the 4194304 bytes (4 MiB) Convoy reads: \
             check that this is the right file"
        );
    }

    #[test]
    fn a_podfile_that_expands_to_too_many_pod_entries_is_an_error() {
        // 1,001 targets inherit 1,000 root pods: 1,001,000 entries.
        let mut text = String::new();
        for pod in 0..1000 {
            text.push_str(&format!("pod 'P{pod}'\n"));
        }
        for target in 0..1000 {
            text.push_str(&format!("target 'T{target}'\n"));
        }
        let err = parse_podfile(&text).unwrap_err();
        assert_eq!(
            err.message,
            "the Podfile expands to 1001000 pod entries (each pod times each target that gets \
             it), more than the 1000000 Convoy reads: declare shared pods once in a parent target"
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
    fn a_helper_whose_pods_use_its_parameters_is_not_expanded_and_its_calls_are_warned() {
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
            "call to helper method `rx` skipped: its body (line 1) is Ruby Convoy does not \
             evaluate, so pods it declares are missing"
        );
    }

    #[test]
    fn a_helper_with_ruby_in_its_body_is_not_expanded_where_called() {
        let podfile = parse(
            "def shared\n  pod 'A'\n  flavor = ENV['B']\nend\ntarget 'App' do\n  shared\nend\n",
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
            .unwrap()
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
        assert_eq!(podfile.components_to_release().unwrap()[0].line, 2);
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
