//! Renders the app's Podfile from its `PodfileTemplate`.

use super::ManifestError;

/// The placeholder in a PodfileTemplate that the dependency lines replace.
pub const PLACEHOLDER: &str = ":TRIPLECCREPLACEME";

/// A released component pinned in the rendered Podfile: `pod 'A', '= 0.1.0'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub name: String,
    pub version: String,
}

/// Replaces the placeholder with one `pod 'A', '= 0.1.0'` line per pin, at the placeholder's
/// indentation; every other byte of the template is kept. A template without exactly one
/// placeholder is an error.
pub fn render_podfile_template(template: &str, pins: &[Pin]) -> Result<String, ManifestError> {
    let _ = (template, pins);
    unimplemented!("filled in by issue 2")
}
