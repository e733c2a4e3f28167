//! Who may act now, given the plan and the component states.
//!
//! A component is *ready* when every dependency in the plan is released (success) and it is
//! `pending` (MR waiting for its dependencies) or `merged` (waiting to be tagged). A failed
//! component blocks only its descendants. With a cap on concurrently running pipelines, the
//! ready components on the longest remaining chain (by expected duration) go first.
//!
//! ```text
//!      A            at first:        ready A;    D waits on A, B, C
//!     / \           A released:      ready B, C; D waits on B, C
//!    B   C          B failed:        C goes on;  D is blocked by B
//!     \ /           C released too:  stalled (only a person can move B)
//!      D
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::component::ComponentState;
use crate::plan::{PlannedComponent, ReleasePlan};

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
    /// For each unreleased component, the unreleased components it waits on (transitively).
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

/// Computes who may act now.
///
/// A component of the plan that has no status counts as `created`; statuses of components
/// outside the plan are ignored.
pub fn schedule(
    plan: &ReleasePlan,
    statuses: &BTreeMap<String, ComponentStatus>,
    options: &SchedulerOptions,
) -> Schedule {
    let view = View::new(plan, statuses);
    let mut schedule = Schedule {
        all_released: view.unreleased.is_empty(),
        ..Schedule::default()
    };
    for name in &view.unreleased {
        let ancestors = plan.ancestors(name);
        let waiting_on: Vec<String> = ancestors
            .iter()
            .filter(|ancestor| view.unreleased.contains(ancestor.as_str()))
            .cloned()
            .collect();
        let blockers: Vec<String> = ancestors
            .into_iter()
            .filter(|ancestor| is_stopped(view.state(ancestor)))
            .collect();
        schedule.waiting_on.insert(name.to_string(), waiting_on);
        if !blockers.is_empty() {
            schedule.blocked.insert(name.to_string(), blockers);
        }
    }
    schedule.stalled = view
        .unreleased
        .iter()
        .all(|name| is_stopped(view.state(name)) || schedule.blocked.contains_key(*name))
        && !schedule.all_released;
    schedule.ready = prioritized(&view, options);
    schedule
}

/// True when only a person can move the component on (retry, mark released).
fn is_stopped(state: ComponentState) -> bool {
    matches!(
        state,
        ComponentState::Failed | ComponentState::Skipped | ComponentState::Canceled
    )
}

/// The plan and the statuses, read once.
struct View<'a> {
    plan: &'a ReleasePlan,
    statuses: &'a BTreeMap<String, ComponentStatus>,
    /// Plan components not in `success`, sorted.
    unreleased: BTreeSet<&'a str>,
}

impl<'a> View<'a> {
    fn new(plan: &'a ReleasePlan, statuses: &'a BTreeMap<String, ComponentStatus>) -> Self {
        let mut view = View {
            plan,
            statuses,
            unreleased: BTreeSet::new(),
        };
        view.unreleased = plan
            .components
            .iter()
            .map(|component| component.name.as_str())
            .filter(|name| view.state(name) != ComponentState::Success)
            .collect();
        view
    }

    fn state(&self, name: &str) -> ComponentState {
        self.statuses
            .get(name)
            .map_or(ComponentState::Created, |status| status.state)
    }

    fn is_released(&self, name: &str) -> bool {
        !self.unreleased.contains(name)
    }

    /// Pending with an open gate and not yet acted on, or merged; every dependency released.
    fn is_ready(&self, component: &PlannedComponent) -> bool {
        let Some(status) = self.statuses.get(&component.name) else {
            return false;
        };
        let waiting_for_convoy = match status.state {
            ComponentState::Pending => !status.acted && status.gate_open,
            // A merged branch was reviewed already: the gate is for the merge, not the tag.
            ComponentState::Merged => true,
            _ => false,
        };
        waiting_for_convoy
            && component
                .dependencies
                .iter()
                .all(|dependency| self.is_released(dependency))
    }

    /// Components holding a pipeline slot: a tag pipeline, or an MR pipeline Convoy started.
    fn running(&self) -> usize {
        self.statuses
            .iter()
            .filter(|(name, _)| self.plan.component(name).is_some())
            .filter(|(_, status)| match status.state {
                ComponentState::Deploying => true,
                ComponentState::Pending => status.acted,
                _ => false,
            })
            .count()
    }
}

/// The ready components, longest remaining chain first, cut to the free pipeline slots.
fn prioritized(view: &View<'_>, options: &SchedulerOptions) -> Vec<String> {
    let mut ready: Vec<&str> = view
        .plan
        .components
        .iter()
        .filter(|component| view.is_ready(component))
        .map(|component| component.name.as_str())
        .collect();
    let chains = remaining_chains(view, options);
    ready.sort_by(|a, b| chains[b].cmp(&chains[a]).then_with(|| a.cmp(b)));
    if let Some(cap) = options.max_running {
        ready.truncate(cap.saturating_sub(view.running()));
    }
    ready.into_iter().map(str::to_string).collect()
}

/// For each component, the expected seconds of the longest chain from it through the
/// components that depend on it, counting only what is not released yet.
fn remaining_chains<'a>(view: &View<'a>, options: &SchedulerOptions) -> HashMap<&'a str, u64> {
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    for component in &view.plan.components {
        for dependency in &component.dependencies {
            dependents
                .entry(dependency.as_str())
                .or_default()
                .push(component.name.as_str());
        }
    }
    let mut chains = HashMap::new();
    for component in &view.plan.components {
        chain_from(
            component.name.as_str(),
            view,
            options,
            &dependents,
            &mut chains,
        );
    }
    chains
}

/// Memoized longest chain from `name`; the plan is a DAG, so the recursion ends.
fn chain_from<'a>(
    name: &'a str,
    view: &View<'a>,
    options: &SchedulerOptions,
    dependents: &HashMap<&'a str, Vec<&'a str>>,
    chains: &mut HashMap<&'a str, u64>,
) -> u64 {
    if let Some(seconds) = chains.get(name) {
        return *seconds;
    }
    let own = if view.is_released(name) {
        0
    } else {
        options
            .expected_seconds
            .get(name)
            .copied()
            .unwrap_or(DEFAULT_EXPECTED_SECONDS)
    };
    let longest_after = dependents
        .get(name)
        .into_iter()
        .flatten()
        .map(|dependent| chain_from(dependent, view, options, dependents, chains))
        .max()
        .unwrap_or(0);
    let seconds = own.saturating_add(longest_after);
    chains.insert(name, seconds);
    seconds
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn at_first_only_the_root_is_ready_and_d_waits_on_everything() {
        let all_pending = statuses(&[
            ("A", Pending),
            ("B", Pending),
            ("C", Pending),
            ("D", Pending),
        ]);
        let schedule = schedule(&diamond(), &all_pending, &no_cap());
        assert_eq!(schedule.ready, names(&["A"]));
        assert_eq!(schedule.waiting_on["A"], names(&[]));
        assert_eq!(schedule.waiting_on["B"], names(&["A"]));
        assert_eq!(schedule.waiting_on["D"], names(&["A", "B", "C"]));
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
        let schedule = schedule(&diamond(), &states, &no_cap());
        assert_eq!(schedule.ready, names(&["B", "C"]));
        assert!(!schedule.waiting_on.contains_key("A"));
        assert_eq!(schedule.waiting_on["B"], names(&[]));
        assert_eq!(schedule.waiting_on["D"], names(&["B", "C"]));
    }

    #[test]
    fn a_component_already_acted_on_is_not_handed_out_again() {
        let mut states = statuses(&[("A", Pending)]);
        states.get_mut("A").unwrap().acted = true;
        let schedule = schedule(&plan(&[("A", &[])]), &states, &no_cap());
        assert!(schedule.ready.is_empty());
    }

    #[test]
    fn a_closed_review_gate_holds_a_pending_component_but_not_a_merged_one() {
        let mut states = statuses(&[("A", Pending), ("B", Merged)]);
        for status in states.values_mut() {
            status.gate_open = false;
        }
        let schedule = schedule(&plan(&[("A", &[]), ("B", &[])]), &states, &no_cap());
        assert_eq!(schedule.ready, names(&["B"]));
    }

    #[test]
    fn a_merged_component_acted_on_while_pending_is_ready_to_be_tagged() {
        let mut states = statuses(&[("A", Merged)]);
        states.get_mut("A").unwrap().acted = true;
        let schedule = schedule(&plan(&[("A", &[])]), &states, &no_cap());
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
        let schedule = schedule(&diamond(), &states, &no_cap());
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
        let schedule = schedule(&diamond(), &states, &no_cap());
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
        let schedule = schedule(&diamond(), &states, &no_cap());
        assert_eq!(schedule.blocked["B"], names(&["A"]));
        assert_eq!(schedule.blocked["C"], names(&["A"]));
        assert_eq!(schedule.blocked["D"], names(&["A", "B"]));
        assert!(schedule.stalled);
    }

    #[test]
    fn a_component_waiting_for_its_deploy_is_not_stalled() {
        let states = statuses(&[("A", Failed), ("Z", Waiting)]);
        let schedule = schedule(&plan(&[("A", &[]), ("Z", &[])]), &states, &no_cap());
        assert!(!schedule.stalled);
    }

    #[test]
    fn a_plan_component_without_status_counts_as_created() {
        let schedule = schedule(&diamond(), &BTreeMap::new(), &no_cap());
        assert!(schedule.ready.is_empty());
        assert_eq!(schedule.waiting_on["D"], names(&["A", "B", "C"]));
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
        let schedule = schedule(&diamond(), &states, &no_cap());
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
            schedule(&plan, &states, &options).ready,
            names(&["Quick", "Short", "Long"])
        );
        options.max_running = Some(2);
        assert_eq!(
            schedule(&plan, &states, &options).ready,
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
        assert_eq!(schedule(&plan, &states, &options).ready, names(&["C"]));
        states.get_mut("C").unwrap().state = Deploying;
        assert!(schedule(&plan, &states, &options).ready.is_empty());
    }
}
