//! What the GitLab client reports to the `metrics` crate: every HTTP attempt by endpoint and
//! outcome, its latency, and the waits GitLab asked for with `Retry-After`.

use std::time::Duration;

/// HTTP attempts to GitLab (counter, labels `method`, `endpoint`, `outcome`).
pub const REQUESTS: &str = "convoy_gitlab_requests_total";
/// Latency of those attempts in seconds (histogram, same labels).
pub const REQUEST_SECONDS: &str = "convoy_gitlab_request_seconds";
/// Waits GitLab asked for with `Retry-After` (429 rate limits, some 503s) (counter).
pub const RATE_LIMIT_WAITS: &str = "convoy_gitlab_rate_limit_waits_total";
/// Seconds spent in those waits (counter).
pub const RATE_LIMIT_WAIT_SECONDS: &str = "convoy_gitlab_rate_limit_wait_seconds_total";

/// How many requests to GitLab may be in flight now (gauge): the configured maximum, less
/// while GitLab answers 429 or 5xx.
pub const IN_FLIGHT_LIMIT: &str = "convoy_gitlab_in_flight_limit";

/// Help texts, and the unlabelled series at zero.
pub fn describe_metrics() {
    metrics::describe_counter!(REQUESTS, "HTTP attempts to GitLab by endpoint and outcome.");
    metrics::describe_histogram!(
        REQUEST_SECONDS,
        metrics::Unit::Seconds,
        "Latency of HTTP attempts to GitLab."
    );
    metrics::describe_counter!(RATE_LIMIT_WAITS, "Waits GitLab asked for with Retry-After.");
    metrics::describe_counter!(
        RATE_LIMIT_WAIT_SECONDS,
        metrics::Unit::Seconds,
        "Seconds waited because GitLab asked to with Retry-After."
    );
    metrics::describe_gauge!(
        IN_FLIGHT_LIMIT,
        "How many requests to GitLab may be in flight now (cut on 429 and 5xx)."
    );
    metrics::counter!(RATE_LIMIT_WAITS).absolute(0);
    metrics::counter!(RATE_LIMIT_WAIT_SECONDS).absolute(0);
}

/// Records one attempt. `outcome` is the status class (`2xx`, `4xx`, `5xx`), `429`, or
/// `error` when no answer came (connection error, timeout).
pub(crate) fn record_attempt(method: &http::Method, path: &str, outcome: &str, took: Duration) {
    let labels = [
        ("method", method.as_str().to_owned()),
        ("endpoint", endpoint(path)),
        ("outcome", outcome.to_owned()),
    ];
    metrics::counter!(REQUESTS, &labels).increment(1);
    metrics::histogram!(REQUEST_SECONDS, &labels).record(took.as_secs_f64());
}

/// The outcome label of an answer's status.
pub(crate) fn outcome_of(status: http::StatusCode) -> &'static str {
    match status.as_u16() {
        429 => "429",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Records the in-flight limit after it changed.
pub(crate) fn record_in_flight_limit(limit: usize) {
    metrics::gauge!(IN_FLIGHT_LIMIT).set(limit as f64);
}

/// Records a wait GitLab asked for.
pub(crate) fn record_rate_limit_wait(wait: Duration) {
    metrics::counter!(RATE_LIMIT_WAITS).increment(1);
    metrics::counter!(RATE_LIMIT_WAIT_SECONDS).increment(wait.as_secs());
}

/// The endpoint of a request path with its ids replaced, so that the label has a few values
/// rather than one per project, merge request or file:
/// `/api/v4/projects/ios%2Fcore-kit/merge_requests/3` → `projects/:id/merge_requests/:id`.
pub(crate) fn endpoint(path: &str) -> String {
    let path = path.trim_start_matches('/');
    let path = path.strip_prefix("api/v4/").unwrap_or(path);
    let mut out: Vec<&str> = Vec::new();
    let mut previous = "";
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let named = match previous {
            "projects" | "merge_requests" | "pipelines" | "jobs" | "hooks" => Some(":id"),
            "files" => Some(":file_path"),
            "tags" | "branches" => Some(":name"),
            "commits" => Some(":sha"),
            _ if segment.bytes().all(|b| b.is_ascii_digit()) => Some(":id"),
            _ => None,
        };
        out.push(named.unwrap_or(segment));
        previous = segment;
    }
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::endpoint;

    #[test]
    fn ids_names_and_file_paths_leave_the_endpoint_label() {
        assert_eq!(
            endpoint("/api/v4/projects/ios%2Fcore-kit/merge_requests/3/merge"),
            "projects/:id/merge_requests/:id/merge"
        );
        assert_eq!(
            endpoint("/api/v4/projects/7/repository/files/CoreKit.podspec/raw"),
            "projects/:id/repository/files/:file_path/raw"
        );
        assert_eq!(
            endpoint("/api/v4/projects/7/repository/tags/1.2.0"),
            "projects/:id/repository/tags/:name"
        );
        assert_eq!(endpoint("/api/v4/user"), "user");
    }
}
