//! Release plans the tests store without analysing an app: the brief's diamond, and any
//! component of the `ios/` group.

use convoy_core::{PlannedComponent, ReleasePlan};

/// ```text
///      A
///     / \
///    B   C      order: A, then B and C together, then D
///     \ /
///      D
/// ```
pub fn abcd_plan() -> ReleasePlan {
    ReleasePlan {
        components: vec![
            planned("A", &[]),
            planned("B", &["A"]),
            planned("C", &["A"]),
            planned("D", &["B", "C"]),
        ],
    }
}

/// Component `name` of project `ios/<name in lowercase>`, branch `release/0.1.0`, podspec
/// `<name>.podspec` at 0.0.9, to be released as 0.1.0.
pub fn planned(name: &str, dependencies: &[&str]) -> PlannedComponent {
    let lower = name.to_lowercase();
    PlannedComponent {
        name: name.to_owned(),
        git_url: format!("https://gitlab.test/ios/{lower}.git"),
        branch: "release/0.1.0".to_owned(),
        project_path: format!("ios/{lower}"),
        podspec_path: format!("{name}.podspec"),
        podspec_version: Some("0.0.9".to_owned()),
        default_version: "0.1.0".to_owned(),
        dependencies: dependencies.iter().map(|d| d.to_string()).collect(),
    }
}
