//! Both state machines, checked for every state × every event against one table each: a pair
//! in the table gives exactly that transition, any other pair is refused in words.

use convoy_core::component::{self, ComponentEvent, ComponentState, ComponentTransition, Duty};
use convoy_core::main_release::{
    self, Duty as MainDuty, MainReleaseEvent, MainReleaseState, MainReleaseTransition,
};
use convoy_core::notices::Mention;
use convoy_core::{StateName, TransitionError};

// ---------------------------------------------------------------------------------------------
// Component release
// ---------------------------------------------------------------------------------------------

/// Every component state (the machine's own list, which `as_str` names).
const COMPONENT_STATES: &[ComponentState] = ComponentState::ALL;

const NOT_RELEASABLE: &str = "no publish stage in .gitlab-ci.yml: release it by hand";
const LINT_FAILED: &str = "job lint failed: Unable to find a specification for `A (~> 0.1)`";
const PUBLISH_FAILED: &str = "job publish failed: pod trunk push returned 1";
const BY_HAND: &str = "released by hand by the payments team";
const NO_CI: &str = "the repository has no .gitlab-ci.yml";

/// Every event, with the words a refusal uses for it.
fn component_events() -> Vec<(&'static str, ComponentEvent)> {
    use ComponentEvent as E;
    vec![
        (
            "change the version",
            E::VersionChanged {
                version: "0.2.0".to_string(),
            },
        ),
        ("deploy", E::Deploy),
        (
            "finish preparing an already merged branch",
            E::PreparedAlreadyMerged {
                branch: "release/0.1.0".to_string(),
                target: "main".to_string(),
            },
        ),
        (
            "finish preparing a merge request",
            E::PreparedMergeRequestOpened { iid: 7 },
        ),
        (
            "skip as not releasable",
            E::PreparedNotReleasable {
                reason: NOT_RELEASABLE.to_string(),
            },
        ),
        ("act on released dependencies", E::DependenciesReleased),
        (
            "record a failed merge request pipeline",
            E::MergeRequestPipelineFailed {
                reason: LINT_FAILED.to_string(),
            },
        ),
        (
            "record a merged merge request",
            E::MergeRequestMerged {
                target: "main".to_string(),
            },
        ),
        ("record a closed merge request", E::MergeRequestClosed),
        (
            "record a created tag",
            E::TagCreated {
                tag: "0.1.0".to_string(),
            },
        ),
        (
            "record an existing tag",
            E::TagExists {
                tag: "0.1.0".to_string(),
            },
        ),
        ("create the tag pipeline", E::TagPipelineMissing),
        ("record a successful tag pipeline", E::TagPipelineSucceeded),
        (
            "record a failed tag pipeline",
            E::TagPipelineFailed {
                reason: PUBLISH_FAILED.to_string(),
            },
        ),
        (
            "mark as released",
            E::MarkedReleased {
                reason: BY_HAND.to_string(),
            },
        ),
        ("retry", E::Retry),
        ("cancel", E::Cancel),
        (
            "record an error",
            E::Errored {
                reason: NO_CI.to_string(),
            },
        ),
    ]
}

/// The event of `component_events` whose refusal words are `words`.
fn component_event(words: &str) -> ComponentEvent {
    component_events()
        .into_iter()
        .find(|(w, _)| *w == words)
        .unwrap_or_else(|| panic!("no component event is called {words:?}"))
        .1
}

/// Every allowed (state, event) pair and its exact transition; the table the machine follows.
fn component_table() -> Vec<(ComponentState, &'static str, ComponentTransition)> {
    use ComponentState as S;
    // Every stop asks the owners to act (issue 11).
    let to = |state: S, reason: Option<&str>| ComponentTransition {
        state,
        reason: reason.map(str::to_string),
        mention: (state == S::Failed).then_some(Mention::Failed),
    };
    let closed = "merge request was closed without merging: reopen it and retry";
    let tag_exists = "tag 0.1.0 exists: change the version and retry";
    vec![
        (S::Waiting, "change the version", to(S::Waiting, None)),
        (S::Failed, "change the version", to(S::Failed, None)),
        (S::Waiting, "deploy", to(S::Preparing, None)),
        (
            S::Preparing,
            "finish preparing an already merged branch",
            to(S::Merged, Some("release/0.1.0 is already in main")),
        ),
        (
            S::Preparing,
            "finish preparing a merge request",
            to(S::Pending, Some("merge request !7 is open")),
        ),
        (
            S::Preparing,
            "skip as not releasable",
            to(S::Skipped, Some(NOT_RELEASABLE)),
        ),
        (
            S::Pending,
            "act on released dependencies",
            to(
                S::Pending,
                Some("dependencies released: pipeline retried, merges when it succeeds"),
            ),
        ),
        (
            S::Merged,
            "act on released dependencies",
            to(
                S::Deploying,
                Some("dependencies released: creating the version tag"),
            ),
        ),
        (
            S::Pending,
            "record a failed merge request pipeline",
            ComponentTransition {
                mention: Some(Mention::PipelineFailed),
                ..to(S::Pending, Some(LINT_FAILED))
            },
        ),
        (
            S::Preparing,
            "record a merged merge request",
            to(S::Merged, Some("merged into main")),
        ),
        (
            S::Pending,
            "record a merged merge request",
            to(S::Merged, Some("merged into main")),
        ),
        (
            S::Pending,
            "record a closed merge request",
            to(S::Failed, Some(closed)),
        ),
        (
            S::Deploying,
            "record a created tag",
            to(
                S::Deploying,
                Some("tag 0.1.0 created: waiting for its pipeline"),
            ),
        ),
        (
            S::Deploying,
            "record an existing tag",
            to(S::Failed, Some(tag_exists)),
        ),
        (
            S::Deploying,
            "create the tag pipeline",
            to(
                S::Deploying,
                Some("the tagged commit skips CI: tag pipeline created"),
            ),
        ),
        (
            S::Deploying,
            "record a successful tag pipeline",
            to(S::Success, Some("tag pipeline succeeded")),
        ),
        (
            S::Deploying,
            "record a failed tag pipeline",
            to(S::Failed, Some(PUBLISH_FAILED)),
        ),
        (
            S::Waiting,
            "mark as released",
            to(S::Success, Some(BY_HAND)),
        ),
        (
            S::Preparing,
            "mark as released",
            to(S::Success, Some(BY_HAND)),
        ),
        (
            S::Pending,
            "mark as released",
            to(S::Success, Some(BY_HAND)),
        ),
        (
            S::Skipped,
            "mark as released",
            to(S::Success, Some(BY_HAND)),
        ),
        (S::Merged, "mark as released", to(S::Success, Some(BY_HAND))),
        (
            S::Deploying,
            "mark as released",
            to(S::Success, Some(BY_HAND)),
        ),
        (S::Failed, "mark as released", to(S::Success, Some(BY_HAND))),
        (S::Failed, "retry", to(S::Preparing, None)),
        (S::Waiting, "cancel", to(S::Canceled, None)),
        (S::Preparing, "cancel", to(S::Canceled, None)),
        (S::Pending, "cancel", to(S::Canceled, None)),
        (S::Merged, "cancel", to(S::Canceled, None)),
        (S::Deploying, "cancel", to(S::Canceled, None)),
        (S::Preparing, "record an error", to(S::Failed, Some(NO_CI))),
        (S::Pending, "record an error", to(S::Failed, Some(NO_CI))),
        (S::Merged, "record an error", to(S::Failed, Some(NO_CI))),
        (S::Deploying, "record an error", to(S::Failed, Some(NO_CI))),
    ]
}

/// The name a state is stored and sent under, from its serde form.
fn wire_name<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn every_component_state_and_event_gives_the_tabled_transition_or_a_refusal() {
    let table = component_table();
    let mut checked = 0;
    for &state in COMPONENT_STATES {
        for (words, event) in component_events() {
            let expected = match table.iter().find(|(s, w, _)| *s == state && *w == words) {
                Some((_, _, transition)) => Ok(transition.clone()),
                None => Err(TransitionError {
                    machine: "component",
                    state: wire_name(state),
                    event: words.to_string(),
                }),
            };
            assert_eq!(
                component::decide(state, &event),
                expected,
                "{state:?} × {event:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, COMPONENT_STATES.len() * component_events().len());
}

#[test]
fn the_component_table_names_only_real_events_and_no_pair_twice() {
    let table = component_table();
    for (index, (state, words, _)) in table.iter().enumerate() {
        component_event(words);
        assert!(
            !table[..index]
                .iter()
                .any(|(s, w, _)| s == state && w == words),
            "{state:?} × {words} is in the table twice"
        );
    }
}

#[test]
fn deploying_a_released_component_is_refused_in_words() {
    let error = component::decide(ComponentState::Success, &ComponentEvent::Deploy).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot deploy while component is success"
    );
}

#[test]
fn marking_a_canceled_component_released_is_refused_in_words() {
    let event = ComponentEvent::MarkedReleased {
        reason: BY_HAND.to_string(),
    };
    let error = component::decide(ComponentState::Canceled, &event).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot mark as released while component is canceled"
    );
}

#[test]
fn retrying_a_pending_component_is_refused_in_words() {
    let error = component::decide(ComponentState::Pending, &ComponentEvent::Retry).unwrap_err();
    assert_eq!(error.to_string(), "cannot retry while component is pending");
}

#[test]
fn an_existing_tag_fails_the_component_and_says_what_to_do() {
    let event = ComponentEvent::TagExists {
        tag: "2.3.0".to_string(),
    };
    let transition = component::decide(ComponentState::Deploying, &event).unwrap();
    assert_eq!(transition.state, ComponentState::Failed);
    assert_eq!(
        transition.reason.as_deref(),
        Some("tag 2.3.0 exists: change the version and retry")
    );
}

#[test]
fn component_states_and_events_keep_their_wire_shape() {
    assert_eq!(wire_name(ComponentState::Deploying), "deploying");
    let event = ComponentEvent::TagExists {
        tag: "0.1.0".to_string(),
    };
    assert_eq!(
        serde_json::to_string(&event).unwrap(),
        r#"{"kind":"tag_exists","tag":"0.1.0"}"#
    );
}

/// What each component state requires of the worker, for every state.
#[test]
fn every_component_state_has_its_duty() {
    use ComponentState as S;
    let table = [
        (S::Waiting, Duty::Wait),
        (S::Preparing, Duty::Prepare),
        (S::Pending, Duty::FollowMergeRequest),
        (S::Skipped, Duty::Wait),
        (S::Merged, Duty::Tag),
        (S::Deploying, Duty::FollowTag),
        (S::Success, Duty::Wait),
        (S::Failed, Duty::Wait),
        (S::Canceled, Duty::Withdraw),
    ];
    assert_eq!(table.map(|(state, _)| state), COMPONENT_STATES);
    for (state, duty) in table {
        assert_eq!(component::duty(state), duty, "{state:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Main release
// ---------------------------------------------------------------------------------------------

/// Every main release state (the machine's own list).
const RELEASE_STATES: &[MainReleaseState] = MainReleaseState::ALL;

const NO_PODFILE: &str = "no Podfile in the repository or 5 levels below it";
const CONFLICT: &str = "Example/Podfile changed since Convoy read it: retry";
const STALLED: &str = "B failed and blocks D";

/// Every main release event, with the words a refusal uses for it.
fn release_events() -> Vec<(&'static str, MainReleaseEvent)> {
    use MainReleaseEvent as E;
    vec![
        ("start", E::Start),
        ("finish analysis", E::Analyzed),
        (
            "record a failed analysis",
            E::AnalysisFailed {
                reason: NO_PODFILE.to_string(),
            },
        ),
        ("deploy", E::Deploy),
        ("record a rewritten manifest", E::ManifestRewritten),
        (
            "record a failed manifest rewrite",
            E::ManifestFailed {
                reason: CONFLICT.to_string(),
            },
        ),
        (
            "record a stalled release",
            E::Stalled {
                reason: STALLED.to_string(),
            },
        ),
        ("retry", E::Retry),
        ("cancel", E::Cancel),
    ]
}

/// Every allowed (state, event) pair of a main release and its exact transition.
fn release_table() -> Vec<(MainReleaseState, &'static str, MainReleaseTransition)> {
    use MainReleaseState as S;
    let to = |state: S, reason: Option<&str>| MainReleaseTransition {
        state,
        reason: reason.map(str::to_string),
    };
    vec![
        (S::Created, "start", to(S::Analyzing, None)),
        (
            S::Analyzing,
            "finish analysis",
            to(
                S::Waiting,
                Some("plan ready: review the versions, then deploy"),
            ),
        ),
        (
            S::Analyzing,
            "record a failed analysis",
            to(S::Failed, Some(NO_PODFILE)),
        ),
        (S::Waiting, "deploy", to(S::Deploying, None)),
        (S::Deploying, "deploy", to(S::Deploying, None)),
        (
            S::Deploying,
            "record a rewritten manifest",
            to(
                S::Success,
                Some("every component is released and the Podfile pins them"),
            ),
        ),
        (
            S::Deploying,
            "record a failed manifest rewrite",
            to(S::Failed, Some(CONFLICT)),
        ),
        (
            S::Deploying,
            "record a stalled release",
            to(S::Failed, Some(STALLED)),
        ),
        (S::Failed, "retry", to(S::Deploying, None)),
        (S::Created, "cancel", to(S::Canceled, None)),
        (S::Analyzing, "cancel", to(S::Canceled, None)),
        (S::Waiting, "cancel", to(S::Canceled, None)),
        (S::Deploying, "cancel", to(S::Canceled, None)),
        (S::Failed, "cancel", to(S::Canceled, None)),
    ]
}

#[test]
fn every_release_state_and_event_gives_the_tabled_transition_or_a_refusal() {
    let table = release_table();
    let mut checked = 0;
    for &state in RELEASE_STATES {
        for (words, event) in release_events() {
            let expected = match table.iter().find(|(s, w, _)| *s == state && *w == words) {
                Some((_, _, transition)) => Ok(transition.clone()),
                None => Err(TransitionError {
                    machine: "release",
                    state: wire_name(state),
                    event: words.to_string(),
                }),
            };
            assert_eq!(
                main_release::decide(state, &event),
                expected,
                "{state:?} × {event:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, RELEASE_STATES.len() * release_events().len());
}

#[test]
fn the_release_table_names_only_real_events_and_no_pair_twice() {
    let table = release_table();
    let words: Vec<&str> = release_events().into_iter().map(|(w, _)| w).collect();
    for (index, (state, event, _)) in table.iter().enumerate() {
        assert!(words.contains(event), "{event} is no release event");
        assert!(
            !table[..index]
                .iter()
                .any(|(s, w, _)| s == state && w == event),
            "{state:?} × {event} is in the table twice"
        );
    }
}

#[test]
fn canceling_a_successful_release_is_refused_in_words() {
    let error =
        main_release::decide(MainReleaseState::Success, &MainReleaseEvent::Cancel).unwrap_err();
    assert_eq!(error.to_string(), "cannot cancel while release is success");
}

#[test]
fn deploying_a_release_still_being_analyzed_is_refused_in_words() {
    let error =
        main_release::decide(MainReleaseState::Analyzing, &MainReleaseEvent::Deploy).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot deploy while release is analyzing"
    );
}

/// What each main release state requires of the worker, for every state.
#[test]
fn every_release_state_has_its_duty() {
    use MainReleaseState as S;
    let table = [
        (S::Created, MainDuty::Wait),
        (S::Analyzing, MainDuty::Analyze),
        (S::Waiting, MainDuty::Wait),
        (S::Deploying, MainDuty::Deploy),
        (S::Success, MainDuty::Wait),
        (S::Failed, MainDuty::Wait),
        (S::Canceled, MainDuty::Withdraw),
    ];
    assert_eq!(table.map(|(state, _)| state), RELEASE_STATES);
    for (state, duty) in table {
        assert_eq!(main_release::duty(state), duty, "{state:?}");
    }
}

#[test]
fn release_states_and_events_keep_their_wire_shape() {
    assert_eq!(wire_name(MainReleaseState::Waiting), "waiting");
    let event = MainReleaseEvent::Stalled {
        reason: STALLED.to_string(),
    };
    assert_eq!(
        serde_json::to_string(&event).unwrap(),
        r#"{"kind":"stalled","reason":"B failed and blocks D"}"#
    );
}

/// A state's name is written once (`StateName::as_str`); the API and the database read it
/// through serde too, so the two must agree for every state.
#[test]
fn every_state_has_one_name_serde_agrees_with() {
    use convoy_core::StateName;
    fn check<S: StateName + serde::Serialize + std::fmt::Debug + PartialEq>() {
        for &state in S::ALL {
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                state.as_str(),
                "{state:?}"
            );
            assert_eq!(S::parse(state.as_str()), Some(state));
        }
        assert_eq!(S::parse("lost"), None);
    }
    check::<ComponentState>();
    check::<MainReleaseState>();
}
