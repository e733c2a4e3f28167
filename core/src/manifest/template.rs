//! Renders the app's Podfile from its `PodfileTemplate`.

use super::ManifestError;

/// The placeholder in a PodfileTemplate that the dependency lines replace.
pub const PLACEHOLDER: &str = ":TRIPLECCREPLACEME";

/// A released component pinned in the rendered Podfile: `pod 'A', '= 0.1.0'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The pod name as the Podfile writes it (`A` or `A/Core`).
    pub name: String,
    /// The released version, written after `= `.
    pub version: String,
}

/// Replaces the placeholder with one `pod 'A', '= 0.1.0'` line per pin, at the placeholder's
/// indentation; every other byte of the template is kept. A template without exactly one
/// placeholder is an error.
///
/// The placeholder must be the first thing on its line (text after it, such as a comment, is
/// kept after the last pin). With no pins, the placeholder's whole line is removed.
pub fn render_podfile_template(template: &str, pins: &[Pin]) -> Result<String, ManifestError> {
    let start = single_placeholder(template)?;
    let line_start = template[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent = &template[line_start..start];
    if !indent.chars().all(|c| c == ' ' || c == '\t') {
        return Err(ManifestError {
            line: line_of(template, start),
            message: format!(
                "`{PLACEHOLDER}` must be alone at the start of its line (after indentation): \
                 move the text before it to another line"
            ),
        });
    }
    for pin in pins {
        check_pin(pin, line_of(template, start))?;
    }
    let end = start + PLACEHOLDER.len();
    if pins.is_empty() {
        return Ok(without_placeholder_line(template, line_start, end));
    }
    let lines: Vec<String> = pins
        .iter()
        .map(|pin| format!("pod '{}', '= {}'", pin.name, pin.version))
        .collect();
    let separator = format!("\n{indent}");
    Ok(format!(
        "{}{}{}",
        &template[..start],
        lines.join(&separator),
        &template[end..]
    ))
}

/// The byte offset of the only placeholder, or an error that says what to do.
fn single_placeholder(template: &str) -> Result<usize, ManifestError> {
    let found: Vec<usize> = template
        .match_indices(PLACEHOLDER)
        .map(|(offset, _)| offset)
        .collect();
    match found.as_slice() {
        [only] => Ok(*only),
        [] => Err(ManifestError {
            line: 1,
            message: format!(
                "the PodfileTemplate has no `{PLACEHOLDER}` placeholder: add it on its own line \
                 where the released pods should be pinned"
            ),
        }),
        [_, second, ..] => {
            let lines: Vec<String> = found
                .iter()
                .map(|offset| line_of(template, *offset).to_string())
                .collect();
            Err(ManifestError {
                line: line_of(template, *second),
                message: format!(
                    "the PodfileTemplate has {} `{PLACEHOLDER}` placeholders (lines {}): keep \
                     exactly one",
                    found.len(),
                    lines.join(", ")
                ),
            })
        }
    }
}

/// A pin written inside single quotes must not be able to break out of them.
fn check_pin(pin: &Pin, line: usize) -> Result<(), ManifestError> {
    let safe = |s: &str| !s.is_empty() && !s.contains(['\'', '\\', '\n', '\r']);
    if safe(&pin.name) && safe(&pin.version) {
        return Ok(());
    }
    Err(ManifestError {
        line,
        message: format!(
            "cannot pin pod {:?} at version {:?}: names and versions must be non-empty and \
             contain no quote, backslash or line break",
            pin.name, pin.version
        ),
    })
}

/// The template without the placeholder's line, when the rest of that line is blank.
fn without_placeholder_line(template: &str, line_start: usize, end: usize) -> String {
    let line_end = template[end..]
        .find('\n')
        .map_or(template.len(), |i| end + i + 1);
    if template[end..line_end].trim().is_empty() {
        format!("{}{}", &template[..line_start], &template[line_end..])
    } else {
        format!("{}{}", &template[..line_start], &template[end..])
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(name: &str, version: &str) -> Pin {
        Pin {
            name: name.to_string(),
            version: version.to_string(),
        }
    }

    #[test]
    fn each_pin_becomes_a_pod_line_at_the_placeholder_indentation() {
        let template =
            "platform :ios, '14.0'\n\ntarget 'App' do\n  :TRIPLECCREPLACEME\n  pod 'Lint'\nend\n";
        let rendered =
            render_podfile_template(template, &[pin("A", "0.1.0"), pin("B/Core", "1.2.0")])
                .unwrap();
        assert_eq!(
            rendered,
            "platform :ios, '14.0'\n\ntarget 'App' do\n  pod 'A', '= 0.1.0'\n  pod 'B/Core', '= 1.2.0'\n  pod 'Lint'\nend\n"
        );
    }

    #[test]
    fn the_bytes_around_the_placeholder_are_kept_even_without_a_final_newline() {
        let template = "# héhé 🎉\r\n\t:TRIPLECCREPLACEME # pinned\r\nend";
        let rendered = render_podfile_template(template, &[pin("A", "1.0.0")]).unwrap();
        assert_eq!(
            rendered,
            "# héhé 🎉\r\n\tpod 'A', '= 1.0.0' # pinned\r\nend"
        );
    }

    #[test]
    fn no_pins_removes_the_placeholder_line() {
        let template = "target 'App' do\n  :TRIPLECCREPLACEME\nend\n";
        let rendered = render_podfile_template(template, &[]).unwrap();
        assert_eq!(rendered, "target 'App' do\nend\n");
    }

    #[test]
    fn a_template_without_the_placeholder_is_an_error_that_says_what_to_do() {
        let err = render_podfile_template("target 'App' do\nend\n", &[]).unwrap_err();
        assert_eq!(err.line, 1);
        assert_eq!(
            err.message,
            "the PodfileTemplate has no `:TRIPLECCREPLACEME` placeholder: add it on its own line \
             where the released pods should be pinned"
        );
    }

    #[test]
    fn a_template_with_two_placeholders_is_an_error_naming_both_lines() {
        let template = ":TRIPLECCREPLACEME\ntarget 'T' do\n  :TRIPLECCREPLACEME\nend\n";
        let err = render_podfile_template(template, &[pin("A", "1.0.0")]).unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(
            err.message,
            "the PodfileTemplate has 2 `:TRIPLECCREPLACEME` placeholders (lines 1, 3): keep \
             exactly one"
        );
    }

    #[test]
    fn a_placeholder_after_other_text_on_its_line_is_an_error() {
        let err = render_podfile_template("pod 'X' :TRIPLECCREPLACEME\n", &[]).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(
            err.message
                .starts_with("`:TRIPLECCREPLACEME` must be alone")
        );
    }

    #[test]
    fn a_pin_with_a_quote_is_refused_rather_than_written_as_broken_ruby() {
        let err =
            render_podfile_template(":TRIPLECCREPLACEME\n", &[pin("A'B", "1.0")]).unwrap_err();
        assert_eq!(
            err.message,
            "cannot pin pod \"A'B\" at version \"1.0\": names and versions must be non-empty and \
             contain no quote, backslash or line break"
        );
    }
}
