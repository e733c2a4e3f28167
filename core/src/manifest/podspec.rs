//! Reads a `.podspec` (Ruby) or `.podspec.json`, and rewrites only its version literal.

use serde::{Deserialize, Serialize};

use super::{ManifestError, Warning};

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
pub fn parse_podspec(text: &str) -> Result<Podspec, ManifestError> {
    let _ = text;
    unimplemented!("filled in by issue 2")
}

/// Reads a `.podspec.json`.
pub fn parse_podspec_json(text: &str) -> Result<Podspec, ManifestError> {
    let _ = text;
    unimplemented!("filled in by issue 2")
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
pub fn rewrite_podspec_version(
    file_name: &str,
    text: &str,
    new_version: &str,
) -> Result<String, ManifestError> {
    let _ = (file_name, text, new_version);
    unimplemented!("filled in by issue 2")
}
