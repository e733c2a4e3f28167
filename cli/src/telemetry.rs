//! Logging: tracing to stderr, filtered by `RUST_LOG`. `CONVOY_LOG_FORMAT=json` writes one
//! JSON object per line, carrying the fields of the spans the line was logged in (the worker
//! opens a `release` span with `release_id` and a `component` span with `component` around
//! each step) under `span` (the innermost) and `spans` (all, outermost first). The default,
//! `human`, is the readable format, coloured only on a terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The variable that chooses the log format.
pub const FORMAT_VARIABLE: &str = "CONVOY_LOG_FORMAT";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// For people: `2026-11-21T20:07:39Z  INFO span{field=…}: message field=…`.
    Human,
    /// For log collectors: one JSON object per line.
    Json,
}

impl LogFormat {
    /// Reads `CONVOY_LOG_FORMAT` (`human` when unset); an unknown value is an error sentence.
    pub fn parse(value: Option<&str>) -> Result<LogFormat, String> {
        match value.map(str::trim) {
            None | Some("") | Some("human") | Some("text") => Ok(LogFormat::Human),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!(
                "{FORMAT_VARIABLE}={other:?} is not a log format: use json or human; logging in the human format"
            )),
        }
    }
}

/// Installs the subscriber; `default` applies when `RUST_LOG` is not set. A bad
/// `CONVOY_LOG_FORMAT` is reported and the human format used: logging never stops Convoy.
pub fn init(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let format = LogFormat::parse(std::env::var(FORMAT_VARIABLE).ok().as_deref()).unwrap_or_else(
        |sentence| {
            eprintln!("warning: {sentence}");
            LogFormat::Human
        },
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_human_format_is_the_default_and_json_is_chosen_by_name() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Human));
        assert_eq!(LogFormat::parse(Some("human")), Ok(LogFormat::Human));
        assert_eq!(LogFormat::parse(Some("json")), Ok(LogFormat::Json));
    }

    #[test]
    fn an_unknown_format_is_named_with_the_choices() {
        let error = LogFormat::parse(Some("xml")).unwrap_err();
        assert!(
            error.contains("\"xml\" is not a log format: use json or human"),
            "{error}"
        );
    }
}
