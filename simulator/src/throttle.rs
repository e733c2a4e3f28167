//! GitLab's authenticated API throttle (`Gitlab::RackAttack`, throttle
//! `throttle_authenticated_api`): at most `requests_per_period` API requests per user in each
//! period of `period_seconds`, counted in fixed windows aligned to the Unix clock as
//! Rack::Attack counts them (`Rack::Attack::Throttle`: the key holds `epoch_time / period`).
//! Past the limit GitLab answers 429 `Retry later` with the headers of
//! `Gitlab::RackAttack.throttled_response_headers` and the text of
//! `Gitlab::Throttle.rate_limiting_response_text`. Off by default, as on a new self-managed
//! instance (`throttle_authenticated_api_enabled` is false); GitLab.com allows 2,000 a minute.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The admin settings `throttle_authenticated_api_requests_per_period` and
/// `throttle_authenticated_api_period_in_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiRateLimit {
    pub requests_per_period: u32,
    pub period_seconds: u64,
}

/// Counts requests per window; one user (the simulator's token) is all there is to count.
#[derive(Debug)]
pub(crate) struct Throttle {
    limit: Option<ApiRateLimit>,
    window: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    index: u64,
    count: u32,
    /// Requests answered 429 so far (an observation for tests, not a GitLab rule).
    throttled: u64,
}

impl Throttle {
    pub(crate) fn new(limit: Option<ApiRateLimit>) -> Self {
        Throttle {
            limit,
            window: Mutex::new(Window::default()),
        }
    }

    /// Counts one request; `Some(headers)` when it is over the limit and must get a 429.
    pub(crate) fn count(&self) -> Option<Vec<(String, String)>> {
        let limit = self.limit.as_ref()?;
        let period = limit.period_seconds.max(1);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if window.index != now / period {
            window.index = now / period;
            window.count = 0;
        }
        window.count += 1;
        if window.count <= limit.requests_per_period {
            return None;
        }
        window.throttled += 1;
        Some(throttled_response_headers(limit, window.count, now))
    }

    pub(crate) fn throttled(&self) -> u64 {
        self.window
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .throttled
    }
}

/// `Gitlab::RackAttack.throttled_response_headers` (`RateLimit-ResetTime`, an HTTP date, is
/// left out: nothing reads it).
fn throttled_response_headers(
    limit: &ApiRateLimit,
    observed: u32,
    now: u64,
) -> Vec<(String, String)> {
    let period = limit.period_seconds.max(1);
    let rounded_limit = (u64::from(limit.requests_per_period) * 60).div_ceil(period);
    let retry_after = period - now % period;
    vec![
        ("RateLimit-Name".into(), "throttle_authenticated_api".into()),
        ("RateLimit-Limit".into(), rounded_limit.to_string()),
        ("RateLimit-Observed".into(), observed.to_string()),
        ("RateLimit-Remaining".into(), "0".into()),
        ("RateLimit-Reset".into(), (now + retry_after).to_string()),
        ("Retry-After".into(), retry_after.to_string()),
    ]
}
