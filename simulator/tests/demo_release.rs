//! The whole demo released by hand over the REST API, the way Convoy does it, to show the demo
//! world can be released end to end: A, then B and C, then D, then the app's Podfile.

mod common;

use base64::Engine;
use common::{Api, start_with};
use convoy_simulator::Scenario;
use serde_json::{Value, json};

const COMPONENTS: [(&str, &str); 4] = [
    ("ios%2Fcore-kit", "CoreKit"),
    ("ios%2Fnetwork-kit", "NetworkKit"),
    ("ios%2Fstorage-kit", "StorageKit"),
    ("ios%2Ffeature-kit", "FeatureKit"),
];

async fn read(api: &Api, project: &str, path: &str, reference: &str) -> (String, String) {
    let (status, file) = api
        .get(&format!(
            "/projects/{project}/repository/files/{}?ref={}",
            path.replace('/', "%2F"),
            reference.replace('/', "%2F")
        ))
        .await;
    assert_eq!(status, 200, "{project} {path}: {file}");
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(file["content"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    (text, file["last_commit_id"].as_str().unwrap().to_string())
}

async fn wait(api: &Api, path: &str, check: impl Fn(&Value) -> bool) -> Value {
    let body = api.wait_for(path, 20, &check).await;
    assert!(check(&body), "timed out on {path}: {body}");
    body
}

/// Convoy's steps for one component: bump, MR, pipeline + auto-merge, tag, tag pipeline.
async fn release(api: &Api, project: &str, pod: &str) {
    let podspec = format!("{pod}.podspec");
    let (text, last_commit) = read(api, project, &podspec, "release/0.1.0").await;
    if text.contains("'0.0.9'") {
        let bump = json!({
            "branch": "release/0.1.0",
            "content": text.replace("'0.0.9'", "'0.1.0'"),
            // No [ci skip]: this commit is the merge request's head, its pipeline must run.
            "commit_message": format!("Bump {pod} to 0.1.0"),
            "last_commit_id": last_commit,
        });
        let (status, body) = api
            .put(
                &format!("/projects/{project}/repository/files/{podspec}"),
                bump,
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, mr) = api.post(&format!("/projects/{project}/merge_requests"), json!({ "source_branch": "release/0.1.0", "target_branch": "main", "title": format!("Release {pod} 0.1.0") })).await;
    assert_eq!(status, 201, "{mr}");
    // The demo's CI has no merge request jobs: a branch pipeline, once GitLab shows it as the
    // merge request's head pipeline (MergeRequests::UpdateHeadPipelineWorker).
    let (status, pipeline) = api
        .post(
            &format!("/projects/{project}/pipeline?ref=release%2F0.1.0"),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{pipeline}");
    wait(
        api,
        &format!("/projects/{project}/merge_requests/{}", mr["iid"]),
        |mr| mr["head_pipeline"]["id"] == pipeline["id"],
    )
    .await;
    let (status, body) = api
        .put(
            &format!("/projects/{project}/merge_requests/{}/merge", mr["iid"]),
            json!({ "auto_merge": true, "merge_when_pipeline_succeeds": true }),
        )
        .await;
    assert_eq!(status, 200, "{pod}: {body}");
    wait(
        api,
        &format!("/projects/{project}/merge_requests/{}", mr["iid"]),
        |mr| mr["state"] == "merged",
    )
    .await;

    let (status, tag) = api
        .post(
            &format!("/projects/{project}/repository/tags"),
            json!({ "tag_name": "0.1.0", "ref": "main" }),
        )
        .await;
    assert_eq!(status, 201, "{tag}");
    let (_, pipelines) = api
        .get(&format!("/projects/{project}/pipelines?ref=0.1.0"))
        .await;
    if pipelines.as_array().unwrap().is_empty() {
        // The tag commit carried [ci skip]: start the tag pipeline explicitly.
        let (status, _) = api
            .post(
                &format!("/projects/{project}/pipeline?ref=0.1.0"),
                json!({}),
            )
            .await;
        assert_eq!(status, 201);
    }
    wait(
        api,
        &format!("/projects/{project}/pipelines?ref=0.1.0"),
        |list| list[0]["status"] == "success",
    )
    .await;
}

#[tokio::test]
async fn the_demo_releases_in_dependency_order_and_the_podfile_pins_the_versions() {
    let mut scenario = Scenario::demo();
    scenario.pipeline_duration_ms = 60;
    let simulator = start_with(scenario).await;
    let api = Api::new(&simulator);

    release(&api, COMPONENTS[0].0, COMPONENTS[0].1).await;
    // B and C at the same time.
    tokio::join!(
        release(&api, COMPONENTS[1].0, COMPONENTS[1].1),
        release(&api, COMPONENTS[2].0, COMPONENTS[2].1)
    );
    release(&api, COMPONENTS[3].0, COMPONENTS[3].1).await;

    let world = simulator.world();
    for path in [
        "ios/core-kit",
        "ios/network-kit",
        "ios/storage-kit",
        "ios/feature-kit",
    ] {
        assert!(
            world.is_released(path, "0.1.0"),
            "{path} 0.1.0 is not released"
        );
        assert_eq!(world.merge_requests(path).len(), 1);
        assert_eq!(
            world
                .tags(path)
                .iter()
                .filter(|t| t.name == "0.1.0")
                .count(),
            1
        );
    }
    assert_eq!(
        world.pipelines_for_ref("ios/core-kit", "0.1.0")[0].source,
        "push",
        "CoreKit's fast-forwarded bump (no [ci skip]) starts its tag pipeline by itself"
    );
    assert!(
        world
            .file("ios/core-kit", "0.1.0", "CoreKit.podspec")
            .unwrap()
            .contains("s.version      = '0.1.0'")
    );

    let (template, _) = read(&api, "mobile%2Fapp", "PodfileTemplate", "release/2.0.0").await;
    let (_, last_commit) = read(&api, "mobile%2Fapp", "Podfile", "release/2.0.0").await;
    let pins = COMPONENTS
        .iter()
        .map(|(_, pod)| format!("pod '{pod}', '= 0.1.0'"))
        .collect::<Vec<_>>()
        .join("\n    ");
    let podfile = template.replace(":TRIPLECCREPLACEME", &pins);
    let body = json!({ "branch": "release/2.0.0", "content": podfile, "commit_message": "Pin released components", "last_commit_id": last_commit });
    let (status, answer) = api
        .put("/projects/mobile%2Fapp/repository/files/Podfile", body)
        .await;
    assert_eq!(status, 200, "{answer}");
    let final_podfile = world
        .file("mobile/app", "release/2.0.0", "Podfile")
        .unwrap();
    assert!(
        final_podfile.contains("pod 'FeatureKit', '= 0.1.0'")
            && !final_podfile.contains(":branch =>"),
        "{final_podfile}"
    );
}
