//! What a person may do now, to a release and to each of its components: the one rule that the
//! dashboard shows as buttons, the API lists as `actions`, and the API enforces (an action that
//! is not offered is refused, whatever the caller sends).

use crate::component::{self, ComponentEvent, ComponentState};
use crate::main_release::{self, MainReleaseEvent, MainReleaseState};

/// Something a person does to a whole release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseAction {
    /// Deploy every component still waiting.
    Deploy,
    /// Retry every failed component.
    Retry,
    Cancel,
}

/// Something a person does to one component release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentAction {
    EditVersion,
    Deploy,
    /// Open the review gate of its merge request.
    MarkReviewed,
    MarkReleased,
    Retry,
    Cancel,
}

impl ReleaseAction {
    /// Its name in the API and on the page.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseAction::Deploy => "deploy",
            ReleaseAction::Retry => "retry",
            ReleaseAction::Cancel => "cancel",
        }
    }
}

impl ComponentAction {
    /// Its name in the API and on the page.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentAction::EditVersion => "edit_version",
            ComponentAction::Deploy => "deploy",
            ComponentAction::MarkReviewed => "mark_reviewed",
            ComponentAction::MarkReleased => "mark_released",
            ComponentAction::Retry => "retry",
            ComponentAction::Cancel => "cancel",
        }
    }
}

/// What the release's components are, as far as the actions on them go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentFacts {
    pub state: ComponentState,
    /// Its merge request was marked reviewed.
    pub reviewed: bool,
}

/// What the release is, as far as the actions on it go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseFacts {
    pub state: MainReleaseState,
    /// Merge requests wait for a person's review before they merge.
    pub require_review: bool,
}

/// Whether a component of the release may still change by a person's hand: the plan is ready
/// and the release is not over (a failed release goes on through retry or mark released).
pub fn release_is_open(state: MainReleaseState) -> bool {
    matches!(
        state,
        MainReleaseState::Waiting | MainReleaseState::Deploying | MainReleaseState::Failed
    )
}

/// The release-level actions the state machines allow now.
pub fn release_actions(release: ReleaseFacts, components: &[ComponentFacts]) -> Vec<ReleaseAction> {
    let allows = |event: MainReleaseEvent| main_release::decide(release.state, &event).is_ok();
    let any_allows = |event: ComponentEvent| {
        components
            .iter()
            .any(|c| component::decide(c.state, &event).is_ok())
    };
    // A release deploying already (one component was deployed alone) deploys or retries the
    // rest without a transition of its own.
    let deploying = release.state == MainReleaseState::Deploying;
    let mut actions = Vec::new();
    if any_allows(ComponentEvent::Deploy) && (deploying || allows(MainReleaseEvent::Deploy)) {
        actions.push(ReleaseAction::Deploy);
    }
    if any_allows(ComponentEvent::Retry) && (deploying || allows(MainReleaseEvent::Retry)) {
        actions.push(ReleaseAction::Retry);
    }
    if allows(MainReleaseEvent::Cancel) {
        actions.push(ReleaseAction::Cancel);
    }
    actions
}

/// The component-level actions the state machine allows now.
pub fn component_actions(release: ReleaseFacts, c: ComponentFacts) -> Vec<ComponentAction> {
    if !release_is_open(release.state) {
        return Vec::new();
    }
    let allows = |event: ComponentEvent| component::decide(c.state, &event).is_ok();
    let mut actions = Vec::new();
    // Any version: the machine decides by state, the API checks the version itself.
    let version = String::new();
    if allows(ComponentEvent::VersionChanged { version }) {
        actions.push(ComponentAction::EditVersion);
    }
    // A failed release goes on through retry, not through deploying more components.
    if release.state != MainReleaseState::Failed && allows(ComponentEvent::Deploy) {
        actions.push(ComponentAction::Deploy);
    }
    if awaits_review(release, c) {
        actions.push(ComponentAction::MarkReviewed);
    }
    let reason = String::new();
    if allows(ComponentEvent::MarkedReleased { reason }) {
        actions.push(ComponentAction::MarkReleased);
    }
    if allows(ComponentEvent::Retry) {
        actions.push(ComponentAction::Retry);
    }
    if allows(ComponentEvent::Cancel) {
        actions.push(ComponentAction::Cancel);
    }
    actions
}

/// Whether the component's open merge request waits at the review gate for a person.
pub fn awaits_review(release: ReleaseFacts, c: ComponentFacts) -> bool {
    release.require_review && !c.reviewed && c.state == ComponentState::Pending
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(state: MainReleaseState, require_review: bool) -> ReleaseFacts {
        ReleaseFacts {
            state,
            require_review,
        }
    }

    fn component(state: ComponentState, reviewed: bool) -> ComponentFacts {
        ComponentFacts { state, reviewed }
    }

    #[test]
    fn a_failed_release_with_nothing_failed_offers_no_retry() {
        // Failed at the Podfile step, say: every component released, nothing to retry.
        let done = [component(ComponentState::Success, false)];
        let failed = release(MainReleaseState::Failed, false);
        assert_eq!(release_actions(failed, &done), vec![ReleaseAction::Cancel]);
        let retryable = [component(ComponentState::Failed, false)];
        assert_eq!(
            release_actions(failed, &retryable),
            vec![ReleaseAction::Retry, ReleaseAction::Cancel]
        );
    }

    #[test]
    fn a_review_is_offered_only_at_the_gate_of_a_pending_merge_request() {
        let gated = release(MainReleaseState::Deploying, true);
        let offered = |state, reviewed| {
            component_actions(gated, component(state, reviewed))
                .contains(&ComponentAction::MarkReviewed)
        };
        assert!(offered(ComponentState::Pending, false));
        assert!(!offered(ComponentState::Pending, true), "reviewed already");
        for state in [
            ComponentState::Waiting,
            ComponentState::Preparing,
            ComponentState::Failed,
            ComponentState::Merged,
        ] {
            assert!(!offered(state, false), "{state:?}");
        }
        let ungated = release(MainReleaseState::Deploying, false);
        let pending = component(ComponentState::Pending, false);
        assert!(!component_actions(ungated, pending).contains(&ComponentAction::MarkReviewed));
    }

    #[test]
    fn nothing_is_offered_on_a_component_of_a_release_that_is_over() {
        for state in [
            MainReleaseState::Analyzing,
            MainReleaseState::Success,
            MainReleaseState::Canceled,
        ] {
            let failed = component(ComponentState::Failed, false);
            assert_eq!(component_actions(release(state, false), failed), vec![]);
        }
    }
}
