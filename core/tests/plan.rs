//! The release plan: order, edges, default versions, cycles and project paths.

use convoy_core::manifest::podspec::{Podspec, PodspecDependency};
use convoy_core::plan::{ComponentInput, PlanError, ReleasePlan, project_path_from_git_url};

/// A component on `release/0.1.0` whose podspec says 0.0.9 and depends on `dependencies`.
fn input(name: &str, dependencies: &[&str]) -> ComponentInput {
    ComponentInput {
        name: name.to_string(),
        git_url: format!("https://gitlab.example.com/ios/{name}.git"),
        branch: "release/0.1.0".to_string(),
        project_path: format!("ios/{name}"),
        podspec_path: format!("{name}.podspec"),
        podspec: Podspec {
            name: Some(name.to_string()),
            version: Some("0.0.9".to_string()),
            dependencies: dependencies
                .iter()
                .map(|dependency| PodspecDependency {
                    name: dependency.to_string(),
                    requirement: Some("~> 0.1".to_string()),
                })
                .collect(),
            ..Podspec::default()
        },
    }
}

fn order(plan: &ReleasePlan) -> Vec<&str> {
    plan.components.iter().map(|c| c.name.as_str()).collect()
}

fn dependencies<'a>(plan: &'a ReleasePlan, name: &str) -> &'a [String] {
    &plan.component(name).unwrap().dependencies
}

/// ```text
///      A
///     / \
///    B   C
///     \ /
///      D
/// ```
fn diamond() -> ReleasePlan {
    ReleasePlan::build(vec![
        input("D", &["B", "C"]),
        input("C", &["A"]),
        input("B", &["A"]),
        input("A", &[]),
    ])
    .unwrap()
}

#[test]
fn the_diamond_is_ordered_dependencies_first_with_ties_by_name() {
    let plan = diamond();
    assert_eq!(order(&plan), ["A", "B", "C", "D"]);
    assert_eq!(dependencies(&plan, "A"), [] as [&str; 0]);
    assert_eq!(dependencies(&plan, "B"), ["A"]);
    assert_eq!(dependencies(&plan, "C"), ["A"]);
    assert_eq!(dependencies(&plan, "D"), ["B", "C"]);
}

#[test]
fn ancestors_and_descendants_are_transitive_and_sorted() {
    let plan = diamond();
    let graph = plan.graph();
    assert_eq!(graph.ancestors("D"), ["A", "B", "C"]);
    assert_eq!(graph.ancestors("B"), ["A"]);
    assert!(graph.ancestors("A").is_empty());
    assert_eq!(graph.descendants("A"), ["B", "C", "D"]);
    assert_eq!(graph.descendants("C"), ["D"]);
    assert!(graph.descendants("D").is_empty());
}

#[test]
fn an_unknown_name_has_no_ancestors_or_descendants() {
    let plan = diamond();
    assert!(plan.graph().ancestors("Z").is_empty());
    assert!(plan.graph().descendants("Z").is_empty());
    assert!(plan.component("Z").is_none());
}

/// ```text
///   Z     M --> A
/// ```
#[test]
fn the_order_does_not_depend_on_input_order() {
    let forwards = ReleasePlan::build(vec![input("Z", &[]), input("M", &["A"]), input("A", &[])]);
    let backwards = ReleasePlan::build(vec![input("A", &[]), input("M", &["A"]), input("Z", &[])]);
    assert_eq!(forwards, backwards);
    assert_eq!(order(&forwards.unwrap()), ["A", "M", "Z"]);
}

#[test]
fn a_dependency_that_is_not_being_released_is_no_edge() {
    let plan = ReleasePlan::build(vec![input("A", &["Alamofire", "SnapKit/Core"])]).unwrap();
    assert!(dependencies(&plan, "A").is_empty());
}

#[test]
fn a_subspec_dependency_points_at_its_root_pod() {
    let plan = ReleasePlan::build(vec![
        input("App", &["Net/Core", "Net/Auth"]),
        input("Net", &[]),
    ])
    .unwrap();
    assert_eq!(order(&plan), ["Net", "App"]);
    assert_eq!(dependencies(&plan, "App"), ["Net"]);
}

#[test]
fn a_pod_depending_on_its_own_subspec_is_no_cycle() {
    let plan = ReleasePlan::build(vec![input("Moya", &["Moya/Core", "Alamofire"])]).unwrap();
    assert_eq!(order(&plan), ["Moya"]);
    assert!(dependencies(&plan, "Moya").is_empty());
}

/// ```text
///   A --> B --> A
/// ```
#[test]
fn a_two_component_cycle_is_named() {
    let error = ReleasePlan::build(vec![input("B", &["A"]), input("A", &["B"])]).unwrap_err();
    assert_eq!(
        error,
        PlanError::Cycle(vec!["A".to_string(), "B".to_string(), "A".to_string()])
    );
    assert_eq!(error.to_string(), "cycle: A -> B -> A");
}

/// ```text
///   Lib --> Core --> Util --> Lib       App --> Lib
/// ```
#[test]
fn a_longer_cycle_starts_at_its_smallest_name() {
    let error = ReleasePlan::build(vec![
        input("App", &["Lib"]),
        input("Lib", &["Core"]),
        input("Core", &["Util"]),
        input("Util", &["Lib/Sub"]),
    ])
    .unwrap_err();
    assert_eq!(error.to_string(), "cycle: Core -> Util -> Lib -> Core");
}

#[test]
fn of_two_cycles_the_one_with_the_smallest_name_is_reported() {
    let error = ReleasePlan::build(vec![
        input("X", &["Y"]),
        input("Y", &["X"]),
        input("C", &["D"]),
        input("D", &["C"]),
    ])
    .unwrap_err();
    assert_eq!(error.to_string(), "cycle: C -> D -> C");
}

#[test]
fn the_shortest_cycle_through_the_smallest_name_is_reported() {
    // A -> B -> C -> A and A -> C -> A share A; the shorter one is named.
    let error = ReleasePlan::build(vec![
        input("A", &["B", "C"]),
        input("B", &["C"]),
        input("C", &["A"]),
    ])
    .unwrap_err();
    assert_eq!(error.to_string(), "cycle: A -> C -> A");
}

#[test]
fn the_default_version_is_the_higher_of_branch_and_podspec() {
    let mut newer_podspec = input("B", &[]);
    newer_podspec.podspec.version = Some("0.2".to_string());
    let plan = ReleasePlan::build(vec![input("A", &[]), newer_podspec]).unwrap();
    let a = plan.component("A").unwrap();
    assert_eq!(a.default_version, "0.1.0");
    assert_eq!(a.podspec_version.as_deref(), Some("0.0.9"));
    assert_eq!(plan.component("B").unwrap().default_version, "0.2.0");
}

#[test]
fn a_component_without_any_version_is_an_error() {
    let mut a = input("A", &[]);
    a.branch = "feature/login".to_string();
    a.podspec.version = None;
    a.podspec.version_note = Some("line 3: version is read from a file".to_string());
    let error = ReleasePlan::build(vec![a]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "component A has no usable version: branch feature/login names no version and the \
         podspec has no literal version (line 3: version is read from a file)"
    );
}

#[test]
fn a_four_part_podspec_version_on_a_plain_branch_is_an_error() {
    let mut a = input("A", &[]);
    a.branch = "develop".to_string();
    a.podspec.version = Some("7.42.2.6".to_string());
    let error = ReleasePlan::build(vec![a]).unwrap_err();
    assert_eq!(
        error,
        PlanError::NoVersion {
            name: "A".to_string(),
            why: "branch develop names no version and the podspec version \"7.42.2.6\" is not \
                  MAJOR.MINOR.PATCH"
                .to_string(),
        }
    );
}

#[test]
fn the_same_component_twice_from_the_same_source_is_one_component() {
    let plan = ReleasePlan::build(vec![input("A", &[]), input("A", &[])]).unwrap();
    assert_eq!(order(&plan), ["A"]);
}

#[test]
fn the_same_component_from_two_branches_is_an_error() {
    let mut other = input("A", &[]);
    other.branch = "release/0.2.0".to_string();
    let error = ReleasePlan::build(vec![input("A", &[]), other]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "component A appears twice with different sources"
    );
}

#[test]
fn a_plan_round_trips_through_json() {
    let plan = diamond();
    let json = serde_json::to_string(&plan).unwrap();
    assert_eq!(serde_json::from_str::<ReleasePlan>(&json).unwrap(), plan);
}

#[test]
fn project_paths_are_read_from_https_urls() {
    let path = |url: &str| project_path_from_git_url(url);
    assert_eq!(
        path("https://gitlab.example.com/group/a.git").as_deref(),
        Some("group/a")
    );
    assert_eq!(
        path("https://gitlab.example.com/group/a").as_deref(),
        Some("group/a")
    );
    assert_eq!(
        path("https://gitlab.example.com/group/a/").as_deref(),
        Some("group/a")
    );
    assert_eq!(
        path("https://gitlab.example.com:8443/group/sub/a.git").as_deref(),
        Some("group/sub/a")
    );
    assert_eq!(
        path("http://deploy:token@gitlab.example.com/group/a.git").as_deref(),
        Some("group/a")
    );
}

#[test]
fn project_paths_are_read_from_ssh_urls() {
    let path = |url: &str| project_path_from_git_url(url);
    assert_eq!(
        path("git@gitlab.example.com:group/a.git").as_deref(),
        Some("group/a")
    );
    assert_eq!(
        path("git@gitlab.example.com:group/sub/a.git").as_deref(),
        Some("group/sub/a")
    );
    assert_eq!(
        path("ssh://git@gitlab.example.com:2222/group/a.git").as_deref(),
        Some("group/a")
    );
}

#[test]
fn urls_without_a_namespace_and_project_give_no_path() {
    let path = |url: &str| project_path_from_git_url(url);
    assert_eq!(path("https://gitlab.example.com/a.git"), None);
    assert_eq!(path("https://gitlab.example.com"), None);
    assert_eq!(path("../LocalPod"), None);
    assert_eq!(path("file:///srv/git/group/a.git"), None);
    assert_eq!(path(""), None);
}
