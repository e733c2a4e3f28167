//! Fault injection: slow answers, 500s, 429s, lost/duplicated/late webhooks, merge conflicts.
//! Random-looking decisions are deterministic: the n-th roll of a kind depends only on the seed.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The faults in force. Rates are fractions between 0.0 (never) and 1.0 (always).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Added to every API answer.
    pub latency_ms: u64,
    /// Fraction of API requests answered `500 Internal Server Error`.
    pub error_rate: f64,
    /// Fraction of API requests answered `429 Too Many Requests` with `Retry-After: 1`.
    pub rate_limit_rate: f64,
    /// Seed of the deterministic rolls.
    pub seed: u64,
    /// Fraction of webhook deliveries never sent (1.0 = all).
    pub webhook_drop_rate: f64,
    /// Fraction of webhook deliveries sent twice (same `Idempotency-Key`).
    pub webhook_duplicate_rate: f64,
    /// Fraction of webhook deliveries held back by `webhook_reorder_delay_ms`, so later events
    /// overtake them.
    pub webhook_reorder_rate: f64,
    pub webhook_reorder_delay_ms: u64,
    /// Merge requests that cannot be merged (`406 Branch cannot be merged`): a project path
    /// for all its merge requests (`ios/core-kit`), or one merge request (`ios/core-kit!1`).
    pub merge_conflict_projects: BTreeSet<String>,
    /// Every request to merge request notes answered `503 Service Unavailable`: one part of
    /// GitLab down while the rest answers.
    pub notes_unavailable: bool,
}

/// What kind of decision a roll is for; each kind has its own sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Roll {
    ServerError,
    RateLimit,
    WebhookDrop,
    WebhookDuplicate,
    WebhookReorder,
}

#[derive(Debug, Default)]
struct FaultState {
    faults: Faults,
    counters: [u64; 5],
}

/// A handle to change faults while the simulator runs. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FaultControl {
    state: Arc<Mutex<FaultState>>,
}

impl FaultControl {
    pub(crate) fn new(faults: Faults) -> FaultControl {
        FaultControl {
            state: Arc::new(Mutex::new(FaultState {
                faults,
                counters: [0; 5],
            })),
        }
    }

    /// The faults in force now.
    pub fn get(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Replaces all faults (and restarts the deterministic sequences).
    pub fn set(&self, faults: Faults) {
        let mut state = self.lock();
        state.faults = faults;
        state.counters = [0; 5];
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.set(Faults::default());
    }

    pub fn set_latency_ms(&self, latency_ms: u64) {
        self.lock().faults.latency_ms = latency_ms;
    }

    pub fn set_error_rate(&self, rate: f64) {
        self.lock().faults.error_rate = rate;
    }

    pub fn set_rate_limit_rate(&self, rate: f64) {
        self.lock().faults.rate_limit_rate = rate;
    }

    pub fn set_webhook_drop_rate(&self, rate: f64) {
        self.lock().faults.webhook_drop_rate = rate;
    }

    pub fn set_webhook_duplicate_rate(&self, rate: f64) {
        self.lock().faults.webhook_duplicate_rate = rate;
    }

    pub fn set_webhook_reorder(&self, rate: f64, delay_ms: u64) {
        let mut state = self.lock();
        state.faults.webhook_reorder_rate = rate;
        state.faults.webhook_reorder_delay_ms = delay_ms;
    }

    /// Makes merge requests of `project` (a path, or `path!iid` for one) conflict, or stop
    /// conflicting.
    pub fn set_merge_conflict(&self, project: &str, conflict: bool) {
        let mut state = self.lock();
        if conflict {
            state
                .faults
                .merge_conflict_projects
                .insert(project.to_string());
        } else {
            state.faults.merge_conflict_projects.remove(project);
        }
    }

    pub(crate) fn merge_conflict(&self, project: &str, iid: u64) -> bool {
        let conflicts = &self.lock().faults.merge_conflict_projects;
        conflicts.contains(project) || conflicts.contains(&format!("{project}!{iid}"))
    }

    pub(crate) fn latency_ms(&self) -> u64 {
        self.lock().faults.latency_ms
    }

    pub(crate) fn reorder_delay_ms(&self) -> u64 {
        self.lock().faults.webhook_reorder_delay_ms
    }

    /// Takes the next decision of a kind: true with the configured probability.
    pub(crate) fn roll(&self, kind: Roll) -> bool {
        let mut state = self.lock();
        let rate = match kind {
            Roll::ServerError => state.faults.error_rate,
            Roll::RateLimit => state.faults.rate_limit_rate,
            Roll::WebhookDrop => state.faults.webhook_drop_rate,
            Roll::WebhookDuplicate => state.faults.webhook_duplicate_rate,
            Roll::WebhookReorder => state.faults.webhook_reorder_rate,
        };
        if rate <= 0.0 {
            return false;
        }
        let slot = kind as usize;
        let n = state.counters[slot];
        state.counters[slot] += 1;
        unit_fraction(state.faults.seed, slot as u64, n) < rate
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A number in [0, 1) that depends only on its inputs (splitmix64).
fn unit_fraction(seed: u64, kind: u64, n: u64) -> f64 {
    let mut z =
        seed ^ kind.wrapping_mul(0xA24B_AED4_963E_E407) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// What the webhook faults decided for one delivery, at the moment its event happened (so a
/// test changing faults right after an event knows which faults applied to it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeliveryPlan {
    pub dropped: bool,
    pub copies: u32,
    pub hold_back: Option<Duration>,
}

impl DeliveryPlan {
    pub fn decide(faults: &FaultControl) -> DeliveryPlan {
        let dropped = faults.roll(Roll::WebhookDrop);
        let copies = if faults.roll(Roll::WebhookDuplicate) {
            2
        } else {
            1
        };
        let hold_back = faults
            .roll(Roll::WebhookReorder)
            .then(|| Duration::from_millis(faults.reorder_delay_ms()));
        DeliveryPlan {
            dropped,
            copies,
            hold_back,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rolls(control: &FaultControl, kind: Roll, count: usize) -> Vec<bool> {
        (0..count).map(|_| control.roll(kind)).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_decisions() {
        let faults = Faults {
            error_rate: 0.3,
            seed: 7,
            ..Faults::default()
        };
        let first = rolls(&FaultControl::new(faults.clone()), Roll::ServerError, 50);
        let second = rolls(&FaultControl::new(faults), Roll::ServerError, 50);
        assert_eq!(first, second);
    }

    #[test]
    fn a_rate_is_roughly_respected() {
        let control = FaultControl::new(Faults {
            error_rate: 0.25,
            seed: 1,
            ..Faults::default()
        });
        let hits = rolls(&control, Roll::ServerError, 2000)
            .iter()
            .filter(|hit| **hit)
            .count();
        assert!((400..600).contains(&hits), "{hits} of 2000");
    }

    #[test]
    fn rate_one_always_and_rate_zero_never() {
        let control = FaultControl::new(Faults {
            webhook_drop_rate: 1.0,
            ..Faults::default()
        });
        assert!(
            rolls(&control, Roll::WebhookDrop, 100)
                .iter()
                .all(|hit| *hit)
        );
        assert!(
            rolls(&control, Roll::WebhookDuplicate, 100)
                .iter()
                .all(|hit| !*hit)
        );
    }
}
