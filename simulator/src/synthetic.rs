//! Generated scenarios for benchmarks: many components in dependency layers.

use std::collections::BTreeMap;

use crate::scenario::{BranchSpec, ProjectSpec, Scenario, TagSpec};

const CI: &str = "stages: [lint, publish]\nlint:\n  stage: lint\n  script: pod lib lint --allow-warnings\npublish:\n  stage: publish\n  script: pod repo push private-specs\n  only: [tags]\n";

impl Scenario {
    /// An app (`bench/app`, branch `release/2.0.0`) pinning `layers × width` components on
    /// `release/1.0.0` branches. Component `bench/l{layer}-{i}` publishes pod `L{layer}C{i}`,
    /// whose podspec (1.0.0 on the release branch, 0.9.0 released on `main`) depends on every
    /// component of the layer below with `~> 1.0.0`: so the release order is layer by layer.
    ///
    /// ```text
    /// layers = 3, width = 2:   L2C0  L2C1      (each depends on L1C0 and L1C1)
    ///                          L1C0  L1C1      (each depends on L0C0 and L0C1)
    ///                          L0C0  L0C1
    /// ```
    pub fn layered(layers: usize, width: usize) -> Scenario {
        let mut projects = vec![app(layers, width)];
        for layer in 0..layers {
            for index in 0..width {
                projects.push(component(layer, index, width));
            }
        }
        Scenario {
            pipeline_duration_ms: 50,
            projects,
            ..Scenario::default()
        }
    }
}

fn pod(layer: usize, index: usize) -> String {
    format!("L{layer}C{index}")
}

fn app(layers: usize, width: usize) -> ProjectSpec {
    let mut pins = String::new();
    let mut podfile = String::from("platform :ios, '15.0'\n\ntarget 'Bench' do\n");
    for layer in 0..layers {
        for index in 0..width {
            let line = format!(
                "  pod '{}', :git => '{{{{base_url}}}}/bench/l{layer}-{index}.git', :branch => 'release/1.0.0'\n",
                pod(layer, index)
            );
            pins.push_str(&line);
        }
    }
    podfile.push_str(&pins);
    podfile.push_str("end\n");
    let template =
        "platform :ios, '15.0'\n\ntarget 'Bench' do\n  :TRIPLECCREPLACEME\nend\n".to_string();
    ProjectSpec {
        path: "bench/app".to_string(),
        default_branch: "main".to_string(),
        branches: vec![
            branch(
                "main",
                None,
                [("README.md".to_string(), "# Bench app\n".to_string())].into(),
            ),
            branch(
                "release/2.0.0",
                Some("main"),
                [
                    ("Podfile".to_string(), podfile),
                    ("PodfileTemplate".to_string(), template),
                ]
                .into(),
            ),
        ],
        ..ProjectSpec::default()
    }
}

fn component(layer: usize, index: usize, width: usize) -> ProjectSpec {
    let name = pod(layer, index);
    let dependencies: Vec<String> = if layer == 0 {
        Vec::new()
    } else {
        (0..width).map(|i| pod(layer - 1, i)).collect()
    };
    let podspec = |version: &str, requirement: &str| {
        let mut text =
            format!("Pod::Spec.new do |s|\n  s.name    = '{name}'\n  s.version = '{version}'\n");
        for dependency in &dependencies {
            text.push_str(&format!("  s.dependency '{dependency}', '{requirement}'\n"));
        }
        text.push_str("end\n");
        text
    };
    let file = format!("{name}.podspec");
    let main_files: BTreeMap<String, String> = [
        (".gitlab-ci.yml".to_string(), CI.to_string()),
        (file.clone(), podspec("0.9.0", "~> 0.9.0")),
    ]
    .into();
    let release_files: BTreeMap<String, String> = [(file, podspec("1.0.0", "~> 1.0.0"))].into();
    ProjectSpec {
        path: format!("bench/l{layer}-{index}"),
        default_branch: "main".to_string(),
        branches: vec![
            branch("main", None, main_files),
            branch("release/1.0.0", Some("main"), release_files),
        ],
        existing_tags: vec![TagSpec {
            name: "0.9.0".to_string(),
            ref_: "main".to_string(),
            message: None,
            released: true,
        }],
        ..ProjectSpec::default()
    }
}

fn branch(name: &str, from: Option<&str>, files: BTreeMap<String, String>) -> BranchSpec {
    BranchSpec {
        name: name.to_string(),
        from: from.map(str::to_string),
        message: None,
        files,
        pipeline: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layered_has_the_app_and_every_component_and_round_trips_through_yaml() {
        let scenario = Scenario::layered(3, 2);
        assert_eq!(scenario.projects.len(), 7);
        let yaml = serde_yaml::to_string(&scenario).unwrap();
        assert_eq!(Scenario::from_yaml(&yaml).unwrap(), scenario);
        let top = &scenario.projects[5].branches[1].files["L2C0.podspec"];
        assert!(
            top.contains("s.dependency 'L1C0', '~> 1.0.0'")
                && top.contains("s.dependency 'L1C1', '~> 1.0.0'"),
            "{top}"
        );
        let podfile = &scenario.projects[0].branches[1].files["Podfile"];
        assert!(
            podfile.contains(
                "pod 'L0C1', :git => '{{base_url}}/bench/l0-1.git', :branch => 'release/1.0.0'"
            ),
            "{podfile}"
        );
    }
}
