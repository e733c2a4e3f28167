//! How fast Convoy may talk to GitLab: a requests-per-second budget, a limit on requests in
//! flight that adapts to GitLab's answers, and a pause that every request honours once GitLab
//! says it is rate limiting.
//!
//! - **Budget.** GitLab.com allows 2,000 authenticated API requests per minute; a self-managed
//!   instance has whatever its admin set (`throttle_authenticated_api_requests_per_period`).
//!   With a budget configured, no more than that many requests per second leave Convoy.
//! - **In flight.** Starts at the configured maximum; a 429 or 5xx halves it, once per round
//!   of requests sent at that limit (so a burst of failures counts once, as TCP does); each
//!   `limit` answers without trouble raise it by one, back to the maximum.
//! - **Pause.** A 429 carries `Retry-After` (and `RateLimit-Reset`), as
//!   `Gitlab::RackAttack.throttled_response_headers` sets them: from then until that moment no
//!   request is sent, not only the one that was refused. An answer saying
//!   `RateLimit-Remaining: 0` pauses until its `RateLimit-Reset` the same way.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::metrics;

/// The longest pause GitLab's headers can impose (GitLab's throttle periods are at most an
/// hour, but Convoy would rather ask again than stand still that long).
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// What one answer said about GitLab's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// An answer that was not a refusal for load.
    Fine,
    /// 5xx or no answer: GitLab is struggling.
    Overloaded,
    /// A 429, or `RateLimit-Remaining: 0`: nobody sends anything for `pause`.
    Throttled { pause: Duration },
}

/// Shared by every request of one GitLab client.
#[derive(Debug)]
pub(crate) struct Budget {
    per_second: Option<DefaultDirectRateLimiter>,
    max_in_flight: usize,
    state: Mutex<State>,
    freed: Notify,
}

#[derive(Debug)]
struct State {
    limit: usize,
    in_flight: usize,
    /// Raised each time the limit is cut: a failure of a request sent before the cut does
    /// not cut again.
    round: u64,
    /// Answers without trouble since the limit last changed.
    fine: usize,
    paused_until: Option<Instant>,
}

/// A request's place in flight. [`Slot::finish`] gives it back with what the answer said; a
/// request dropped half way (its caller gave up on it) gives it back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    budget: Arc<Budget>,
    round: u64,
    finished: bool,
}

impl Slot {
    pub(crate) fn finish(mut self, verdict: Verdict) {
        self.finished = true;
        self.budget.finish(self.round, verdict);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.finished {
            self.budget.give_back();
        }
    }
}

impl Budget {
    /// `requests_per_second`: the budget (none: only GitLab's own answers slow Convoy down).
    pub(crate) fn new(requests_per_second: Option<NonZeroU32>, max_in_flight: usize) -> Arc<Self> {
        let max_in_flight = max_in_flight.max(1);
        metrics::record_in_flight_limit(max_in_flight);
        Arc::new(Budget {
            per_second: requests_per_second.map(|rps| RateLimiter::direct(Quota::per_second(rps))),
            max_in_flight,
            state: Mutex::new(State {
                limit: max_in_flight,
                in_flight: 0,
                round: 0,
                fine: 0,
                paused_until: None,
            }),
            freed: Notify::new(),
        })
    }

    /// Waits for a pause to end, a place in flight and the budget's next token, in that order.
    pub(crate) async fn start(self: &Arc<Self>) -> Slot {
        let slot = loop {
            let freed = self.freed.notified();
            let wait = {
                let mut state = self.state.lock().expect("budget lock");
                match state.paused_until {
                    Some(until) if until > Instant::now() => Some(until),
                    _ if state.in_flight < state.limit => {
                        state.in_flight += 1;
                        break Slot {
                            budget: self.clone(),
                            round: state.round,
                            finished: false,
                        };
                    }
                    _ => None,
                }
            };
            match wait {
                Some(until) => tokio::time::sleep_until(until).await,
                None => freed.await,
            }
        };
        if let Some(limiter) = &self.per_second {
            limiter.until_ready().await;
        }
        slot
    }

    /// Gives a place back without an answer to learn from.
    fn give_back(&self) {
        self.state.lock().expect("budget lock").in_flight -= 1;
        self.freed.notify_waiters();
    }

    /// Gives the place of a request sent in `round` back and learns from the answer.
    fn finish(&self, round: u64, verdict: Verdict) {
        let mut state = self.state.lock().expect("budget lock");
        state.in_flight -= 1;
        match verdict {
            Verdict::Fine => {
                state.fine += 1;
                if state.fine >= state.limit && state.limit < self.max_in_flight {
                    state.limit += 1;
                    state.fine = 0;
                    metrics::record_in_flight_limit(state.limit);
                }
            }
            Verdict::Overloaded => Self::cut(&mut state, round),
            Verdict::Throttled { pause } => {
                Self::cut(&mut state, round);
                let until = Instant::now() + pause.min(MAX_PAUSE);
                if state.paused_until.is_none_or(|current| current < until) {
                    state.paused_until = Some(until);
                }
            }
        }
        drop(state);
        self.freed.notify_waiters();
    }

    fn cut(state: &mut State, round: u64) {
        if round != state.round {
            return;
        }
        state.round += 1;
        state.fine = 0;
        state.limit = (state.limit / 2).max(1);
        metrics::record_in_flight_limit(state.limit);
    }

    #[cfg(test)]
    fn limit(&self) -> usize {
        self.state.lock().expect("budget lock").limit
    }
}

/// What an answer's status and headers say (`Retry-After` in seconds; `RateLimit-Reset` in
/// Unix seconds, from `Gitlab::RackAttack.throttled_response_headers`).
pub(crate) fn verdict(status: http::StatusCode, headers: &http::HeaderMap) -> Verdict {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
    };
    let until_reset = || {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        Some(Duration::from_secs(
            number("RateLimit-Reset")?.saturating_sub(now),
        ))
    };
    let pause = || {
        number("Retry-After")
            .map(Duration::from_secs)
            .or_else(until_reset)
            .unwrap_or(Duration::from_secs(1))
    };
    if status == http::StatusCode::TOO_MANY_REQUESTS {
        return Verdict::Throttled { pause: pause() };
    }
    if status.is_server_error() {
        return Verdict::Overloaded;
    }
    match until_reset() {
        Some(pause) if number("RateLimit-Remaining") == Some(0) => Verdict::Throttled { pause },
        _ => Verdict::Fine,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_throttled_answer_pauses_every_request_until_gitlab_said() {
        let budget = Budget::new(None, 4);
        let first = budget.start().await;
        first.finish(Verdict::Throttled {
            pause: Duration::from_secs(7),
        });
        // Time is the test's own (paused tokio clock): the next request starts when the pause
        // is over, not before.
        let asked = Instant::now();
        let next = budget.start().await;
        assert_eq!(Instant::now() - asked, Duration::from_secs(7));
        next.finish(Verdict::Fine);
    }

    #[tokio::test]
    async fn failures_of_one_round_halve_the_limit_once_and_good_answers_raise_it_again() {
        let budget = Budget::new(None, 8);
        let slots: Vec<Slot> = take_slots(&budget, 8).await;
        for slot in slots {
            slot.finish(Verdict::Overloaded);
        }
        assert_eq!(budget.limit(), 4, "eight failures sent together count once");
        budget.start().await.finish(Verdict::Overloaded);
        assert_eq!(budget.limit(), 2, "a failure after the cut cuts again");
        for _ in 0..2 {
            budget.start().await.finish(Verdict::Fine);
        }
        assert_eq!(budget.limit(), 3, "`limit` good answers raise it by one");
    }

    #[tokio::test]
    async fn no_more_requests_are_in_flight_than_the_limit() {
        let budget = Budget::new(None, 2);
        let held = take_slots(&budget, 2).await;
        let third = tokio::spawn({
            let budget = budget.clone();
            async move { budget.start().await }
        });
        tokio::task::yield_now().await;
        assert!(!third.is_finished(), "a third request waits for a place");
        let mut held = held.into_iter();
        held.next().unwrap().finish(Verdict::Fine);
        let third = third.await.unwrap();
        // A request dropped half way gives its place back too.
        drop(held.next().unwrap());
        third.finish(Verdict::Fine);
        let both = async { (budget.start().await, budget.start().await) };
        let (a, b) = tokio::time::timeout(Duration::from_secs(30), both)
            .await
            .expect("the dropped request's place was given back");
        a.finish(Verdict::Fine);
        b.finish(Verdict::Fine);
    }

    #[test]
    fn gitlab_s_throttle_headers_are_read() {
        let mut headers = http::HeaderMap::new();
        headers.insert("Retry-After", "42".parse().unwrap());
        assert_eq!(
            verdict(http::StatusCode::TOO_MANY_REQUESTS, &headers),
            Verdict::Throttled {
                pause: Duration::from_secs(42)
            }
        );
        assert_eq!(
            verdict(http::StatusCode::BAD_GATEWAY, &headers),
            Verdict::Overloaded
        );
        let mut spent = http::HeaderMap::new();
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 30;
        spent.insert("RateLimit-Remaining", "0".parse().unwrap());
        spent.insert("RateLimit-Reset", reset.to_string().parse().unwrap());
        let Verdict::Throttled { pause } = verdict(http::StatusCode::OK, &spent) else {
            panic!("RateLimit-Remaining: 0 pauses");
        };
        assert!((29..=30).contains(&pause.as_secs()), "{pause:?}");
        assert_eq!(
            verdict(http::StatusCode::OK, &http::HeaderMap::new()),
            Verdict::Fine
        );
    }

    async fn take_slots(budget: &Arc<Budget>, n: usize) -> Vec<Slot> {
        let mut slots = Vec::new();
        for _ in 0..n {
            slots.push(budget.start().await);
        }
        slots
    }
}
