//! Input checked the way GitLab and git check it, once, at the edge: a [`ProjectPath`] or a
//! [`GitRef`] that exists is valid, so code that takes one never checks again.
//!
//! Every refusal is an [`InputError`]: a sentence naming the field and what to send instead.

use std::fmt;

/// Input that Convoy refuses, with the field it came in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    /// The request field (`app_project`, `app_ref`, `reason`, …).
    pub field: &'static str,
    /// The whole sentence, naming the field.
    pub message: String,
}

impl InputError {
    fn new(field: &'static str, message: String) -> InputError {
        InputError { field, message }
    }
}

/// At most this many characters in one path segment (GitLab's `Namespace` and `Project`
/// validate `path` with `length: { maximum: 255 }`).
pub const MAX_SEGMENT_CHARS: usize = 255;
/// At most this many segments: 20 levels of groups (GitLab's
/// `Namespaces::Traversal` limit of 20 ancestors) and the project.
pub const MAX_SEGMENTS: usize = 21;
/// At most this many bytes in a ref. Git stores refs as files, and file names are limited to
/// 255 bytes on common file systems; GitLab refuses longer branch names for the same reason.
pub const MAX_REF_BYTES: usize = 255;
/// At most this many characters in a free-text reason (mark released, cancel, …).
pub const MAX_REASON_CHARS: usize = 1000;
/// At most this many characters in a version, prerelease and build metadata included.
pub const MAX_VERSION_CHARS: usize = 100;
/// At most this many characters in a component name (a pod name, in a URL path).
pub const MAX_NAME_CHARS: usize = 255;

/// A GitLab project path: `group/name`, with subgroups (`group/sub/name`).
///
/// The rules are GitLab's `Gitlab::PathRegex` (`lib/gitlab/path_regex.rb`): a group segment
/// matches `NAMESPACE_FORMAT_REGEX` (letters, digits, `_`, `-`, `.`; starts with a letter, digit,
/// `_` or `.`; ends with a letter, digit, `_` or `-`), the project segment matches
/// `PROJECT_PATH_FORMAT_REGEX` (the same start, any allowed character at the end), and no
/// segment ends in `.git` or `.atom`. Segments made only of dots (`.`, `..`) are refused as
/// well: they would walk out of the path in a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectPath(String);

impl ProjectPath {
    /// Parses `text` (surrounding spaces ignored) given in request field `field`.
    pub fn parse(field: &'static str, text: &str) -> Result<ProjectPath, InputError> {
        let text = text.trim();
        let advice = "use group/name, for example mobile/app";
        if text.is_empty() {
            return Err(InputError::new(
                field,
                format!(
                    "{field} is empty: give the GitLab path of the app project, for example mobile/app"
                ),
            ));
        }
        let segments: Vec<&str> = text.split('/').collect();
        if segments.len() < 2 {
            return Err(InputError::new(
                field,
                format!(
                    "{field} \"{}\" is not a GitLab project path: {advice}",
                    shown(text)
                ),
            ));
        }
        if segments.len() > MAX_SEGMENTS {
            return Err(InputError::new(
                field,
                format!(
                    "{field} has {} segments, more than GitLab's {MAX_SEGMENTS} (20 levels of groups and the project): {advice}",
                    segments.len()
                ),
            ));
        }
        let last = segments.len() - 1;
        for (index, segment) in segments.iter().enumerate() {
            if let Some(problem) = segment_problem(segment, index == last) {
                return Err(InputError::new(
                    field,
                    format!(
                        "{field} \"{}\" is not a GitLab project path: {problem}; {advice}",
                        shown(text)
                    ),
                ));
            }
        }
        Ok(ProjectPath(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is wrong with one segment of a project path, if anything.
fn segment_problem(segment: &str, is_project: bool) -> Option<String> {
    if segment.is_empty() {
        return Some("it has an empty segment (two slashes, or one at either end)".to_string());
    }
    if segment.chars().all(|c| c == '.') {
        return Some(format!("\"{segment}\" is not a name"));
    }
    if segment.chars().count() > MAX_SEGMENT_CHARS {
        return Some(format!(
            "a segment is longer than {MAX_SEGMENT_CHARS} characters"
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if let Some(bad) = segment.chars().find(|c| !allowed(*c)) {
        return Some(format!(
            "{} is not allowed (only letters, digits, '_', '-' and '.')",
            describe_char(bad)
        ));
    }
    if segment.starts_with('-') {
        return Some(format!("\"{segment}\" starts with '-'"));
    }
    if !is_project && segment.ends_with('.') {
        return Some(format!("the group \"{segment}\" ends with '.'"));
    }
    if segment.ends_with(".git") || segment.ends_with(".atom") {
        return Some(format!("\"{segment}\" ends in .git or .atom"));
    }
    None
}

/// A branch or tag name, valid by git's `check-ref-format` rules (`git help check-ref-format`)
/// as GitLab applies them to branch names (`Gitlab::GitRefValidator`):
///
/// no component starts with `.` or ends with `.lock`; no `..`; no control characters, space,
/// `~`, `^`, `:`, `?`, `*`, `[` or `\`; no leading `-`; no leading, trailing or double `/`;
/// no trailing `.`; no `@{`; not `@` alone. Invisible Unicode formatting characters (such as
/// a right-to-left override) are refused too: they make a ref read as something it is not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GitRef(String);

impl GitRef {
    /// Parses `text` (surrounding spaces ignored) given in request field `field`.
    pub fn parse(field: &'static str, text: &str) -> Result<GitRef, InputError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(InputError::new(
                field,
                format!("{field} is empty: give the branch to release, for example release/2.0.0"),
            ));
        }
        if text.len() > MAX_REF_BYTES {
            return Err(InputError::new(
                field,
                format!(
                    "{field} is {} bytes long, more than git allows ({MAX_REF_BYTES}): give a branch name like release/2.0.0",
                    text.len()
                ),
            ));
        }
        if let Some(problem) = ref_problem(text) {
            return Err(InputError::new(
                field,
                format!(
                    "{field} \"{}\" is not a valid git branch name: {problem}; give a name like release/2.0.0",
                    shown(text)
                ),
            ));
        }
        Ok(GitRef(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What breaks `check-ref-format` in `text`, if anything.
fn ref_problem(text: &str) -> Option<String> {
    if let Some(bad) = text.chars().find(|c| forbidden_in_ref(*c)) {
        return Some(format!("{} is not allowed", describe_char(bad)));
    }
    if text == "@" {
        return Some("\"@\" alone is not a name".to_string());
    }
    if text.starts_with('-') {
        return Some("it starts with '-'".to_string());
    }
    if text.contains("..") {
        return Some("it contains \"..\"".to_string());
    }
    if text.contains("@{") {
        return Some("it contains \"@{\"".to_string());
    }
    if text.starts_with('/') || text.ends_with('/') || text.contains("//") {
        return Some("it starts or ends with '/', or has an empty component".to_string());
    }
    if text.ends_with('.') {
        return Some("it ends with '.'".to_string());
    }
    for component in text.split('/') {
        if component.starts_with('.') {
            return Some(format!("the component \"{component}\" starts with '.'"));
        }
        if component.ends_with(".lock") {
            return Some(format!("the component \"{component}\" ends with .lock"));
        }
    }
    None
}

fn forbidden_in_ref(c: char) -> bool {
    c.is_control()
        || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\')
        || is_invisible_format(c)
}

/// Unicode characters that change how text is shown without being seen: bidirectional
/// controls (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), zero-width characters and the
/// byte-order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// `text` when it is at most `max` characters (after trimming), else an error naming `field`.
pub fn bounded<'a>(field: &'static str, text: &'a str, max: usize) -> Result<&'a str, InputError> {
    let text = text.trim();
    let count = text.chars().count();
    if count > max {
        return Err(InputError::new(
            field,
            format!("{field} is {count} characters long: send at most {max}"),
        ));
    }
    Ok(text)
}

/// A character named for an error sentence: printable ones quoted, others as `U+XXXX`.
fn describe_char(c: char) -> String {
    if c.is_control() || is_invisible_format(c) || c == ' ' {
        format!("the character U+{:04X}", c as u32)
    } else {
        format!("'{c}'")
    }
}

/// Input echoed in an error sentence: invisible characters spelled out, at most 80 characters.
fn shown(text: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = text
        .chars()
        .take(MAX)
        .map(|c| {
            if c.is_control() || is_invisible_format(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Result<ProjectPath, InputError> {
        ProjectPath::parse("app_project", text)
    }

    fn git_ref(text: &str) -> Result<GitRef, InputError> {
        GitRef::parse("app_ref", text)
    }

    #[test]
    fn project_paths_as_gitlab_accepts_them() {
        for ok in [
            "mobile/app",
            "group/sub/app",
            "_under/score.js",
            "a/100px.com",
            "g/app.",
            " mobile/app ",
        ] {
            assert!(path(ok).is_ok(), "{ok}: {:?}", path(ok));
        }
        assert_eq!(path(" mobile/app ").unwrap().as_str(), "mobile/app");
    }

    #[test]
    fn project_paths_gitlab_refuses_are_refused_with_the_field_named() {
        for bad in [
            "app",
            "../..",
            "mobile/../app",
            "mobile/./app",
            "mobile//app",
            "/mobile/app",
            "mobile/app/",
            "mobile app/x",
            "mobile/app?x=1",
            "-group/app",
            "group./app",
            "group/app.git",
            "group/app.atom",
            "grüppe/app",
        ] {
            let error = path(bad).expect_err(bad);
            assert_eq!(error.field, "app_project");
            assert!(
                error.message.starts_with("app_project "),
                "{}",
                error.message
            );
            assert!(error.message.contains("mobile/app"), "{}", error.message);
        }
    }

    #[test]
    fn project_path_lengths_are_bounded() {
        let long = format!("g/{}", "a".repeat(MAX_SEGMENT_CHARS + 1));
        assert!(path(&long).unwrap_err().message.contains("longer than 255"));
        let deep = vec!["g"; MAX_SEGMENTS + 1].join("/");
        assert!(path(&deep).unwrap_err().message.contains("segments"));
        assert!(path(&vec!["g"; MAX_SEGMENTS].join("/")).is_ok());
    }

    #[test]
    fn refs_as_git_accepts_them() {
        for ok in [
            "release/2.0.0",
            "main",
            "feature/login-v2",
            "release/2.0.0-rc.1",
            "v1.2.3",
            "a@b",
            "ünïcode",
        ] {
            assert!(git_ref(ok).is_ok(), "{ok}: {:?}", git_ref(ok));
        }
    }

    #[test]
    fn refs_git_check_ref_format_refuses_are_refused() {
        for bad in [
            "-rf",
            "a..b",
            "~^:*[",
            "?x=1",
            "a b",
            "a\tb",
            "a\u{7f}b",
            "back\\slash",
            "a@{1}",
            "@",
            "release/",
            "/release",
            "a//b",
            "ends.",
            "x.lock",
            "a/b.lock/c",
            ".hidden",
            "a/.hidden",
            "release\u{202E}0.0.2",
            "zero\u{200B}width",
        ] {
            let error = git_ref(bad).expect_err(bad);
            assert_eq!(error.field, "app_ref");
            assert!(error.message.starts_with("app_ref "), "{}", error.message);
        }
    }

    #[test]
    fn an_invisible_character_is_named_by_its_code_point() {
        let error = git_ref("release\u{202E}1").unwrap_err();
        assert!(error.message.contains("U+202E"), "{}", error.message);
        assert!(!error.message.contains('\u{202E}'), "{}", error.message);
    }

    #[test]
    fn ref_length_is_bounded_and_the_error_does_not_echo_it() {
        let long = "a".repeat(1024 * 1024);
        let error = git_ref(&long).unwrap_err();
        assert!(error.message.contains("1048576 bytes"), "{}", error.message);
        assert!(error.message.len() < 200, "{}", error.message);
        assert!(git_ref(&"a".repeat(MAX_REF_BYTES)).is_ok());
    }

    #[test]
    fn bounded_text_counts_characters_not_bytes() {
        assert_eq!(bounded("reason", " ok ", 2).unwrap(), "ok");
        assert_eq!(bounded("reason", "éé", 2).unwrap(), "éé");
        let error = bounded("reason", "abc", 2).unwrap_err();
        assert_eq!(error.message, "reason is 3 characters long: send at most 2");
    }
}
