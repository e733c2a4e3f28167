//! Waiting for a condition, never for a time: a test that waits for "3 seconds" fails on a
//! loaded machine, one that waits until something holds does not.

use std::time::{Duration, Instant};

/// How often the condition is looked at.
const POLL: Duration = Duration::from_millis(50);

/// Waits until `done` holds, or `patience` has passed; returns whether it holds. `patience`
/// only stops a test that would hang: make it generous, and assert on the result.
pub async fn eventually(patience: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}
