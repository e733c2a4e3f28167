//! The demo scenario: the shipped YAML, and the world it gives (the brief's A, B, C, D).

mod common;

use std::time::Duration;

use common::{Api, start_with};
use convoy_core::manifest::podspec::parse_podspec_file;
use convoy_simulator::Scenario;
use serde_json::json;

fn demo_file() -> Scenario {
    Scenario::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/demo.yaml"))
        .expect("scenarios/demo.yaml parses")
}

#[test]
fn the_shipped_demo_file_is_the_built_in_demo() {
    assert_eq!(demo_file(), Scenario::demo());
}

#[test]
fn scenario_by_name_or_file() {
    assert_eq!(
        Scenario::from_name_or_file("demo").unwrap(),
        Scenario::demo()
    );
    let error = Scenario::from_name_or_file("/no/such/scenario.yaml").unwrap_err();
    assert!(
        format!("{error:#}").contains("cannot read scenario file /no/such/scenario.yaml"),
        "{error:#}"
    );
}

#[tokio::test]
async fn the_demo_world_has_the_app_podfile_template_and_four_components() {
    let simulator = start_with(Scenario::demo()).await;
    let world = simulator.world();
    let podfile = world
        .file("mobile/app", "release/2.0.0", "Podfile")
        .unwrap();
    for component in ["core-kit", "network-kit", "storage-kit", "feature-kit"] {
        let line = format!(
            ":git => '{}/ios/{component}.git', :branch => 'release/0.1.0'",
            simulator.base_url()
        );
        assert!(podfile.contains(&line), "Podfile lacks {line}:\n{podfile}");
    }
    assert!(
        podfile.contains(":tag => '1.2.0'")
            && podfile.contains(":path => ")
            && podfile.contains("pod 'Alamofire', '~> 5.0'")
    );
    let template = world
        .file("mobile/app", "release/2.0.0", "PodfileTemplate")
        .unwrap();
    assert!(template.contains(":TRIPLECCREPLACEME"));

    let versions: Vec<(String, Option<String>)> = [
        "ios/core-kit:CoreKit",
        "ios/network-kit:NetworkKit",
        "ios/storage-kit:StorageKit",
        "ios/feature-kit:FeatureKit",
    ]
    .iter()
    .map(|pair| {
        let (project, pod) = pair.split_once(':').unwrap();
        let file = format!("{pod}.podspec");
        let text = world.file(project, "release/0.1.0", &file).unwrap();
        assert_eq!(
            world.project(project).unwrap().pod_name.as_deref(),
            Some(pod)
        );
        (
            pod.to_string(),
            parse_podspec_file(&file, &text).unwrap().version,
        )
    })
    .collect();
    assert_eq!(
        versions[0],
        ("CoreKit".to_string(), Some("0.0.9".to_string())),
        "CoreKit needs a bump to 0.1.0"
    );
    assert!(
        versions[1..]
            .iter()
            .all(|(_, v)| v.as_deref() == Some("0.1.0"))
    );
    assert!(world.is_released("ios/analytics", "1.2.0"));
}

/// The heart of what Convoy handles, played by hand on the demo: B's lint fails until A 0.1.0
/// is released, then passes.
#[tokio::test]
async fn in_the_demo_network_kit_lint_waits_for_core_kit_0_1_0() {
    let mut scenario = Scenario::demo();
    scenario.pipeline_duration_ms = 100;
    let simulator = start_with(scenario).await;
    let api = Api::new(&simulator);
    let world = simulator.world();
    let wait = Duration::from_secs(10);

    let (_, pipeline) = api
        .post(
            "/projects/ios%2Fnetwork-kit/pipeline?ref=release%2F0.1.0",
            json!({}),
        )
        .await;
    let path = format!("/projects/ios%2Fnetwork-kit/pipelines/{}", pipeline["id"]);
    let failed = api
        .wait_for(&path, 10, |p| {
            p["status"] == "failed" || p["status"] == "success"
        })
        .await;
    assert_eq!(failed["status"], "failed");
    let log = &world
        .latest_pipeline("ios/network-kit", "release/0.1.0")
        .unwrap()
        .jobs[0]
        .log;
    assert!(
        log.contains("CoreKit (~> 0.1.0)") && log.contains("released: 0.0.8"),
        "{log}"
    );

    // Convoy's part for A: bump the podspec with [ci skip], then tag and let the tag pipeline run.
    let podspec = world
        .file("ios/core-kit", "release/0.1.0", "CoreKit.podspec")
        .unwrap()
        .replace("'0.0.9'", "'0.1.0'");
    simulator
        .push_commit(
            "ios/core-kit",
            "release/0.1.0",
            &[("CoreKit.podspec", &podspec)],
            "Bump version to 0.1.0 [ci skip]",
        )
        .unwrap();
    simulator
        .create_tag("ios/core-kit", "0.1.0", "release/0.1.0")
        .unwrap();
    // Gitlab::Ci::Pipeline::Chain::Skip: a [ci skip] tag commit gets a `skipped` pipeline.
    let statuses: Vec<String> = world
        .pipelines_for_ref("ios/core-kit", "0.1.0")
        .into_iter()
        .map(|p| p.status)
        .collect();
    assert_eq!(statuses, ["skipped"], "a [ci skip] tag commit runs nothing");
    let (status, _) = api
        .post("/projects/ios%2Fcore-kit/pipeline?ref=0.1.0", json!({}))
        .await;
    assert_eq!(status, 201);
    assert!(
        world
            .eventually(wait, |w| w.is_released("ios/core-kit", "0.1.0"))
            .await
    );

    api.post(
        &format!(
            "/projects/ios%2Fnetwork-kit/pipelines/{}/retry",
            pipeline["id"]
        ),
        json!({}),
    )
    .await;
    let passed = api
        .wait_for(&path, 10, |p| {
            p["status"] == "success" || p["status"] == "failed"
        })
        .await;
    assert_eq!(passed["status"], "success");
}
