//! API faults: a fraction of 500s, 429 with `Retry-After`, faults from the scenario.

mod common;

use common::{Api, start, start_with};
use convoy_simulator::{Faults, Scenario};
use serde_json::json;

async fn statuses(api: &Api, count: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..count {
        statuses.push(api.get("/projects/1").await.0);
    }
    statuses
}

#[tokio::test]
async fn a_fraction_of_requests_get_500_deterministically_by_seed() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    simulator.faults().set(Faults {
        error_rate: 0.5,
        seed: 42,
        ..Faults::default()
    });
    let first = statuses(&api, 40).await;
    let errors = first.iter().filter(|s| **s == 500).count();
    assert!((5..=35).contains(&errors), "{first:?}");
    assert!(first.iter().all(|s| *s == 500 || *s == 200));

    // The same seed gives the same sequence.
    simulator.faults().set(Faults {
        error_rate: 0.5,
        seed: 42,
        ..Faults::default()
    });
    assert_eq!(statuses(&api, 40).await, first);

    let (status, body) = {
        simulator.faults().set_error_rate(1.0);
        api.get("/projects/1").await
    };
    assert_eq!(
        (status, body),
        (500, json!({ "message": "500 Internal Server Error" }))
    );
    simulator.faults().clear();
    assert_eq!(api.get("/projects/1").await.0, 200);
}

#[tokio::test]
async fn rate_limited_requests_get_429_with_retry_after() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    simulator.faults().set_rate_limit_rate(1.0);
    let response = api
        .request(reqwest::Method::GET, "/projects/1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers().get("Retry-After").unwrap(), "1");
    simulator.faults().set_rate_limit_rate(0.0);
    assert_eq!(api.get("/projects/1").await.0, 200);
}

#[tokio::test]
async fn faults_and_existing_tags_come_from_the_scenario() {
    let text = format!(
        "{}faults: {{ error_rate: 1.0, latency_ms: 5 }}\n",
        common::SCENARIO
    );
    let mut scenario = Scenario::from_yaml(&text).unwrap();
    scenario.projects[0]
        .existing_tags
        .push(convoy_simulator::TagSpec {
            name: "1.0.0".to_string(),
            ref_: "main".to_string(),
            message: None,
            released: true,
        });
    let simulator = start_with(scenario).await;
    let api = Api::new(&simulator);
    assert_eq!(api.get("/projects/1").await.0, 500);
    simulator.faults().clear();
    let (status, body) = api
        .post(
            "/projects/group%2Fcore/repository/tags",
            json!({ "tag_name": "1.0.0", "ref": "main" }),
        )
        .await;
    assert_eq!(
        (status, body),
        (400, json!({ "message": "Tag 1.0.0 already exists" }))
    );
    assert!(simulator.world().is_released("group/core", "1.0.0"));
}

#[tokio::test]
async fn added_latency_still_answers_correctly() {
    let simulator = start().await;
    let api = Api::new(&simulator);
    simulator.faults().set_latency_ms(50);
    let (status, project) = api.get("/projects/group%2Fcore").await;
    assert_eq!((status, project["id"].as_u64()), (200, Some(1)));
}
