//! CocoaPods manifests: the app's Podfile, each component's podspec, and the PodfileTemplate
//! that becomes the app's new Podfile once every component is released.

pub mod podfile;
pub mod podspec;
mod ruby;
pub mod template;

use serde::{Deserialize, Serialize};

/// Something the reader saw but could not evaluate, with the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

/// A manifest that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ManifestError {
    pub line: usize,
    pub message: String,
}
