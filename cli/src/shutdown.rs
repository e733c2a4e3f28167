//! Stopping cleanly on Ctrl-C (SIGINT) or SIGTERM (what `docker stop`, systemd and test
//! harnesses send).

/// Completes when the process is asked to stop.
pub async fn requested() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}
