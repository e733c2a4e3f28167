//! CocoaPods manifests: the app's Podfile, each component's podspec, and the PodfileTemplate
//! that becomes the app's new Podfile once every component is released.
//!
//! Nothing here runs Ruby. A small lexer (`ruby`) finds strings, comments, heredocs and
//! `do`/`end` blocks; the readers understand the DSL on top of it and turn every piece of Ruby
//! they cannot evaluate into a [`Warning`] that names its line, rather than guess.

pub mod podfile;
pub mod podspec;
mod ruby;
pub mod template;

use serde::{Deserialize, Serialize};

/// Something the reader saw but could not evaluate, with the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// 1-based line of the statement the warning is about.
    pub line: usize,
    /// What was skipped and why, as a sentence for the user.
    pub message: String,
}

/// A manifest that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ManifestError {
    /// 1-based line where the problem starts (1 when it concerns the whole file).
    pub line: usize,
    /// What is wrong and, where possible, what to do about it.
    pub message: String,
}
