//! What the worker writes in its own name: state changes the core decided for an event, and
//! notes in the release's log. Every step, the analysis and the passes record through here, so
//! none of them needs another's module.

use convoy_core::component::ComponentEvent;
use convoy_core::main_release::MainReleaseEvent;
use convoy_store::{ComponentRelease, MainRelease, NewEvent};

use crate::context::Context;
use crate::error::StepError;

/// How the event log names what the worker did.
pub(crate) const ACTOR: &str = "convoy";

/// Decides a component event with the core machine and records the transition.
pub(crate) async fn component_event(
    ctx: &Context,
    component: &ComponentRelease,
    event: &ComponentEvent,
) -> Result<(), StepError> {
    let transition = convoy_core::component::decide(component.state, event)?;
    if !ctx
        .store
        .apply_component(component, &transition, ACTOR)
        .await?
    {
        return Err(StepError::Superseded(format!(
            "component {} changed while Convoy was acting on it",
            component.name
        )));
    }
    tracing::info!(from = ?component.state, to = ?transition.state, "component moved");
    Ok(())
}

/// Decides a main release event with the core machine and records the transition.
pub(crate) async fn release_event(
    ctx: &Context,
    release: &MainRelease,
    event: &MainReleaseEvent,
) -> Result<(), StepError> {
    let transition = convoy_core::main_release::decide(release.state, event)?;
    if !ctx.store.apply_release(release, &transition, ACTOR).await? {
        return Err(StepError::Superseded(format!(
            "release {} changed while Convoy was acting on it",
            release.id
        )));
    }
    Ok(())
}

/// Records what the worker did for a component in the event log.
pub(crate) async fn note(
    ctx: &Context,
    c: &ComponentRelease,
    reason: String,
) -> Result<(), StepError> {
    ctx.store.append_event(&note_event(c, reason)).await?;
    Ok(())
}

/// A note about a setting that every pass would find again: written the first time only.
pub(crate) async fn note_once(
    ctx: &Context,
    c: &ComponentRelease,
    reason: String,
) -> Result<(), StepError> {
    ctx.store.append_event_once(&note_event(c, reason)).await?;
    Ok(())
}

fn note_event(c: &ComponentRelease, reason: String) -> NewEvent {
    NewEvent {
        release_id: c.release_id,
        component_id: Some(c.id),
        actor: ACTOR.to_owned(),
        kind: "note".to_owned(),
        reason: Some(reason),
    }
}
