//! Reads a Podfile (the Ruby DSL as people write it) without evaluating Ruby.

use serde::{Deserialize, Serialize};

use super::{ManifestError, Warning};

/// Where a pod comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PodSource {
    Git {
        url: String,
        branch: Option<String>,
        tag: Option<String>,
        commit: Option<String>,
    },
    Path {
        path: String,
    },
    Podspec {
        url: String,
    },
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
    /// True for a git dependency on a branch (or on no ref): it must be released.
    pub needs_release: bool,
    /// The targets this entry applies to.
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
    pub dependencies: Vec<PodDependency>,
    pub warnings: Vec<Warning>,
}

/// Reads a Podfile. Ruby it cannot evaluate becomes a warning naming the line.
pub fn parse_podfile(text: &str) -> Result<Podfile, ManifestError> {
    let _ = text;
    unimplemented!("filled in by issue 2")
}
