//! GitLab's rate limits, against the simulator's `throttle_authenticated_api`: with a budget
//! below GitLab's limit, a burst of requests is spread out and GitLab never has to refuse one.

use std::num::NonZeroU32;

use convoy_forge::Forge;
use convoy_forge::gitlab::{GitLab, GitLabOptions};
use convoy_simulator::{ApiRateLimit, RunningSimulator, Scenario, SimulatorConfig};

const TOKEN: &str = "rate-limit-test-token";

async fn simulator(limit: ApiRateLimit) -> RunningSimulator {
    let mut scenario = Scenario::from_yaml(
        "projects:\n  - path: group/app\n    branches:\n      - name: main\n        files: { README.md: hi }\n",
    )
    .expect("the scenario parses");
    scenario.api_rate_limit = Some(limit);
    RunningSimulator::start(SimulatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.to_string(),
        scenario,
    })
    .await
    .expect("the simulator starts")
}

fn gitlab(simulator: &RunningSimulator, requests_per_second: Option<NonZeroU32>) -> GitLab {
    let options = GitLabOptions {
        requests_per_second,
        ..GitLabOptions::default()
    };
    GitLab::new(&simulator.base_url(), TOKEN.into(), options).unwrap()
}

async fn burst(gitlab: &GitLab, requests: usize) {
    let calls = (0..requests).map(|_| gitlab.project("group/app"));
    for answer in futures::future::join_all(calls).await {
        answer.expect("every request of the burst is answered");
    }
}

#[tokio::test]
async fn a_budget_below_gitlab_s_limit_means_gitlab_never_throttles() {
    // GitLab allows 20 requests per 2-second window; Convoy's budget is 5 a second (a burst
    // of 5, then one every 200 ms): at most 15 fall in one window.
    let simulator = simulator(ApiRateLimit {
        requests_per_period: 20,
        period_seconds: 2,
    })
    .await;
    burst(&gitlab(&simulator, NonZeroU32::new(5)), 25).await;
    assert_eq!(simulator.throttled_requests(), 0);
    simulator.stop().await;
}

#[tokio::test]
async fn without_a_budget_the_same_burst_is_throttled_and_still_completes() {
    let simulator = simulator(ApiRateLimit {
        requests_per_period: 20,
        period_seconds: 2,
    })
    .await;
    // 45 at once, 20 allowed in a window (40 even if the burst spans two): GitLab refuses
    // some, Convoy waits as told and every request is answered.
    burst(&gitlab(&simulator, None), 45).await;
    assert!(simulator.throttled_requests() > 0);
    simulator.stop().await;
}
