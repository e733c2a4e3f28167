//! Reads a `.podspec` (Ruby) or `.podspec.json`, and rewrites only its version literal.
//!
//! Decisions:
//! - Dependencies of the root spec, of every subspec and of platform scopes (`s.ios.dependency`)
//!   are all listed: a component depends on whatever any of its subspecs needs.
//! - `test_spec` and `app_spec` dependencies are left out: they are only installed to test the
//!   pod, so they never order a release.
//! - One entry per distinct (name, requirement), in file order: `Moya/Core` required by three
//!   subspecs is listed once.
//! - `cocoapods_version` is a requirement on CocoaPods itself, not a dependency.
//! - A version that is not a literal (`File.read`, a shell command, an interpolation, a constant)
//!   gives `version: None` and a `version_note` that names the line and says why.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::ruby::{self, Statement, StrPart, Tok, Token};
use super::{ManifestError, Warning, check_size};

/// A dependency line of a podspec (root or subspec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodspecDependency {
    /// The full name as written (`Moya/Core`).
    pub name: String,
    /// Version requirements joined with ", ", or `None` for any version.
    pub requirement: Option<String>,
}

/// What a podspec declares.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Podspec {
    pub name: Option<String>,
    /// The version literal, or `None` when it is not a literal.
    pub version: Option<String>,
    /// Why `version` is `None` (e.g. "line 3: version is read from a file"), else `None`.
    pub version_note: Option<String>,
    pub dependencies: Vec<PodspecDependency>,
    pub warnings: Vec<Warning>,
}

/// Reads a Ruby `.podspec` with any receiver name (`s.`, `spec.`).
///
/// Fails only when there is no `Pod::Spec.new do |s|` block or when `do`/`end` do not balance.
pub fn parse_podspec(text: &str) -> Result<Podspec, ManifestError> {
    Ok(read_ruby_spec(text)?.spec)
}

/// Reads a `.podspec.json`, root and subspec dependencies included.
pub fn parse_podspec_json(text: &str) -> Result<Podspec, ManifestError> {
    // serde_json refuses nesting deeper than 128 levels itself, with the line and column.
    check_size("podspec", text)?;
    let json: JsonSpec = serde_json::from_str(text).map_err(|e| ManifestError {
        line: e.line(),
        message: format!("not a podspec.json: {e}"),
    })?;
    let mut spec = Podspec {
        name: json.name.clone(),
        ..Podspec::default()
    };
    let version_site = top_level_string_site(text, "version");
    match &json.version {
        Some(serde_json::Value::String(version)) => spec.version = Some(version.clone()),
        Some(other) => {
            let line = version_site.map_or(1, |site| line_of(text, site.start));
            spec.version_note = Some(format!(
                "line {line}: the version is not a string (`{other}`)"
            ));
        }
        None => spec.version_note = Some("the podspec has no version".to_string()),
    }
    let mut found = Vec::new();
    json.collect_dependencies(&mut found);
    let mut listed = Listed::default();
    let mut string_lines = None;
    for (name, requirement) in found {
        match json_requirement(&requirement) {
            Ok(requirement) => listed.push(&mut spec.dependencies, name, requirement),
            Err(shown) => {
                let lines = string_lines.get_or_insert_with(|| StringLines::new(text));
                spec.warnings.push(Warning {
                    line: lines.first_line(&name),
                    message: format!(
                        "dependency '{name}': requirement `{shown}` is not a list of strings; \
                         listed without a requirement"
                    ),
                });
                listed.push(&mut spec.dependencies, name, None);
            }
        }
    }
    Ok(spec)
}

/// Reads either form, chosen by the file name (`.podspec.json` or `.podspec`).
pub fn parse_podspec_file(file_name: &str, text: &str) -> Result<Podspec, ManifestError> {
    if file_name.ends_with(".json") {
        parse_podspec_json(text)
    } else {
        parse_podspec(text)
    }
}

/// Returns the podspec with only its version literal replaced; every other byte is kept.
///
/// Ruby: the string after `s.version =` keeps its quotes. JSON: only the top-level `"version"`
/// value changes, never a nested one. A version that is not a literal is an error that says why.
pub fn rewrite_podspec_version(
    file_name: &str,
    text: &str,
    new_version: &str,
) -> Result<String, ManifestError> {
    let valid = !new_version.is_empty()
        && new_version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    if !valid {
        return Err(ManifestError {
            line: 1,
            message: format!(
                "`{new_version}` is not a version Convoy can write into a podspec: use digits, \
                 letters, `.`, `-` and `+` only"
            ),
        });
    }
    let (start, end) = if file_name.ends_with(".json") {
        json_version_span(text)?
    } else {
        ruby_version_span(text)?
    };
    Ok(format!("{}{new_version}{}", &text[..start], &text[end..]))
}

/// Where a Ruby podspec assigns its root version.
struct VersionAssignment {
    line: usize,
    /// Byte range of the literal's content, when the value is a literal.
    content: Option<(usize, usize)>,
    /// Why the value is not a literal.
    note: Option<String>,
}

struct RubySpec {
    spec: Podspec,
    versions: Vec<VersionAssignment>,
}

/// A block the reader is inside.
#[derive(Debug, PartialEq, Eq)]
enum Frame {
    /// `Pod::Spec.new do |s|`.
    Spec,
    /// `s.subspec 'Name' do |ss|`.
    Subspec,
    /// `s.test_spec` / `s.app_spec`: dependencies here are not the pod's.
    TestOnly,
    /// Any other Ruby block (`if`, `each do`), opened on this line.
    Ruby(usize),
}

fn read_ruby_spec(text: &str) -> Result<RubySpec, ManifestError> {
    let stmts = ruby::read_statements("podspec", text)?;
    let mut reader = SpecReader {
        text,
        receiver: None,
        listed: Listed::default(),
        result: RubySpec {
            spec: Podspec::default(),
            versions: Vec::new(),
        },
    };
    let mut frames: Vec<(Frame, usize)> = Vec::new();
    for stmt in &stmts {
        let delta = stmt.depth_delta();
        if delta < 0 {
            for _ in 0..-delta {
                if frames.pop().is_none() {
                    return Err(ManifestError {
                        line: stmt.line,
                        message: "`end` without a matching `do`".to_string(),
                    });
                }
            }
        } else if delta > 0 {
            let frame = reader.classify_opener(stmt);
            frames.push((frame, stmt.line));
            for _ in 1..delta {
                frames.push((Frame::Ruby(stmt.line), stmt.line));
            }
        } else if !frames.iter().any(|(f, _)| *f == Frame::TestOnly) {
            let ruby_block = frames.iter().find_map(|(f, _)| match f {
                Frame::Ruby(line) => Some(*line),
                _ => None,
            });
            reader.read_statement(stmt, ruby_block);
        }
    }
    if let Some((_, line)) = frames.first() {
        return Err(ManifestError {
            line: *line,
            message: "block opened here has no matching `end`".to_string(),
        });
    }
    if reader.receiver.is_none() {
        return Err(ManifestError {
            line: 1,
            message: "no `Pod::Spec.new do |s|` block: this is not a podspec".to_string(),
        });
    }
    if reader.result.versions.is_empty() {
        reader.result.spec.version_note = Some("the podspec has no version".to_string());
    }
    reader.result.spec.warnings.sort_by_key(|w| w.line);
    Ok(reader.result)
}

struct SpecReader<'a> {
    text: &'a str,
    /// The block parameter of `Pod::Spec.new do |s|`: `s`, `spec`, …
    receiver: Option<String>,
    listed: Listed,
    result: RubySpec,
}

impl SpecReader<'_> {
    fn classify_opener(&mut self, stmt: &Statement) -> Frame {
        let tokens = &stmt.tokens;
        let is_spec_new = tokens.windows(4).any(|w| {
            w[0].is_punct("::")
                && (w[1].is_ident("Spec") || w[1].is_ident("Specification"))
                && w[2].is_punct(".")
                && w[3].is_ident("new")
        });
        let param = stmt
            .block_param()
            .filter(|_| is_spec_new && self.receiver.is_none());
        if let Some(param) = param {
            self.receiver = Some(param.to_string());
            return Frame::Spec;
        }
        let method = method_after_receiver(tokens).map(|(_, m)| m);
        match method {
            Some("subspec") => Frame::Subspec,
            Some("test_spec" | "app_spec") => Frame::TestOnly,
            _ => Frame::Ruby(stmt.line),
        }
    }

    fn read_statement(&mut self, stmt: &Statement, ruby_block: Option<usize>) {
        let Some((rest, method)) = method_after_receiver(&stmt.tokens) else {
            return;
        };
        let is_root = stmt.first_ident() == self.receiver.as_deref();
        if method == "dependency" {
            self.read_dependency(stmt, rest, ruby_block);
            return;
        }
        let Some(value) = assigned_value(rest) else {
            return;
        };
        if !is_root {
            return;
        }
        match method {
            "name" => {
                if let Some(name) = plain_string(value) {
                    self.result.spec.name = Some(name);
                }
            }
            "version" => self.read_version(stmt, value),
            _ => {}
        }
    }

    fn read_version(&mut self, stmt: &Statement, value: &[Token]) {
        let spec = &mut self.result.spec;
        if !self.result.versions.is_empty() {
            spec.warnings.push(Warning {
                line: stmt.line,
                message: "the version is assigned again; the last assignment wins".to_string(),
            });
        }
        let assignment = match value {
            [
                Token {
                    tok: Tok::Str(s), ..
                },
            ] if s.literal().is_some() => {
                spec.version = s.literal();
                spec.version_note = None;
                VersionAssignment {
                    line: stmt.line,
                    content: Some(s.content),
                    note: None,
                }
            }
            _ => {
                let note = format!(
                    "line {}: the version is {} (`{}`), not a literal",
                    stmt.line,
                    non_literal_reason(value),
                    ruby::snippet(self.text, value)
                );
                spec.version = None;
                spec.version_note = Some(note.clone());
                VersionAssignment {
                    line: stmt.line,
                    content: None,
                    note: Some(note),
                }
            }
        };
        self.result.versions.push(assignment);
    }

    /// `x.dependency 'Name', 'req'…` or `x.ios.dependency …`.
    fn read_dependency(&mut self, stmt: &Statement, args: &[Token], ruby_block: Option<usize>) {
        let line = stmt.line;
        if stmt.has_modifier_condition() {
            let code = ruby::snippet(self.text, &stmt.tokens);
            self.warn(
                line,
                format!("conditional dependency skipped: Convoy does not evaluate `{code}`"),
            );
            return;
        }
        let args = ruby::strip_call_parens(args);
        let parts = ruby::split_top_level_commas(args);
        let Some(name) = parts.first().and_then(|p| plain_string(p)) else {
            let code = ruby::snippet(self.text, &stmt.tokens);
            self.warn(
                line,
                format!("dependency name is not a plain string (`{code}`); skipped"),
            );
            return;
        };
        let mut requirements = Vec::new();
        for part in &parts[1..] {
            match part {
                [
                    Token {
                        tok: Tok::Str(s), ..
                    },
                ] => match self.requirement_value(s) {
                    Some(requirement) => requirements.push(requirement),
                    None => {
                        let code = ruby::snippet(self.text, part);
                        self.warn(
                            line,
                            format!(
                                "dependency '{name}': requirement `{code}` is not a literal; \
                                 listed without it"
                            ),
                        );
                    }
                },
                // Options such as `:configurations => [...]` do not change what is required.
                [
                    Token {
                        tok: Tok::Symbol(_) | Tok::Label(_),
                        ..
                    },
                    ..,
                ] => {}
                _ => {
                    let code = ruby::snippet(self.text, part);
                    self.warn(
                        line,
                        format!(
                            "dependency '{name}': `{code}` is Ruby Convoy does not evaluate; \
                             ignored"
                        ),
                    );
                }
            }
        }
        if let Some(block_line) = ruby_block {
            self.warn(
                line,
                format!(
                    "dependency '{name}' is inside Ruby Convoy does not evaluate (line \
                     {block_line}); listed as if it always applies"
                ),
            );
        }
        let requirement = (!requirements.is_empty()).then(|| requirements.join(", "));
        self.listed
            .push(&mut self.result.spec.dependencies, name, requirement);
    }

    /// A requirement string; `"~> #{s.version}"` is filled in from a literal version.
    fn requirement_value(&self, s: &ruby::RubyStr) -> Option<String> {
        if s.shell || s.heredoc {
            return None;
        }
        let receiver = self.receiver.as_deref()?;
        let mut value = String::new();
        for part in &s.parts {
            match part {
                StrPart::Text(text) => value.push_str(text),
                StrPart::Code(code) => {
                    let code = code.trim();
                    let own_version = code == format!("{receiver}.version")
                        || code == format!("{receiver}.version.to_s");
                    if !own_version {
                        return None;
                    }
                    value.push_str(self.result.spec.version.as_deref()?);
                }
            }
        }
        Some(value)
    }

    fn warn(&mut self, line: usize, message: String) {
        self.result.spec.warnings.push(Warning { line, message });
    }
}

/// Splits `r.attr…` and `r.ios.attr…` into the tokens after the attribute and its name.
fn method_after_receiver(tokens: &[Token]) -> Option<(&[Token], &str)> {
    match tokens {
        [r, dot1, platform, dot2, method, rest @ ..]
            if r.ident().is_some()
                && dot1.is_punct(".")
                && dot2.is_punct(".")
                && platform.ident().is_some()
                && method.ident().is_some() =>
        {
            Some((rest, method.ident()?))
        }
        [r, dot, method, rest @ ..] if r.ident().is_some() && dot.is_punct(".") => {
            Some((rest, method.ident()?))
        }
        _ => None,
    }
}

/// `= value` → `value`.
fn assigned_value(tokens: &[Token]) -> Option<&[Token]> {
    match tokens {
        [eq, value @ ..] if eq.is_punct("=") && !value.is_empty() => Some(value),
        _ => None,
    }
}

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

/// Why a version value is not a literal, in words.
fn non_literal_reason(value: &[Token]) -> String {
    let has_ident = |name: &str| value.iter().any(|t| t.is_ident(name));
    let shell = value
        .iter()
        .any(|t| matches!(&t.tok, Tok::Str(s) if s.shell));
    if shell || has_ident("system") {
        return "computed by a shell command".to_string();
    }
    if has_ident("File") || has_ident("IO") {
        return "read from a file".to_string();
    }
    match value {
        [
            Token {
                tok: Tok::Str(s), ..
            },
        ] if s.heredoc => "a heredoc".to_string(),
        [
            Token {
                tok: Tok::Str(_), ..
            },
        ] => "built with string interpolation".to_string(),
        [
            Token {
                tok: Tok::Ident(name),
                ..
            },
        ] if name.starts_with(char::is_uppercase) => {
            format!("the Ruby constant `{name}`")
        }
        [
            Token {
                tok: Tok::Ident(name),
                ..
            },
        ] => format!("the Ruby variable `{name}`"),
        _ if value.iter().any(|t| t.is_punct("::")) => "a Ruby constant".to_string(),
        _ => "a Ruby expression".to_string(),
    }
}

/// The (name, requirement) pairs already listed, so each is listed once in constant time.
#[derive(Default)]
struct Listed(HashSet<(String, Option<String>)>);

impl Listed {
    /// Adds a dependency unless the same (name, requirement) is already listed.
    fn push(
        &mut self,
        list: &mut Vec<PodspecDependency>,
        name: String,
        requirement: Option<String>,
    ) {
        if self.0.insert((name.clone(), requirement.clone())) {
            list.push(PodspecDependency { name, requirement });
        }
    }
}

fn ruby_version_span(text: &str) -> Result<(usize, usize), ManifestError> {
    let read = read_ruby_spec(text)?;
    match read.versions.as_slice() {
        [] => Err(ManifestError {
            line: 1,
            message: "the podspec has no `s.version = '…'` line: add one".to_string(),
        }),
        [only] => match (only.content, &only.note) {
            (Some(span), _) => Ok(span),
            (None, note) => Err(ManifestError {
                line: only.line,
                message: format!(
                    "{}: Convoy can only rewrite a literal version; write it as a string",
                    note.as_deref()
                        .and_then(|n| n.split_once(": ").map(|(_, why)| why))
                        .unwrap_or("the version is not a literal")
                ),
            }),
        },
        [first, second, ..] => Err(ManifestError {
            line: second.line,
            message: format!(
                "the version is assigned on lines {} and {}: keep one assignment",
                first.line, second.line
            ),
        }),
    }
}

fn json_version_span(text: &str) -> Result<(usize, usize), ManifestError> {
    check_size("podspec", text)?;
    serde_json::from_str::<serde_json::Value>(text).map_err(|e| ManifestError {
        line: e.line(),
        message: format!("not a podspec.json: {e}"),
    })?;
    let Some(site) = top_level_string_site(text, "version") else {
        return Err(ManifestError {
            line: 1,
            message: "the podspec has no top-level \"version\": add one".to_string(),
        });
    };
    site.content.ok_or_else(|| ManifestError {
        line: line_of(text, site.start),
        message: "the top-level \"version\" is not a string: write it as \"1.2.3\"".to_string(),
    })
}

/// Where a top-level key's value sits in a JSON object.
#[derive(Debug, Clone, Copy)]
struct JsonSite {
    /// Byte offset of the value.
    start: usize,
    /// Byte range of the string content, when the value is a string.
    content: Option<(usize, usize)>,
}

/// Finds `"key": value` directly inside the top-level object (never a nested one).
fn top_level_string_site(text: &str, key: &str) -> Option<JsonSite> {
    let bytes = text.as_bytes();
    let mut depth = 0;
    let mut pos = 0;
    while pos < bytes.len() {
        match bytes[pos] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            b'"' => {
                let end = json_string_end(bytes, pos)?;
                let after = skip_json_space(bytes, end + 1);
                let is_key = depth == 1 && bytes.get(after) == Some(&b':');
                let name: Option<String> = serde_json::from_str(&text[pos..=end]).ok();
                if is_key && name.as_deref() == Some(key) {
                    let value = skip_json_space(bytes, after + 1);
                    let content = if bytes.get(value) == Some(&b'"') {
                        json_string_end(bytes, value).map(|close| (value + 1, close))
                    } else {
                        None
                    };
                    return Some(JsonSite {
                        start: value,
                        content,
                    });
                }
                pos = end;
            }
            _ => {}
        }
        pos += 1;
    }
    None
}

/// Index of the closing quote of the JSON string opening at `open`.
fn json_string_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut pos = open + 1;
    while pos < bytes.len() {
        match bytes[pos] {
            b'\\' => pos += 2,
            b'"' => return Some(pos),
            _ => pos += 1,
        }
    }
    None
}

fn skip_json_space(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
        pos += 1;
    }
    pos
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line of the first occurrence of each JSON string, worked out in one pass over the file
/// so that a podspec with many warnings costs no more than its size.
struct StringLines(HashMap<String, usize>);

impl StringLines {
    fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut first = HashMap::new();
        let (mut pos, mut line) = (0, 1);
        while pos < bytes.len() {
            match bytes[pos] {
                b'\n' => line += 1,
                b'"' => {
                    let Some(end) = json_string_end(bytes, pos) else {
                        break;
                    };
                    first.entry(text[pos + 1..end].to_string()).or_insert(line);
                    pos = end;
                }
                _ => {}
            }
            pos += 1;
        }
        StringLines(first)
    }

    /// The line where the string `value` first appears (1 when it does not).
    fn first_line(&self, value: &str) -> usize {
        self.0.get(value).copied().unwrap_or(1)
    }
}

/// `{"Name": ["~> 1.0"]}` → `Some("~> 1.0")`, `[]` → `None`; anything else is shown back.
fn json_requirement(value: &serde_json::Value) -> Result<Option<String>, String> {
    match value {
        serde_json::Value::String(one) => Ok(Some(one.clone())),
        serde_json::Value::Array(items) => {
            let strings: Option<Vec<&str>> = items.iter().map(|v| v.as_str()).collect();
            match strings {
                Some(list) if list.is_empty() => Ok(None),
                Some(list) => Ok(Some(list.join(", "))),
                None => Err(value.to_string()),
            }
        }
        other => Err(other.to_string()),
    }
}

/// The parts of a podspec.json that carry dependencies (unknown keys are ignored, including
/// `testspecs` and `appspecs`, whose dependencies are only for testing).
#[derive(Debug, Deserialize)]
struct JsonSpec {
    name: Option<String>,
    version: Option<serde_json::Value>,
    #[serde(default)]
    dependencies: OrderedDependencies,
    #[serde(default)]
    subspecs: Vec<JsonSpec>,
    ios: Option<JsonPlatform>,
    osx: Option<JsonPlatform>,
    macos: Option<JsonPlatform>,
    tvos: Option<JsonPlatform>,
    watchos: Option<JsonPlatform>,
    visionos: Option<JsonPlatform>,
}

impl JsonSpec {
    /// Own dependencies, then platform-scoped ones, then each subspec's, in file order.
    fn collect_dependencies(&self, out: &mut Vec<(String, serde_json::Value)>) {
        out.extend(self.dependencies.0.iter().cloned());
        let platforms = [
            &self.ios,
            &self.osx,
            &self.macos,
            &self.tvos,
            &self.watchos,
            &self.visionos,
        ];
        for platform in platforms.into_iter().flatten() {
            out.extend(platform.dependencies.0.iter().cloned());
        }
        for subspec in &self.subspecs {
            subspec.collect_dependencies(out);
        }
    }
}

#[derive(Debug, Deserialize)]
struct JsonPlatform {
    #[serde(default)]
    dependencies: OrderedDependencies,
}

/// A `"dependencies"` object read in file order (serde_json's map may sort its keys).
#[derive(Debug, Default)]
struct OrderedDependencies(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for OrderedDependencies {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OrderedDependencies;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of pod names to requirement lists")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
                    entries.push(entry);
                }
                Ok(OrderedDependencies(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(body: &str) -> Podspec {
        parse_podspec(&format!("Pod::Spec.new do |s|\n{body}end\n")).unwrap()
    }

    fn dependency(name: &str, requirement: Option<&str>) -> PodspecDependency {
        PodspecDependency {
            name: name.to_string(),
            requirement: requirement.map(str::to_string),
        }
    }

    #[test]
    fn any_receiver_name_is_read() {
        let text = "Pod::Spec.new do |spec|\n  spec.name = 'A'\n  spec.version = '1.2.3'\n  \
                    spec.dependency 'B', '~> 1.0'\nend\n";
        let read = parse_podspec(text).unwrap();
        assert_eq!(read.name.as_deref(), Some("A"));
        assert_eq!(read.version.as_deref(), Some("1.2.3"));
        assert_eq!(read.dependencies, vec![dependency("B", Some("~> 1.0"))]);
    }

    #[test]
    fn subspec_and_platform_dependencies_are_listed_and_duplicates_kept_once() {
        let read = spec(
            "  s.version = '1.0'\n  s.subspec 'Core' do |core|\n    core.dependency 'X'\n    \
             core.ios.dependency 'Y', '>= 1', '< 2'\n  end\n  s.subspec 'More' do |ss|\n    \
             ss.dependency 'X'\n    ss.dependency('Z', '1.0')\n  end\n",
        );
        assert_eq!(
            read.dependencies,
            vec![
                dependency("X", None),
                dependency("Y", Some(">= 1, < 2")),
                dependency("Z", Some("1.0")),
            ]
        );
    }

    #[test]
    fn test_and_app_spec_dependencies_are_left_out() {
        let read = spec(
            "  s.dependency 'Real'\n  s.test_spec 'unit' do |t|\n    t.dependency 'OCMock'\n  \
             end\n  s.app_spec 'Host' do |app|\n    app.dependency 'HostOnly'\n  end\n",
        );
        assert_eq!(read.dependencies, vec![dependency("Real", None)]);
    }

    #[test]
    fn cocoapods_version_is_not_a_dependency() {
        let read = spec("  s.cocoapods_version = '>= 1.4.0'\n");
        assert_eq!(read.dependencies, vec![]);
    }

    #[test]
    fn a_podspec_without_a_version_says_so() {
        assert_eq!(
            spec("  s.name = 'A'\n").version_note.as_deref(),
            Some("the podspec has no version")
        );
        let json = parse_podspec_json("{\"name\": \"A\"}").unwrap();
        assert_eq!(
            json.version_note.as_deref(),
            Some("the podspec has no version")
        );
    }

    #[test]
    fn a_version_read_from_a_file_is_reported_with_its_line() {
        let read = spec("  s.name = 'A'\n  s.version = File.read('VERSION').strip\n");
        assert_eq!(read.version, None);
        assert_eq!(
            read.version_note.as_deref(),
            Some(
                "line 3: the version is read from a file (`File.read('VERSION').strip`), not a literal"
            )
        );
    }

    #[test]
    fn versions_from_a_shell_an_interpolation_or_a_constant_are_not_literals() {
        let cases = [
            ("`git describe --tags`.strip", "computed by a shell command"),
            ("\"#{MAJOR}.2.3\"", "built with string interpolation"),
            ("MyLib::VERSION", "a Ruby constant"),
            ("VERSION", "the Ruby constant `VERSION`"),
            ("version", "the Ruby variable `version`"),
        ];
        for (value, reason) in cases {
            let read = spec(&format!("  s.version = {value}\n"));
            assert_eq!(read.version, None, "{value}");
            assert_eq!(
                read.version_note,
                Some(format!(
                    "line 2: the version is {reason} (`{value}`), not a literal"
                ))
            );
        }
    }

    #[test]
    fn a_requirement_built_from_the_spec_version_is_filled_in() {
        let read = spec("  s.version = '2.1.0'\n  s.dependency 'Sibling', \"~> #{s.version}\"\n");
        assert_eq!(
            read.dependencies,
            vec![dependency("Sibling", Some("~> 2.1.0"))]
        );
        assert_eq!(read.warnings, vec![]);
    }

    #[test]
    fn a_requirement_that_is_not_a_literal_is_dropped_with_a_warning_but_the_dependency_kept() {
        let read = spec("  s.dependency 'B', \"~> #{OTHER}\"\n");
        assert_eq!(read.dependencies, vec![dependency("B", None)]);
        assert_eq!(
            read.warnings,
            vec![Warning {
                line: 2,
                message: "dependency 'B': requirement `\"~> #{OTHER}\"` is not a literal; \
                          listed without it"
                    .into()
            }]
        );
    }

    #[test]
    fn a_dependency_inside_ruby_is_listed_with_a_warning() {
        let read = spec("  if ENV['X']\n    s.dependency 'B'\n  end\n  s.dependency 'C' if x\n");
        assert_eq!(read.dependencies, vec![dependency("B", None)]);
        assert_eq!(
            read.warnings.iter().map(|w| w.line).collect::<Vec<_>>(),
            vec![3, 5]
        );
        assert_eq!(
            read.warnings[0].message,
            "dependency 'B' is inside Ruby Convoy does not evaluate (line 2); listed as if it \
             always applies"
        );
    }

    #[test]
    fn a_file_without_a_spec_block_is_not_a_podspec() {
        let err = parse_podspec("puts 'hello'\n").unwrap_err();
        assert_eq!(
            err.message,
            "no `Pod::Spec.new do |s|` block: this is not a podspec"
        );
    }

    #[test]
    fn a_spec_block_without_its_end_is_an_error() {
        let err = parse_podspec("Pod::Spec.new do |s|\n  s.name = 'A'\n").unwrap_err();
        assert_eq!(err.line, 1);
    }

    #[test]
    fn json_empty_requirement_lists_mean_any_version_and_platform_dependencies_count() {
        let read = parse_podspec_json(
            r#"{"name": "A", "version": "1.0", "dependencies": {"Z": [], "B": [">= 1", "< 2"]},
                "ios": {"dependencies": {"IOSOnly": ["~> 3.0"]}},
                "testspecs": [{"name": "Tests", "dependencies": {"OCMock": []}}],
                "subspecs": [{"name": "S", "subspecs": [{"name": "T", "dependencies": {"Deep": "1.0"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(
            read.dependencies,
            vec![
                dependency("Z", None),
                dependency("B", Some(">= 1, < 2")),
                dependency("IOSOnly", Some("~> 3.0")),
                dependency("Deep", Some("1.0")),
            ]
        );
    }

    #[test]
    fn a_json_version_that_is_not_a_string_is_reported() {
        let read = parse_podspec_json("{\n  \"name\": \"A\",\n  \"version\": 1.0\n}").unwrap();
        assert_eq!(read.version, None);
        assert_eq!(
            read.version_note.as_deref(),
            Some("line 3: the version is not a string (`1.0`)")
        );
    }

    #[test]
    fn rewriting_ruby_keeps_the_quote_style_and_every_other_byte() {
        let text = "Pod::Spec.new do |s|\n  s.version   =  \"0.1.0\" # bump me\n  \
                    s.source = { :tag => s.version }\nend";
        let rewritten = rewrite_podspec_version("A.podspec", text, "0.2.0-beta.1").unwrap();
        assert_eq!(rewritten, text.replace("\"0.1.0\"", "\"0.2.0-beta.1\""));
    }

    #[test]
    fn rewriting_a_non_literal_version_is_an_error_that_says_why() {
        let text = "Pod::Spec.new do |s|\n  s.version = File.read('VERSION')\nend\n";
        let err = rewrite_podspec_version("A.podspec", text, "1.0.0").unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(
            err.message,
            "the version is read from a file (`File.read('VERSION')`), not a literal: Convoy can \
             only rewrite a literal version; write it as a string"
        );
    }

    #[test]
    fn rewriting_a_version_assigned_twice_is_an_error() {
        let text = "Pod::Spec.new do |s|\n  s.version = '1'\n  s.version = '2'\nend\n";
        let err = rewrite_podspec_version("A.podspec", text, "3").unwrap_err();
        assert_eq!(
            err.message,
            "the version is assigned on lines 2 and 3: keep one assignment"
        );
    }

    #[test]
    fn rewriting_to_something_that_is_not_a_version_is_refused() {
        let text = "Pod::Spec.new do |s|\n  s.version = '1'\nend\n";
        let err = rewrite_podspec_version("A.podspec", text, "1' + x + '").unwrap_err();
        assert!(err.message.starts_with("`1' + x + '` is not a version"));
    }

    #[test]
    fn rewriting_json_changes_the_top_level_version_only() {
        let text = "{\"dependencies\": {\"version\": [\"1.0\"]}, \"sub\": {\"version\": \"9\"},\n \"version\" : \"1.0\", \"x\": 1}";
        let rewritten = rewrite_podspec_version("A.podspec.json", text, "2.0.0").unwrap();
        assert_eq!(
            rewritten,
            "{\"dependencies\": {\"version\": [\"1.0\"]}, \"sub\": {\"version\": \"9\"},\n \"version\" : \"2.0.0\", \"x\": 1}"
        );
    }

    #[test]
    fn rewriting_json_without_a_string_version_is_an_error() {
        let err = rewrite_podspec_version("A.podspec.json", "{\n\"version\": 1}", "2").unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(
            err.message,
            "the top-level \"version\" is not a string: write it as \"1.2.3\""
        );
    }

    #[test]
    fn json_requirements_that_are_not_strings_are_warned_on_their_own_lines() {
        let mut text =
            String::from("{\n  \"name\": \"A\",\n  \"version\": \"1.0\",\n  \"dependencies\": {\n");
        let count = 5_000;
        for index in 0..count {
            let comma = if index + 1 < count { "," } else { "" };
            text.push_str(&format!("    \"D{index}\": {{\"x\": 1}}{comma}\n"));
        }
        text.push_str("  }\n}\n");
        let spec = parse_podspec_json(&text).unwrap();
        assert_eq!(spec.dependencies.len(), count);
        assert_eq!(spec.warnings.len(), count);
        assert_eq!(spec.warnings[0].line, 5);
        assert_eq!(spec.warnings[count - 1].line, 5 + count - 1);
        assert_eq!(
            spec.warnings[0].message,
            "dependency 'D0': requirement `{\"x\":1}` is not a list of strings; listed without a \
             requirement"
        );
    }
}
