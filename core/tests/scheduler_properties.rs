//! The scheduler on random plans and random completion orders: a simulated worker acts on
//! whatever the scheduler hands out, and pipelines finish (or fail) in a random order.

use std::collections::{BTreeMap, BTreeSet};

use convoy_core::component::{self, ComponentEvent, ComponentState};
use convoy_core::manifest::podspec::{Podspec, PodspecDependency};
use convoy_core::plan::{ComponentInput, ReleasePlan};
use convoy_core::scheduler::{ComponentStatus, Schedule, SchedulerOptions, schedule};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;

/// A random release: a DAG, where each component starts, and how the run unfolds.
#[derive(Debug, Clone)]
struct Scenario {
    /// `dependencies[i]` are indices below `i`, so the graph is acyclic.
    dependencies: Vec<Vec<usize>>,
    /// Component names, shuffled so that name order and plan order disagree.
    names: Vec<String>,
    /// Whether each component starts merged (its branch was in the target) or pending.
    starts_merged: Vec<bool>,
    /// Per completion: which running component finishes, and a roll that fails it when < 15.
    completions: Vec<(Index, u8)>,
    /// At most this many running pipelines.
    cap: Option<usize>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (1usize..=12).prop_flat_map(|size| {
        (
            prop::collection::vec(prop::bool::weighted(0.3), size * size),
            Just((0..size).map(|i| format!("Pod{i:02}")).collect::<Vec<_>>()).prop_shuffle(),
            prop::collection::vec(any::<bool>(), size),
            prop::collection::vec((any::<Index>(), 0u8..100), 2 * size),
            prop_oneof![Just(None), (1usize..=3).prop_map(Some)],
        )
            .prop_map(move |(edges, names, starts_merged, completions, cap)| {
                let dependencies = (0..size)
                    .map(|i| (0..i).filter(|j| edges[i * size + j]).collect())
                    .collect();
                Scenario {
                    dependencies,
                    names,
                    starts_merged,
                    completions,
                    cap,
                }
            })
    })
}

/// Builds the plan through `ReleasePlan::build`, some dependencies written as subspecs.
fn build_plan(scenario: &Scenario) -> ReleasePlan {
    let inputs = scenario
        .names
        .iter()
        .zip(&scenario.dependencies)
        .map(|(name, dependencies)| ComponentInput {
            name: name.clone(),
            git_url: format!("git@gitlab.example.com:ios/{name}.git"),
            branch: "release/1.0.0".to_string(),
            project_path: format!("ios/{name}"),
            podspec_path: format!("{name}.podspec"),
            podspec: Podspec {
                name: Some(name.clone()),
                version: Some("0.9.0".to_string()),
                dependencies: dependencies
                    .iter()
                    .map(|&j| PodspecDependency {
                        name: if j % 2 == 0 {
                            scenario.names[j].clone()
                        } else {
                            format!("{}/Core", scenario.names[j])
                        },
                        requirement: None,
                    })
                    .collect(),
                ..Podspec::default()
            },
        })
        .collect();
    ReleasePlan::build(inputs).expect("a DAG of indices below each node has no cycle")
}

/// A simulated release: the states the worker would store.
struct Run {
    plan: ReleasePlan,
    statuses: BTreeMap<String, ComponentStatus>,
    options: SchedulerOptions,
    failed: BTreeSet<String>,
}

impl Run {
    fn new(scenario: &Scenario) -> Run {
        let plan = build_plan(scenario);
        let statuses = scenario
            .names
            .iter()
            .zip(&scenario.starts_merged)
            .map(|(name, merged)| {
                let state = if *merged {
                    ComponentState::Merged
                } else {
                    ComponentState::Pending
                };
                let status = ComponentStatus {
                    state,
                    acted: false,
                    gate_open: true,
                };
                (name.clone(), status)
            })
            .collect();
        let options = SchedulerOptions {
            max_running: scenario.cap,
            expected_seconds: scenario
                .names
                .iter()
                .enumerate()
                .map(|(i, name)| (name.clone(), 30 * (i as u64 % 4)))
                .collect(),
        };
        Run {
            plan,
            statuses,
            options,
            failed: BTreeSet::new(),
        }
    }

    fn state(&self, name: &str) -> ComponentState {
        self.statuses[name].state
    }

    fn is_released(&self, name: &str) -> bool {
        self.state(name) == ComponentState::Success
    }

    /// Moves a component with the real machine, as the worker does; the store keeps `acted`.
    fn apply(&mut self, name: &str, event: ComponentEvent) {
        let transition = component::decide(self.state(name), &event)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        self.statuses.get_mut(name).unwrap().state = transition.state;
        if transition.state == ComponentState::Failed {
            self.failed.insert(name.to_string());
        }
    }

    /// Acts on a ready component: requests the merge, or creates the tag.
    fn act(&mut self, name: &str) {
        self.apply(name, ComponentEvent::DependenciesReleased);
        self.statuses.get_mut(name).unwrap().acted = true;
    }

    /// Components whose pipeline is running.
    fn running(&self) -> Vec<String> {
        self.statuses
            .iter()
            .filter(|(_, status)| match status.state {
                ComponentState::Deploying => true,
                ComponentState::Pending => status.acted,
                _ => false,
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// A running pipeline finishes: the MR merges (or is closed), the tag pipeline passes
    /// (or fails).
    fn complete(&mut self, name: &str, fails: bool) {
        let event = match (self.state(name), fails) {
            (ComponentState::Pending, false) => ComponentEvent::MergeRequestMerged {
                target: "main".to_owned(),
            },
            (ComponentState::Pending, true) => ComponentEvent::MergeRequestClosed,
            (_, false) => ComponentEvent::TagPipelineSucceeded,
            (_, true) => ComponentEvent::TagPipelineFailed {
                reason: "job publish failed".to_string(),
            },
        };
        self.apply(name, event);
    }

    /// What the scheduler must hand out when there is no cap.
    fn expected_ready(&self) -> BTreeSet<String> {
        self.plan
            .components
            .iter()
            .filter(|planned| {
                let status = &self.statuses[&planned.name];
                let waiting = match status.state {
                    ComponentState::Pending => !status.acted && status.gate_open,
                    ComponentState::Merged => true,
                    _ => false,
                };
                waiting && planned.dependencies.iter().all(|d| self.is_released(d))
            })
            .map(|planned| planned.name.clone())
            .collect()
    }

    fn schedule(&self) -> Schedule {
        schedule(&self.plan.graph(), &self.statuses, &self.options)
    }

    /// Every component `name` depends on, transitively, found by walking the stored
    /// dependency lists (not the graph under test), sorted.
    fn ancestors(&self, name: &str) -> Vec<String> {
        let mut found = BTreeSet::new();
        let mut stack = vec![name.to_string()];
        while let Some(next) = stack.pop() {
            for dependency in &self.plan.component(&next).unwrap().dependencies {
                if found.insert(dependency.clone()) {
                    stack.push(dependency.clone());
                }
            }
        }
        found.into_iter().collect()
    }
}

/// What must hold of every schedule, whatever happened before.
fn check_schedule(run: &Run, schedule: &Schedule) -> Result<(), TestCaseError> {
    for name in &schedule.ready {
        for ancestor in run.ancestors(name) {
            prop_assert!(
                run.is_released(&ancestor),
                "{name} is ready while {ancestor} is {:?}",
                run.state(&ancestor)
            );
        }
    }
    let ready: BTreeSet<String> = schedule.ready.iter().cloned().collect();
    prop_assert_eq!(
        ready.len(),
        schedule.ready.len(),
        "a component is ready twice"
    );
    let expected = run.expected_ready();
    match run.options.max_running {
        None => prop_assert_eq!(&ready, &expected),
        Some(cap) => {
            prop_assert!(ready.is_subset(&expected));
            let free = cap.saturating_sub(run.running().len());
            prop_assert_eq!(ready.len(), expected.len().min(free));
        }
    }
    for planned in &run.plan.components {
        let name = &planned.name;
        if run.is_released(name) {
            prop_assert!(!schedule.waiting_on.contains_key(name));
            continue;
        }
        let unreleased_dependencies: Vec<String> = planned
            .dependencies
            .iter()
            .filter(|dependency| !run.is_released(dependency))
            .cloned()
            .collect();
        prop_assert_eq!(&schedule.waiting_on[name], &unreleased_dependencies);
    }
    Ok(())
}

/// Runs the scenario to its end; fails if it does not end within two completions per
/// component (merge, then tag pipeline).
fn simulate(scenario: &Scenario) -> Result<(Run, Schedule), TestCaseError> {
    let mut run = Run::new(scenario);
    let mut completions = scenario.completions.iter();
    loop {
        let schedule = run.schedule();
        check_schedule(&run, &schedule)?;
        if schedule.all_released || schedule.stalled {
            return Ok((run, schedule));
        }
        for name in &schedule.ready {
            run.act(name);
        }
        let running = run.running();
        if let Some(cap) = run.options.max_running {
            prop_assert!(
                running.len() <= cap,
                "{} running over a cap of {cap}",
                running.len()
            );
        }
        prop_assert!(
            !running.is_empty(),
            "nothing runs and nothing is ready, yet the release is neither done nor stalled"
        );
        let Some((pick, roll)) = completions.next() else {
            return Err(TestCaseError::fail(
                "the run did not end within 2 completions per component",
            ));
        };
        run.complete(&running[pick.index(running.len())], *roll < 15);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_run_ends_released_or_stalled_with_a_ready_set_that_respects_dependencies(
        scenario in scenario()
    ) {
        let (run, last) = simulate(&scenario)?;
        prop_assert_eq!(last.all_released, run.failed.is_empty());
        prop_assert_eq!(last.stalled, !run.failed.is_empty());
    }

    #[test]
    fn a_failed_component_blocks_only_its_descendants(scenario in scenario()) {
        let (run, last) = simulate(&scenario)?;
        for planned in &run.plan.components {
            let name = &planned.name;
            let failed_ancestors: Vec<String> = run
                .ancestors(name)
                .into_iter()
                .filter(|ancestor| run.failed.contains(ancestor))
                .collect();
            if run.failed.contains(name) {
                prop_assert_eq!(run.state(name), ComponentState::Failed);
            } else if failed_ancestors.is_empty() {
                prop_assert_eq!(run.state(name), ComponentState::Success, "{} never finished", name);
            } else {
                prop_assert_ne!(run.state(name), ComponentState::Success);
                prop_assert_eq!(&last.blocked[name], &failed_ancestors);
            }
        }
        prop_assert!(last.blocked.keys().all(|name| !run.is_released(name)));
    }

    #[test]
    fn the_plan_graph_holds_every_transitive_ancestor_and_orders_dependencies_first(
        scenario in scenario()
    ) {
        let run = Run::new(&scenario);
        let graph = run.plan.graph();
        let mut position = vec![usize::MAX; graph.len()];
        for (at, &i) in graph.order().iter().enumerate() {
            position[i] = at;
        }
        prop_assert!(position.iter().all(|&at| at != usize::MAX), "every component is ordered");
        for planned in &run.plan.components {
            let name = &planned.name;
            let i = graph.index_of(name).unwrap();
            prop_assert_eq!(graph.ancestors(name), run.ancestors(name));
            for &j in graph.dependencies_of(i) {
                prop_assert!(position[j] < position[i], "{} is ordered before its dependency", name);
                prop_assert!(graph.dependents_of(j).contains(&i));
            }
            let descendants: Vec<String> = run
                .plan
                .components
                .iter()
                .filter(|other| run.ancestors(&other.name).contains(name))
                .map(|other| other.name.clone())
                .collect();
            let mut sorted = descendants;
            sorted.sort();
            prop_assert_eq!(graph.descendants(name), sorted);
        }
    }
}
