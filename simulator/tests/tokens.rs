//! `GET /personal_access_tokens/self`: the token describes itself, as GitLab's
//! `lib/api/personal_access_tokens/self_information.rb` does.

mod common;

use common::{Api, SCENARIO, send, start, start_with};
use convoy_simulator::Scenario;

#[tokio::test]
async fn the_token_tells_its_scopes_and_that_it_is_active() {
    let simulator = start().await;
    let (status, token) = Api::new(&simulator)
        .get("/personal_access_tokens/self")
        .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scopes"], serde_json::json!(["api"]));
    assert_eq!(token["active"], true);
    assert_eq!(token["revoked"], false);
    assert!(token["id"].is_u64() && token["user_id"].is_u64(), "{token}");
    assert!(
        token["name"].is_string() && token["last_used_ips"].is_array(),
        "{token}"
    );
}

#[tokio::test]
async fn the_scenario_chooses_the_scopes() {
    let mut scenario = Scenario::from_yaml(SCENARIO).unwrap();
    scenario.token_scopes = Some(vec!["read_api".to_owned(), "read_repository".to_owned()]);
    let simulator = start_with(scenario).await;
    let (status, token) = Api::new(&simulator)
        .get("/personal_access_tokens/self")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        token["scopes"],
        serde_json::json!(["read_api", "read_repository"])
    );
}

#[tokio::test]
async fn without_a_token_it_is_401() {
    let simulator = start().await;
    let url = format!(
        "{}/api/v4/personal_access_tokens/self",
        simulator.base_url()
    );
    let (status, _) = send(reqwest::Client::new().get(&url)).await;
    assert_eq!(status, 401);
}
