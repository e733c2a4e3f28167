//! The one way a state changes: a transition the core decided (`decide`) is recorded for the
//! record it was decided on, in the name of whoever acts. API handlers, the worker and the
//! analysis all come through here, so every state change carries the core's reason and mention
//! and loses cleanly (false, nothing written) when someone changed the record meanwhile.

use convoy_core::component::ComponentTransition;
use convoy_core::main_release::MainReleaseTransition;

use crate::components::ComponentMove;
use crate::db::Store;
use crate::error::StoreError;
use crate::model::{Change, ComponentRelease, MainRelease};

impl Store {
    /// Records `transition`, decided for `component` as it was read, in the name of `actor`.
    /// False, with nothing written, when the component is no longer in the state it was read
    /// in (or its release was canceled meanwhile): the caller acted on old news.
    pub async fn apply_component(
        &self,
        component: &ComponentRelease,
        transition: &ComponentTransition,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let change = component_change(transition, actor);
        self.transition_component(component.id, component.state, transition.state, &change)
            .await
    }

    /// Records each transition, decided for its component as it was read, in the name of
    /// `actor`, in one transaction; returns how many were recorded (the others lost, as with
    /// [`Store::apply_component`]).
    pub async fn apply_components(
        &self,
        transitions: &[(&ComponentRelease, ComponentTransition)],
        actor: &str,
    ) -> Result<usize, StoreError> {
        let changes: Vec<Change> = transitions
            .iter()
            .map(|(_, transition)| component_change(transition, actor))
            .collect();
        let moves: Vec<ComponentMove<'_>> = transitions
            .iter()
            .zip(&changes)
            .map(|((component, transition), change)| ComponentMove {
                id: component.id,
                from: component.state,
                to: transition.state,
                change,
            })
            .collect();
        self.transition_components(&moves).await
    }

    /// Records `transition`, decided for `release` as it was read, in the name of `actor`.
    /// False, with nothing written, when the release is no longer in the state it was read in.
    pub async fn apply_release(
        &self,
        release: &MainRelease,
        transition: &MainReleaseTransition,
        actor: &str,
    ) -> Result<bool, StoreError> {
        self.transition_main_release(
            release.id,
            release.state,
            transition.state,
            &release_change(transition, actor),
        )
        .await
    }
}

/// The change a component's transition records in the name of `actor`.
fn component_change(transition: &ComponentTransition, actor: &str) -> Change {
    Change {
        actor: actor.to_owned(),
        reason: transition.reason.clone(),
        mention: transition.mention,
    }
}

/// The change a release's transition records in the name of `actor`.
pub(crate) fn release_change(transition: &MainReleaseTransition, actor: &str) -> Change {
    Change {
        actor: actor.to_owned(),
        reason: transition.reason.clone(),
        mention: None,
    }
}
