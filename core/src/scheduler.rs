//! Who may act now, given the plan and the component states.
//!
//! A component is *ready* when every dependency in the plan is released (success) and it is
//! `pending` (MR waiting for its dependencies) or `merged` (waiting to be tagged). A failed
//! component blocks only its descendants. With a cap on concurrently running pipelines, the
//! ready components on the longest remaining chain (by expected duration) go first.
//!
//! ```text
//!      A            at first:        ready A;    D waits on B, C
//!     / \           A released:      ready B, C; D waits on B, C
//!    B   C          B failed:        C goes on;  D is blocked by B
//!     \ /           C released too:  stalled (only a person can move B)
//!      D
//! ```

use std::collections::BTreeMap;

use fixedbitset::FixedBitSet;
use serde::{Deserialize, Serialize};

use crate::component::{self, ComponentState};
use crate::plan::PlanGraph;

/// What the scheduler knows of one component besides its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentStatus {
    /// The component's state.
    pub state: ComponentState,
    /// True once Convoy has acted on it as ready (requested the merge or created the tag), so
    /// it is not handed out twice and counts as running a pipeline.
    ///
    /// Only read while `pending`: a `merged` component leaves for `deploying` in the same
    /// transition that creates its tag, and a flag left over from `pending` must not hold it.
    pub acted: bool,
    /// False while the release requires review and the MR is not marked reviewed.
    pub gate_open: bool,
}

/// Scheduling options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SchedulerOptions {
    /// At most this many components running pipelines at once (`None`: no cap).
    pub max_running: Option<usize>,
    /// Expected pipeline duration per component in seconds (from past pipelines); 60 if absent.
    pub expected_seconds: BTreeMap<String, u64>,
}

/// The scheduler's answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Schedule {
    /// Components to act on now, highest priority first.
    pub ready: Vec<String>,
    /// For each unreleased component, its direct dependencies that are not released yet: what
    /// it waits on before it can be ready (each of those waits on its own in turn).
    pub waiting_on: BTreeMap<String, Vec<String>>,
    /// For each component that can never move because something it depends on failed, was
    /// skipped or canceled: those components.
    pub blocked: BTreeMap<String, Vec<String>>,
    /// Every component is released.
    pub all_released: bool,
    /// Not all released, and nothing can move any more without a person.
    pub stalled: bool,
}

/// Expected pipeline duration when no past pipeline is known.
const DEFAULT_EXPECTED_SECONDS: u64 = 60;

/// Computes who may act now, on the plan's graph (built once per plan: [`ReleasePlan::graph`]).
///
/// A component of the plan that has no status counts as `waiting`; statuses of components
/// outside the plan are ignored. Linear in the plan's size and edges, plus a bitset
/// intersection per blocked component.
///
/// [`ReleasePlan::graph`]: crate::plan::ReleasePlan::graph
pub fn schedule(
    graph: &PlanGraph<'_>,
    statuses: &BTreeMap<String, ComponentStatus>,
    options: &SchedulerOptions,
) -> Schedule {
    let view = View::new(graph, statuses);
    let mut schedule = Schedule {
        all_released: view.unreleased.is_clear(),
        ..Schedule::default()
    };
    for i in view.unreleased.ones() {
        let name = graph.name(i).to_string();
        let waiting_on = graph.sorted_names(
            graph
                .dependencies_of(i)
                .iter()
                .copied()
                .filter(|&j| view.unreleased.contains(j)),
        );
        schedule.waiting_on.insert(name.clone(), waiting_on);
        let mut blockers = graph.ancestor_set(i).clone();
        blockers.intersect_with(&view.stopped);
        if !blockers.is_clear() {
            schedule
                .blocked
                .insert(name, graph.sorted_names(blockers.ones()));
        }
    }
    schedule.stalled = !schedule.all_released
        && view
            .unreleased
            .ones()
            .all(|i| view.stopped.contains(i) || schedule.blocked.contains_key(graph.name(i)));
    schedule.ready = prioritized(&view, options);
    schedule
}

/// The plan's graph and the statuses by plan index, read once.
struct View<'g, 'a> {
    graph: &'g PlanGraph<'a>,
    /// The status of each plan component, `None` when it has none (counts as waiting).
    statuses: Vec<Option<&'g ComponentStatus>>,
    /// Plan components not in `success`.
    unreleased: FixedBitSet,
    /// Plan components only a person can move on.
    stopped: FixedBitSet,
}

impl<'g, 'a> View<'g, 'a> {
    fn new(graph: &'g PlanGraph<'a>, statuses: &'g BTreeMap<String, ComponentStatus>) -> Self {
        let by_index: Vec<Option<&ComponentStatus>> = (0..graph.len())
            .map(|i| statuses.get(graph.name(i)))
            .collect();
        let mut unreleased = FixedBitSet::with_capacity(graph.len());
        let mut stopped = FixedBitSet::with_capacity(graph.len());
        for (i, status) in by_index.iter().enumerate() {
            let state = status.map_or(ComponentState::Waiting, |status| status.state);
            unreleased.set(i, state != ComponentState::Success);
            stopped.set(i, component::is_stopped(state));
        }
        View {
            graph,
            statuses: by_index,
            unreleased,
            stopped,
        }
    }

    /// Pending with an open gate and not yet acted on, or merged; every dependency released.
    fn is_ready(&self, i: usize) -> bool {
        let Some(status) = self.statuses[i] else {
            return false;
        };
        let waiting_for_convoy = match status.state {
            ComponentState::Pending => !status.acted && status.gate_open,
            // A merged branch was reviewed already: the gate is for the merge, not the tag.
            ComponentState::Merged => true,
            _ => false,
        };
        waiting_for_convoy
            && self
                .graph
                .dependencies_of(i)
                .iter()
                .all(|&j| !self.unreleased.contains(j))
    }

    /// Components holding a pipeline slot: a tag pipeline, or an MR pipeline Convoy started.
    fn running(&self) -> usize {
        self.statuses
            .iter()
            .flatten()
            .filter(|status| match status.state {
                ComponentState::Deploying => true,
                ComponentState::Pending => status.acted,
                _ => false,
            })
            .count()
    }
}

/// The ready components, longest remaining chain first, cut to the free pipeline slots.
fn prioritized(view: &View<'_, '_>, options: &SchedulerOptions) -> Vec<String> {
    let graph = view.graph;
    let mut ready: Vec<usize> = (0..graph.len()).filter(|&i| view.is_ready(i)).collect();
    let chains = remaining_chains(view, options);
    ready.sort_by(|&a, &b| {
        chains[b]
            .cmp(&chains[a])
            .then_with(|| graph.name(a).cmp(graph.name(b)))
    });
    if let Some(cap) = options.max_running {
        ready.truncate(cap.saturating_sub(view.running()));
    }
    ready
        .into_iter()
        .map(|i| graph.name(i).to_string())
        .collect()
}

/// For each plan index, the expected seconds of the longest chain from it through the
/// components that depend on it, counting only what is not released yet. Dependents come
/// after their dependencies in the graph's order, so walking it backwards sees them first.
fn remaining_chains(view: &View<'_, '_>, options: &SchedulerOptions) -> Vec<u64> {
    let graph = view.graph;
    let mut chains = vec![0u64; graph.len()];
    for &i in graph.order().iter().rev() {
        let own = if view.unreleased.contains(i) {
            options
                .expected_seconds
                .get(graph.name(i))
                .copied()
                .unwrap_or(DEFAULT_EXPECTED_SECONDS)
        } else {
            0
        };
        let longest_after = graph
            .dependents_of(i)
            .iter()
            .map(|&j| chains[j])
            .max()
            .unwrap_or(0);
        chains[i] = own.saturating_add(longest_after);
    }
    chains
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlannedComponent, ReleasePlan};
    use ComponentState::{Canceled, Deploying, Failed, Merged, Pending, Skipped, Success, Waiting};

    /// A plan from `(name, dependencies)` pairs, given dependencies first.
    fn plan(components: &[(&str, &[&str])]) -> ReleasePlan {
        let components = components
            .iter()
            .map(|(name, dependencies)| PlannedComponent {
                name: name.to_string(),
                git_url: format!("https://gitlab.example.com/ios/{name}.git"),
                branch: "release/0.1.0".to_string(),
                project_path: format!("ios/{name}"),
                podspec_path: format!("{name}.podspec"),
                podspec_version: Some("0.1.0".to_string()),
                default_version: "0.1.0".to_string(),
                dependencies: dependencies.iter().map(|d| d.to_string()).collect(),
            })
            .collect();
        ReleasePlan { components }
    }

    /// ```text
    ///      A
    ///     / \
    ///    B   C
    ///     \ /
    ///      D
    /// ```
    fn diamond() -> ReleasePlan {
        plan(&[("A", &[]), ("B", &["A"]), ("C", &["A"]), ("D", &["B", "C"])])
    }

    fn status(state: ComponentState) -> ComponentStatus {
        ComponentStatus {
            state,
            acted: false,
            gate_open: true,
        }
    }

    fn statuses(states: &[(&str, ComponentState)]) -> BTreeMap<String, ComponentStatus> {
        states
            .iter()
            .map(|(name, state)| (name.to_string(), status(*state)))
            .collect()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    fn no_cap() -> SchedulerOptions {
        SchedulerOptions::default()
    }

    #[test]
    fn at_first_only_the_root_is_ready_and_d_waits_on_its_direct_dependencies() {
        let all_pending = statuses(&[
            ("A", Pending),
            ("B", Pending),
            ("C", Pending),
            ("D", Pending),
        ]);
        let schedule = schedule(&diamond().graph(), &all_pending, &no_cap());
        assert_eq!(schedule.ready, names(&["A"]));
        assert_eq!(schedule.waiting_on["A"], names(&[]));
        assert_eq!(schedule.waiting_on["B"], names(&["A"]));
        assert_eq!(schedule.waiting_on["D"], names(&["B", "C"]));
        assert!(schedule.blocked.is_empty());
        assert!(!schedule.all_released && !schedule.stalled);
    }

    #[test]
    fn once_the_root_is_released_its_dependents_are_ready_together() {
        let states = statuses(&[
            ("A", Success),
            ("B", Pending),
            ("C", Merged),
            ("D", Pending),
        ]);
        let schedule = schedule(&diamond().graph(), &states, &no_cap());
        assert_eq!(schedule.ready, names(&["B", "C"]));
        assert!(!schedule.waiting_on.contains_key("A"));
        assert_eq!(schedule.waiting_on["B"], names(&[]));
        assert_eq!(schedule.waiting_on["D"], names(&["B", "C"]));
    }

    #[test]
    fn a_component_already_acted_on_is_not_handed_out_again() {
        let mut states = statuses(&[("A", Pending)]);
        states.get_mut("A").unwrap().acted = true;
        let schedule = schedule(&plan(&[("A", &[])]).graph(), &states, &no_cap());
        assert!(schedule.ready.is_empty());
    }

    #[test]
    fn a_closed_review_gate_holds_a_pending_component_but_not_a_merged_one() {
        let mut states = statuses(&[("A", Pending), ("B", Merged)]);
        for status in states.values_mut() {
            status.gate_open = false;
        }
        let schedule = schedule(&plan(&[("A", &[]), ("B", &[])]).graph(), &states, &no_cap());
        assert_eq!(schedule.ready, names(&["B"]));
    }

    #[test]
    fn a_merged_component_acted_on_while_pending_is_ready_to_be_tagged() {
        let mut states = statuses(&[("A", Merged)]);
        states.get_mut("A").unwrap().acted = true;
        let schedule = schedule(&plan(&[("A", &[])]).graph(), &states, &no_cap());
        assert_eq!(schedule.ready, names(&["A"]));
    }

    #[test]
    fn a_failed_component_blocks_only_its_descendants() {
        let states = statuses(&[
            ("A", Success),
            ("B", Failed),
            ("C", Pending),
            ("D", Pending),
        ]);
        let schedule = schedule(&diamond().graph(), &states, &no_cap());
        assert_eq!(schedule.ready, names(&["C"]));
        assert_eq!(schedule.blocked.len(), 1);
        assert_eq!(schedule.blocked["D"], names(&["B"]));
        assert!(!schedule.stalled);
    }

    #[test]
    fn the_release_stalls_when_only_blocked_and_failed_components_are_left() {
        let states = statuses(&[
            ("A", Success),
            ("B", Failed),
            ("C", Success),
            ("D", Pending),
        ]);
        let schedule = schedule(&diamond().graph(), &states, &no_cap());
        assert!(schedule.ready.is_empty());
        assert_eq!(schedule.blocked["D"], names(&["B"]));
        assert!(schedule.stalled);
        assert!(!schedule.all_released);
    }

    #[test]
    fn skipped_and_canceled_components_block_like_failed_ones() {
        let states = statuses(&[
            ("A", Skipped),
            ("B", Canceled),
            ("C", Pending),
            ("D", Pending),
        ]);
        let schedule = schedule(&diamond().graph(), &states, &no_cap());
        assert_eq!(schedule.blocked["B"], names(&["A"]));
        assert_eq!(schedule.blocked["C"], names(&["A"]));
        assert_eq!(schedule.blocked["D"], names(&["A", "B"]));
        assert!(schedule.stalled);
    }

    #[test]
    fn a_component_waiting_for_its_deploy_is_not_stalled() {
        let states = statuses(&[("A", Failed), ("Z", Waiting)]);
        let schedule = schedule(&plan(&[("A", &[]), ("Z", &[])]).graph(), &states, &no_cap());
        assert!(!schedule.stalled);
    }

    #[test]
    fn a_plan_component_without_status_counts_as_waiting() {
        let schedule = schedule(&diamond().graph(), &BTreeMap::new(), &no_cap());
        assert!(schedule.ready.is_empty());
        assert_eq!(schedule.waiting_on["D"], names(&["B", "C"]));
        assert!(!schedule.stalled && !schedule.all_released);
    }

    #[test]
    fn every_component_released_means_all_released_and_not_stalled() {
        let states = statuses(&[
            ("A", Success),
            ("B", Success),
            ("C", Success),
            ("D", Success),
        ]);
        let schedule = schedule(&diamond().graph(), &states, &no_cap());
        assert!(schedule.all_released && !schedule.stalled);
        assert!(schedule.ready.is_empty() && schedule.waiting_on.is_empty());
    }

    /// ```text
    ///   Long -> Mid -> Leaf      Short      Quick
    /// ```
    #[test]
    fn the_longest_remaining_chain_goes_first_and_the_cap_cuts_the_rest() {
        let plan = plan(&[
            ("Long", &[]),
            ("Mid", &["Long"]),
            ("Leaf", &["Mid"]),
            ("Quick", &[]),
            ("Short", &[]),
        ]);
        let states = statuses(&[
            ("Long", Pending),
            ("Mid", Pending),
            ("Leaf", Pending),
            ("Quick", Merged),
            ("Short", Pending),
        ]);
        let mut options = SchedulerOptions {
            max_running: None,
            expected_seconds: BTreeMap::from([
                ("Long".to_string(), 10),
                ("Short".to_string(), 200),
                ("Quick".to_string(), 200),
            ]),
        };
        // Long: 10 + 60 + 60 = 130 < Quick = Short = 200, ties by name.
        assert_eq!(
            schedule(&plan.graph(), &states, &options).ready,
            names(&["Quick", "Short", "Long"])
        );
        options.max_running = Some(2);
        assert_eq!(
            schedule(&plan.graph(), &states, &options).ready,
            names(&["Quick", "Short"])
        );
    }

    #[test]
    fn running_pipelines_take_slots_from_the_cap() {
        let plan = plan(&[("A", &[]), ("B", &[]), ("C", &[]), ("D", &[])]);
        let mut states = statuses(&[
            ("A", Deploying),
            ("B", Pending),
            ("C", Pending),
            ("D", Pending),
        ]);
        states.get_mut("B").unwrap().acted = true;
        let options = SchedulerOptions {
            max_running: Some(3),
            ..SchedulerOptions::default()
        };
        assert_eq!(
            schedule(&plan.graph(), &states, &options).ready,
            names(&["C"])
        );
        states.get_mut("C").unwrap().state = Deploying;
        assert!(schedule(&plan.graph(), &states, &options).ready.is_empty());
    }
}
