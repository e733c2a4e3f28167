//! The release plan: the DAG of components to release, with edges to the dependencies that are
//! themselves being released.
//!
//! ```text
//!      A
//!     / \
//!    B   C      order: A, then B and C together, then D
//!     \ /
//!      D
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use fixedbitset::FixedBitSet;
use petgraph::Direction;
use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;
use serde::{Deserialize, Serialize};

use crate::manifest::podspec::Podspec;
use crate::version::default_version;

/// What analysis found for one component that needs releasing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInput {
    /// Pod name (root name, no subspec).
    pub name: String,
    /// The git URL the app's Podfile points at.
    pub git_url: String,
    /// The branch the app's Podfile points at (`release/0.1.0`).
    pub branch: String,
    /// The forge project path derived from the git URL (`group/a`).
    pub project_path: String,
    /// Path of the podspec in the component repository.
    pub podspec_path: String,
    /// The podspec as read at that branch.
    pub podspec: Podspec,
}

/// One component in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedComponent {
    /// Pod name (root name, no subspec).
    pub name: String,
    /// The git URL the app's Podfile points at.
    pub git_url: String,
    /// The branch to release.
    pub branch: String,
    /// The forge project path (`group/a`).
    pub project_path: String,
    /// Path of the podspec in the component repository.
    pub podspec_path: String,
    /// The podspec's version literal as written, when it has one.
    pub podspec_version: Option<String>,
    /// The higher of the branch's and the podspec's version.
    pub default_version: String,
    /// Direct dependencies that are themselves in the plan, sorted.
    pub dependencies: Vec<String>,
}

/// The DAG of components to release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePlan {
    /// In a topological order (dependencies first), ties by name.
    pub components: Vec<PlannedComponent>,
}

/// Why a plan cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Names the cycle: `cycle: A -> B -> A`.
    #[error("cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// Neither the branch name nor the podspec gives a version.
    #[error("component {name} has no usable version: {why}")]
    NoVersion {
        /// The component.
        name: String,
        /// What was found instead, in words.
        why: String,
    },
    /// The same pod comes from two different repositories or branches.
    #[error("component {0} appears twice with different sources")]
    Duplicate(String),
}

/// Edges point from a component to each component it depends on.
type Graph<'a> = DiGraphMap<&'a str, ()>;

impl ReleasePlan {
    /// Builds the plan from the components that need releasing.
    ///
    /// ```text
    ///      A
    ///     / \
    ///    B   C      B and C depend on A, D depends on B and C
    ///     \ /
    ///      D
    /// ```
    ///
    /// ```
    /// use convoy_core::manifest::podspec::{Podspec, PodspecDependency};
    /// use convoy_core::plan::{ComponentInput, ReleasePlan};
    ///
    /// fn input(name: &str, dependencies: &[&str]) -> ComponentInput {
    ///     ComponentInput {
    ///         name: name.to_string(),
    ///         git_url: format!("https://gitlab.example.com/ios/{name}.git"),
    ///         branch: "release/0.1.0".to_string(),
    ///         project_path: format!("ios/{name}"),
    ///         podspec_path: format!("{name}.podspec"),
    ///         podspec: Podspec {
    ///             name: Some(name.to_string()),
    ///             version: Some("0.0.9".to_string()),
    ///             dependencies: dependencies
    ///                 .iter()
    ///                 .map(|d| PodspecDependency { name: d.to_string(), requirement: None })
    ///                 .collect(),
    ///             ..Podspec::default()
    ///         },
    ///     }
    /// }
    ///
    /// let plan = ReleasePlan::build(vec![
    ///     input("D", &["B", "C"]),
    ///     input("C", &["A"]),
    ///     input("B", &["A/Core", "Alamofire"]),
    ///     input("A", &[]),
    /// ])
    /// .unwrap();
    /// let order: Vec<&str> = plan.components.iter().map(|c| c.name.as_str()).collect();
    /// assert_eq!(order, ["A", "B", "C", "D"]);
    /// assert_eq!(plan.components[1].dependencies, ["A"]);
    /// assert_eq!(plan.components[1].default_version, "0.1.0");
    /// let graph = plan.graph();
    /// assert_eq!(graph.ancestors("D"), ["A", "B", "C"]);
    /// assert_eq!(graph.descendants("A"), ["B", "C", "D"]);
    /// ```
    ///
    /// A cycle is named from its alphabetically smallest member:
    ///
    /// ```text
    ///    A --> B
    ///    ^     |
    ///    +-----+
    /// ```
    ///
    /// ```
    /// # use convoy_core::manifest::podspec::{Podspec, PodspecDependency};
    /// # use convoy_core::plan::{ComponentInput, ReleasePlan};
    /// # fn input(name: &str, dependencies: &[&str]) -> ComponentInput {
    /// #     ComponentInput {
    /// #         name: name.to_string(),
    /// #         git_url: format!("https://gitlab.example.com/ios/{name}.git"),
    /// #         branch: "release/0.1.0".to_string(),
    /// #         project_path: format!("ios/{name}"),
    /// #         podspec_path: format!("{name}.podspec"),
    /// #         podspec: Podspec {
    /// #             dependencies: dependencies
    /// #                 .iter()
    /// #                 .map(|d| PodspecDependency { name: d.to_string(), requirement: None })
    /// #                 .collect(),
    /// #             ..Podspec::default()
    /// #         },
    /// #     }
    /// # }
    /// let error = ReleasePlan::build(vec![input("B", &["A"]), input("A", &["B"])]).unwrap_err();
    /// assert_eq!(error.to_string(), "cycle: A -> B -> A");
    /// ```
    pub fn build(inputs: Vec<ComponentInput>) -> Result<ReleasePlan, PlanError> {
        let inputs = deduplicate(inputs)?;
        let graph = dependency_graph(&inputs);
        if let Some(cycle) = find_cycle(&graph) {
            return Err(PlanError::Cycle(cycle));
        }
        let components = topological_order(&graph)
            .into_iter()
            .map(|name| planned_component(&inputs[name], &graph))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ReleasePlan { components })
    }

    /// The planned component called `name`, if it is in the plan.
    pub fn component(&self, name: &str) -> Option<&PlannedComponent> {
        self.components
            .iter()
            .find(|component| component.name == name)
    }

    /// The plan's DAG by index, built once and then read by every schedule and release detail.
    pub fn graph(&self) -> PlanGraph<'_> {
        PlanGraph::new(self)
    }
}

/// The plan's DAG by index: each component's dependencies and dependents, a topological order,
/// and each component's transitive ancestors as a bitset.
///
/// Built once per plan in O(edges × components / 64), so that scheduling a pass or building a
/// release detail never rebuilds a graph per component.
#[derive(Debug, Clone)]
pub struct PlanGraph<'a> {
    plan: &'a ReleasePlan,
    index: HashMap<&'a str, usize>,
    /// `dependencies[i]`: plan indices of the in-plan dependencies of component `i`.
    dependencies: Vec<Vec<usize>>,
    /// `dependents[i]`: plan indices of the components that depend on component `i`.
    dependents: Vec<Vec<usize>>,
    /// Every plan index, each after all of its dependencies.
    order: Vec<usize>,
    /// `ancestors[i]` has bit `j` set when component `i` depends on component `j`, transitively.
    ancestors: Vec<FixedBitSet>,
}

impl<'a> PlanGraph<'a> {
    /// Indexes `plan`. Dependencies naming no plan component are left out (they are not being
    /// released, so nothing waits on them).
    pub fn new(plan: &'a ReleasePlan) -> PlanGraph<'a> {
        let index: HashMap<&str, usize> = plan
            .components
            .iter()
            .enumerate()
            .map(|(i, component)| (component.name.as_str(), i))
            .collect();
        let size = plan.components.len();
        let mut dependencies = vec![Vec::new(); size];
        let mut dependents = vec![Vec::new(); size];
        for (i, component) in plan.components.iter().enumerate() {
            for dependency in &component.dependencies {
                if let Some(&j) = index.get(dependency.as_str()) {
                    dependencies[i].push(j);
                    dependents[j].push(i);
                }
            }
        }
        let order = index_order(&dependencies, &dependents);
        let mut ancestors = vec![FixedBitSet::with_capacity(size); size];
        for &i in &order {
            let mut found = FixedBitSet::with_capacity(size);
            for &j in &dependencies[i] {
                found.insert(j);
                found.union_with(&ancestors[j]);
            }
            ancestors[i] = found;
        }
        PlanGraph {
            plan,
            index,
            dependencies,
            dependents,
            order,
            ancestors,
        }
    }

    /// The plan this graph indexes.
    pub fn plan(&self) -> &'a ReleasePlan {
        self.plan
    }

    /// The number of components.
    pub fn len(&self) -> usize {
        self.plan.components.len()
    }

    /// True for a plan without components.
    pub fn is_empty(&self) -> bool {
        self.plan.components.is_empty()
    }

    /// The plan index of component `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The name of the component at plan index `i`.
    pub fn name(&self, i: usize) -> &'a str {
        self.plan.components[i].name.as_str()
    }

    /// Plan indices of the direct in-plan dependencies of component `i`.
    pub fn dependencies_of(&self, i: usize) -> &[usize] {
        &self.dependencies[i]
    }

    /// Plan indices of the components that depend directly on component `i`.
    pub fn dependents_of(&self, i: usize) -> &[usize] {
        &self.dependents[i]
    }

    /// Every plan index, each after all of its dependencies.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The transitive ancestors of component `i` as a bitset over plan indices.
    pub fn ancestor_set(&self, i: usize) -> &FixedBitSet {
        &self.ancestors[i]
    }

    /// Every component `name` depends on in the plan, transitively, sorted.
    pub fn ancestors(&self, name: &str) -> Vec<String> {
        let Some(i) = self.index_of(name) else {
            return Vec::new();
        };
        self.sorted_names(self.ancestors[i].ones())
    }

    /// Every component that depends on `name` in the plan, transitively, sorted.
    pub fn descendants(&self, name: &str) -> Vec<String> {
        let Some(i) = self.index_of(name) else {
            return Vec::new();
        };
        let descendants = (0..self.len()).filter(|&j| self.ancestors[j].contains(i));
        self.sorted_names(descendants)
    }

    /// The names of some plan indices, sorted.
    pub fn sorted_names(&self, indices: impl IntoIterator<Item = usize>) -> Vec<String> {
        let mut names: Vec<&str> = indices.into_iter().map(|i| self.name(i)).collect();
        names.sort_unstable();
        names.into_iter().map(str::to_string).collect()
    }
}

/// Kahn's algorithm over plan indices. A stored plan is already in topological order, but a
/// plan written by hand need not be; a cycle (which `ReleasePlan::build` refuses) leaves its
/// members out.
fn index_order(dependencies: &[Vec<usize>], dependents: &[Vec<usize>]) -> Vec<usize> {
    let mut unplaced: Vec<usize> = dependencies.iter().map(Vec::len).collect();
    let mut available: VecDeque<usize> = (0..dependencies.len())
        .filter(|&i| unplaced[i] == 0)
        .collect();
    let mut order = Vec::with_capacity(dependencies.len());
    while let Some(i) = available.pop_front() {
        order.push(i);
        for &dependent in &dependents[i] {
            unplaced[dependent] -= 1;
            if unplaced[dependent] == 0 {
                available.push_back(dependent);
            }
        }
    }
    order
}

/// Keys the inputs by name; the same pod twice is fine only when it comes from the same place.
fn deduplicate(inputs: Vec<ComponentInput>) -> Result<BTreeMap<String, ComponentInput>, PlanError> {
    let mut by_name: BTreeMap<String, ComponentInput> = BTreeMap::new();
    for input in inputs {
        match by_name.get(&input.name) {
            Some(seen) if seen.git_url != input.git_url || seen.branch != input.branch => {
                return Err(PlanError::Duplicate(input.name));
            }
            Some(_) => {}
            None => {
                by_name.insert(input.name.clone(), input);
            }
        }
    }
    Ok(by_name)
}

/// The pod a dependency belongs to: `Moya/Core` belongs to `Moya`.
fn root_name(dependency: &str) -> &str {
    dependency.split('/').next().unwrap_or(dependency)
}

/// Nodes are the inputs; an edge X → Y when X's podspec depends on Y (or a subspec of Y) and Y
/// is being released too. A pod depending on its own subspecs is no edge.
fn dependency_graph(inputs: &BTreeMap<String, ComponentInput>) -> Graph<'_> {
    let mut graph = Graph::new();
    for name in inputs.keys() {
        graph.add_node(name.as_str());
    }
    for (name, input) in inputs {
        for dependency in &input.podspec.dependencies {
            let root = root_name(&dependency.name);
            if root != name
                && let Some((dependency_name, _)) = inputs.get_key_value(root)
            {
                graph.add_edge(name.as_str(), dependency_name.as_str(), ());
            }
        }
    }
    graph
}

/// A cycle as `[A, B, A]`, starting at the alphabetically smallest component on any cycle, so
/// the same manifests always give the same message.
fn find_cycle(graph: &Graph<'_>) -> Option<Vec<String>> {
    let cyclic = tarjan_scc(graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .min_by_key(|component| component.iter().min().copied())?;
    let start = cyclic.iter().min().copied()?;
    let members: BTreeSet<&str> = cyclic.into_iter().collect();
    shortest_cycle_through(graph, start, &members)
}

/// Breadth-first search back to `start` within one strongly connected component, visiting
/// neighbours by name so the cycle reported is the shortest and deterministic.
fn shortest_cycle_through(
    graph: &Graph<'_>,
    start: &str,
    members: &BTreeSet<&str>,
) -> Option<Vec<String>> {
    let mut parent: HashMap<&str, &str> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in sorted_neighbours(graph, node, Direction::Outgoing) {
            if next == start {
                return Some(cycle_path(&parent, start, node));
            }
            if members.contains(next) && next != start && !parent.contains_key(next) {
                parent.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

/// Walks the BFS parents back from `last` to `start` and closes the loop.
fn cycle_path(parent: &HashMap<&str, &str>, start: &str, last: &str) -> Vec<String> {
    let mut path = vec![last];
    let mut node = last;
    while node != start {
        node = parent[node];
        path.push(node);
    }
    path.reverse();
    path.push(start);
    path.into_iter().map(str::to_string).collect()
}

/// A node's neighbours in one direction, sorted by name.
fn sorted_neighbours<'a>(graph: &Graph<'a>, node: &'a str, direction: Direction) -> Vec<&'a str> {
    let mut neighbours: Vec<&str> = graph.neighbors_directed(node, direction).collect();
    neighbours.sort_unstable();
    neighbours
}

/// Kahn's algorithm, always taking the smallest name among those whose dependencies are all
/// placed, so the order is stable whatever order the manifests listed the pods in.
fn topological_order<'a>(graph: &Graph<'a>) -> Vec<&'a str> {
    let mut unplaced_dependencies: HashMap<&str, usize> = graph
        .nodes()
        .map(|node| {
            (
                node,
                graph.neighbors_directed(node, Direction::Outgoing).count(),
            )
        })
        .collect();
    let mut available: BTreeSet<&str> = unplaced_dependencies
        .iter()
        .filter(|(_, count)| **count == 0)
        .map(|(node, _)| *node)
        .collect();
    let mut order = Vec::with_capacity(graph.node_count());
    while let Some(node) = available.pop_first() {
        order.push(node);
        for dependent in graph.neighbors_directed(node, Direction::Incoming) {
            let count = unplaced_dependencies
                .get_mut(dependent)
                .expect("every node was counted");
            *count -= 1;
            if *count == 0 {
                available.insert(dependent);
            }
        }
    }
    order
}

/// The plan entry for one input, with its default version and in-plan dependencies.
fn planned_component<'a>(
    input: &'a ComponentInput,
    graph: &Graph<'a>,
) -> Result<PlannedComponent, PlanError> {
    let podspec_version = input.podspec.version.clone();
    let version = default_version(&input.branch, podspec_version.as_deref()).ok_or_else(|| {
        PlanError::NoVersion {
            name: input.name.clone(),
            why: no_version_reason(input),
        }
    })?;
    Ok(PlannedComponent {
        name: input.name.clone(),
        git_url: input.git_url.clone(),
        branch: input.branch.clone(),
        project_path: input.project_path.clone(),
        podspec_path: input.podspec_path.clone(),
        podspec_version,
        default_version: version.to_string(),
        dependencies: sorted_neighbours(graph, &input.name, Direction::Outgoing)
            .into_iter()
            .map(str::to_string)
            .collect(),
    })
}

/// Says what the branch and the podspec gave instead of a version.
fn no_version_reason(input: &ComponentInput) -> String {
    let podspec = match (&input.podspec.version, &input.podspec.version_note) {
        (Some(version), _) => format!("the podspec version \"{version}\" is not MAJOR.MINOR.PATCH"),
        (None, Some(note)) => format!("the podspec has no literal version ({note})"),
        (None, None) => "the podspec has no version".to_string(),
    };
    format!("branch {} names no version and {podspec}", input.branch)
}

/// The forge project path in a git URL: `https://host/group/a.git` and `git@host:group/a.git`
/// both give `group/a`.
///
/// Also reads a port (`https://host:8443/group/a`, `ssh://git@host:2222/group/a.git`), user
/// info and nested groups (`group/sub/a`). `None` when there is no `namespace/project` path.
pub fn project_path_from_git_url(url: &str) -> Option<String> {
    let url = url.trim();
    let path = match url.split_once("://") {
        Some((scheme, rest)) => {
            if !matches!(scheme, "http" | "https" | "ssh" | "git" | "git+ssh") {
                return None;
            }
            // Everything after the authority (user info, host, port) is the path.
            rest.split_once('/')?.1
        }
        None => scp_like_path(url)?,
    };
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() < 2 || segments.iter().any(|segment| segment.is_empty()) {
        return None;
    }
    Some(path.to_string())
}

/// The path of an scp-like URL `[user@]host:path`; a local path has no host before the colon.
fn scp_like_path(url: &str) -> Option<&str> {
    let (host, path) = url.split_once(':')?;
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    if host.is_empty() || host.contains('/') {
        return None;
    }
    Some(path)
}
