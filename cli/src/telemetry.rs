//! Logging: structured tracing to stderr, filtered by `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// Installs the subscriber; `default` applies when `RUST_LOG` is not set.
pub fn init(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
