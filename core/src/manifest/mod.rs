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

/// The deepest nesting of `do`/`end` blocks (and of helper method calls and string
/// interpolations) a manifest may have. Real Podfiles nest three or four levels; the limit keeps
/// the readers' recursion shallow whatever the input.
pub const MAX_NESTING: usize = 64;

/// The largest manifest Convoy reads, in bytes (4 MiB). Real Podfiles and podspecs are a few
/// kilobytes; the limit refuses a runaway file before any parsing starts.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// The most pod entries (a pod times each target that gets it) a Podfile may expand to. Helper
/// methods and inherited targets multiply entries, so this bounds the memory of a crafted file.
pub const MAX_POD_ENTRIES: usize = 1_000_000;

/// Refuses a manifest larger than [`MAX_MANIFEST_BYTES`] with a sentence naming both sizes.
pub(crate) fn check_size(kind: &str, text: &str) -> Result<(), ManifestError> {
    if text.len() <= MAX_MANIFEST_BYTES {
        return Ok(());
    }
    Err(ManifestError {
        line: 1,
        message: format!(
            "the {kind} is {} bytes, more than the {MAX_MANIFEST_BYTES} bytes (4 MiB) Convoy \
             reads: check that this is the right file",
            text.len()
        ),
    })
}

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
