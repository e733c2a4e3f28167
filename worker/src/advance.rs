//! Advancing one release: take its lease, then pass over it until nothing changes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use convoy_core::component::{self, ComponentEvent, Duty};
use convoy_core::main_release::{self, Duty as MainDuty, MainReleaseEvent};
use convoy_core::scheduler::{self, ComponentStatus, Schedule, SchedulerOptions};
use convoy_core::{ComponentState, MainReleaseState, ReleasePlan};
use convoy_store::{ComponentRelease, MainRelease};
use futures::StreamExt;
use tracing::Instrument;

use crate::context::Context;
use crate::error::StepError;
use crate::{analyze, failures, manifest, record, steps};

/// A pass that still changes something after this many rounds is nudged again (fair to the
/// other releases).
const MAX_PASSES: usize = 25;
/// Failed passes in one advance before the error is left to the next nudge or reconcile.
const MAX_FAILED_PASSES: usize = 3;
const RETRY_DELAY: std::time::Duration = std::time::Duration::from_millis(200);
/// How often a pass in progress looks whether its release was canceled.
const CANCEL_CHECK: std::time::Duration = std::time::Duration::from_millis(200);
/// Components stepped at once within a release. A step mostly waits on GitLab: against a
/// GitLab answering in 50 ms, 32 release 500 components in 33 s where 8 took 75 s (the
/// release benchmark's `5x100x1000@50`). The GitLab adapter's own limits, not this, keep
/// Convoy within GitLab's: requests in flight (halved on 429s and 5xx) and the configured
/// requests per second.
const COMPONENT_CONCURRENCY: usize = 32;
/// Steps of one component in a row within a pass: the merge, the tag, the tag's creation.
const STEPS_IN_A_ROW: usize = 3;
/// Components prepared in one pass at most, in plan order (a preparation is some 13 GitLab
/// requests): the pass ends soon, and the components prepared first act in the next pass
/// while the rest are prepared, instead of all waiting for the whole plan's preparation.
const PREPARES_PER_PASS: usize = 2 * COMPONENT_CONCURRENCY;

/// Carries out whatever the release's states require now. Safe to call at any time, from any
/// number of workers: one holds the release's lease, the others return at once (the holder
/// sees their wake-up because every change sets the release's wake flag).
pub async fn advance_release(ctx: &Context, release_id: i64) -> anyhow::Result<()> {
    if ctx.stop.is_requested() {
        return Ok(());
    }
    // Each call is its own lease owner: several job consumers of one process must exclude
    // each other as much as workers on other machines do.
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let owner = format!(
        "{}#{}",
        ctx.settings.worker_id,
        CALLS.fetch_add(1, Ordering::Relaxed)
    );
    let lease_ms = ctx.settings.lease_ttl.as_millis() as i64;
    let now = now_ms();
    let taking_over = crate::metrics::lease_expired(ctx, release_id, now).await;
    if !ctx
        .store
        .try_lease_release(release_id, &owner, now, lease_ms)
        .await?
    {
        tracing::debug!(release_id, "another worker holds the release");
        return Ok(());
    }
    if taking_over {
        crate::metrics::lease_taken_over();
    }
    let heartbeat = Heartbeat::start(ctx, release_id, &owner);
    let result = pass_until_quiet(ctx, release_id, &heartbeat)
        .instrument(tracing::info_span!("release", release_id))
        .await;
    heartbeat.stop();
    ctx.store.release_lease(release_id, &owner).await?;
    if result.is_ok() && !heartbeat.lost() && !ctx.stop.is_requested() {
        nudge_again_if_woken(ctx, release_id).await?;
    }
    result
}

/// A wake-up that came while this worker still held the lease, after its last look (or after
/// its last pass of [`MAX_PASSES`]), found the release taken: nudge it again, so that the
/// wake-up is not left to reconcile.
async fn nudge_again_if_woken(ctx: &Context, release_id: i64) -> anyhow::Result<()> {
    if ctx.store.wake_waiting(release_id).await? {
        ctx.nudges.nudge(release_id);
    }
    Ok(())
}

/// Renews a release's lease while its holder works, so that the lease can be short: a holder
/// that dies stops renewing, and another worker takes over within one lease.
struct Heartbeat {
    task: tokio::task::JoinHandle<()>,
    lost: Arc<AtomicBool>,
}

impl Heartbeat {
    fn start(ctx: &Context, release_id: i64, owner: &str) -> Heartbeat {
        let lost = Arc::new(AtomicBool::new(false));
        let (store, owner, flag) = (ctx.store.clone(), owner.to_owned(), lost.clone());
        let ttl = ctx.settings.lease_ttl;
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(ttl / 3).await;
                let lease_ms = ttl.as_millis() as i64;
                match store
                    .renew_lease(release_id, &owner, now_ms(), lease_ms)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(
                            release_id,
                            "the lease expired and another worker took the release"
                        );
                        flag.store(true, Ordering::Relaxed);
                        return;
                    }
                    // A busy database: the next beat tries again, well within the lease.
                    Err(error) => tracing::warn!(release_id, %error, "the lease was not renewed"),
                }
            }
        });
        Heartbeat { task, lost }
    }

    /// Whether another worker holds the release now.
    fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Heartbeat {
    // A pass dropped mid-way (the process stopping) stops renewing too.
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pass_until_quiet(
    ctx: &Context,
    release_id: i64,
    heartbeat: &Heartbeat,
) -> anyhow::Result<()> {
    let mut failures = 0;
    for _ in 0..MAX_PASSES {
        if ctx.stop.is_requested() || heartbeat.lost() {
            // The wake flag stays set: whoever holds the release next looks again.
            return Ok(());
        }
        if !ctx.store.claim_wake(release_id).await? {
            return Ok(());
        }
        match pass(ctx, release_id).await {
            // Cleared only now, so a worker that dies mid-pass leaves it for the next holder.
            Ok(()) => ctx.store.settle_wake(release_id).await?,
            Err(error) => {
                // Leave the wake flag set so the next pass, nudge or reconcile tries again.
                ctx.store.request_wake(release_id).await?;
                failures += 1;
                if failures == MAX_FAILED_PASSES {
                    return Err(anyhow::anyhow!(error));
                }
                // Usually a race with a person's action (a cancel, a retry) that the next
                // look settles.
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
    }
    Ok(())
}

/// One look at the release and each of its components.
async fn pass(ctx: &Context, release_id: i64) -> Result<(), StepError> {
    let Some(release) = ctx.store.main_release(release_id).await? else {
        return Ok(());
    };
    let result = match main_release::duty(release.state) {
        MainDuty::Analyze => until_canceled(ctx, release.id, analyze::analyze(ctx, &release)).await,
        MainDuty::Deploy => until_canceled(ctx, release.id, deploy_pass(ctx, &release)).await,
        MainDuty::Withdraw => withdraw_pass(ctx, &release).await,
        MainDuty::Wait => Ok(()),
    };
    match result {
        // A person changed the release meanwhile: the next pass acts on what they decided.
        Err(StepError::Superseded(why)) => {
            tracing::info!(release_id, %why, "pass stopped before writing to GitLab");
            ctx.store.request_wake(release_id).await?;
            Ok(())
        }
        other => other,
    }
}

/// Runs `work` unless the release is canceled meanwhile: then the work is dropped wherever it
/// is (every step is safe to stop at any line, as a crash would) and the pass ends, so the
/// withdrawal that the cancel requires starts at once instead of after the rest of the pass.
async fn until_canceled(
    ctx: &Context,
    release_id: i64,
    work: impl std::future::Future<Output = Result<(), StepError>>,
) -> Result<(), StepError> {
    let canceled = async {
        loop {
            tokio::time::sleep(CANCEL_CHECK).await;
            match ctx.store.main_release(release_id).await {
                Ok(Some(r)) if r.state == MainReleaseState::Canceled => return,
                Ok(_) => {}
                Err(error) => tracing::debug!(release_id, %error, "cannot look for a cancel"),
            }
        }
    };
    tokio::select! {
        result = work => result,
        () = canceled => {
            tracing::info!(release_id, "release canceled: the pass stops");
            Ok(())
        }
    }
}

async fn deploy_pass(ctx: &Context, release: &MainRelease) -> Result<(), StepError> {
    // Read before the states; each is settled after its step, unless news came meanwhile.
    let woken: BTreeMap<i64, i64> = ctx
        .store
        .component_wakes(release.id)
        .await?
        .into_iter()
        .collect();
    let plan = ctx.store.plan(release.id).await?;
    let (schedule, components) = schedule_of(ctx, release, &plan).await?;
    let ready: BTreeSet<String> = schedule.ready.iter().cloned().collect();
    let components: Vec<ComponentRelease> = components
        .into_iter()
        .filter(|c| !looks_again_soon(ctx, c))
        .collect();
    let (components, deferred) = to_step(components, &ready, &woken);
    if deferred {
        // The pass after this one prepares the next of them.
        ctx.store.request_wake(release.id).await?;
    }
    let results: Vec<Result<(), StepError>> = futures::stream::iter(components)
        .map(|component| {
            let is_ready = ready.contains(&component.name);
            let span = tracing::info_span!("component", component = %component.name);
            let seen = woken.get(&component.id).copied();
            async move {
                step_while_it_moves(ctx, release, &component, is_ready).await?;
                // A step that failed stays woken: the next pass looks again.
                if let Some(seen) = seen {
                    ctx.store.settle_component_wake(component.id, seen).await?;
                }
                Ok(())
            }
            .instrument(span)
        })
        .buffer_unordered(COMPONENT_CONCURRENCY)
        .collect()
        .await;
    for result in results {
        if let Err(error @ (StepError::Transient(_) | StepError::Unavailable(_))) = result {
            return Err(error);
        }
    }
    finish_if_done(ctx, release, &plan).await
}

/// The components this pass steps: those that need a step, in plan order, then at most
/// [`PREPARES_PER_PASS`] preparing ones (the steps that move a release along take the first
/// slots); and whether some preparing ones were left for the next pass.
fn to_step(
    components: Vec<ComponentRelease>,
    ready: &BTreeSet<String>,
    woken: &BTreeMap<i64, i64>,
) -> (Vec<ComponentRelease>, bool) {
    let (mut preparing, mut stepped): (Vec<_>, Vec<_>) = components
        .into_iter()
        .filter(|c| needs_step(c, ready, woken))
        .partition(|c| c.state == ComponentState::Preparing);
    let deferred = preparing.len() > PREPARES_PER_PASS;
    preparing.truncate(PREPARES_PER_PASS);
    stepped.append(&mut preparing);
    (stepped, deferred)
}

/// Whether a look-again is on its way for a merge request Convoy acted on (GitLab still links
/// its head pipeline): its wake-ups meanwhile (the new pipeline's webhooks) wait for that look,
/// a moment away, instead of each costing a look of its own. They stay recorded, so a crash
/// loses none.
fn looks_again_soon(ctx: &Context, c: &ComponentRelease) -> bool {
    c.state == ComponentState::Pending && c.acted && ctx.looks_again.contains(c.id)
}

/// Whether this pass steps the component: it is ready (Convoy acts), its state always needs
/// a step (preparing), or something woke it (a webhook for its project, a transition needing a
/// follow-up look such as a cancel's withdrawal, reconcile's full look). The others wait for
/// news, so a pass costs what changed rather than the size of the release.
fn needs_step(c: &ComponentRelease, ready: &BTreeSet<String>, woken: &BTreeMap<i64, i64>) -> bool {
    c.state == ComponentState::Preparing || ready.contains(&c.name) || woken.contains_key(&c.id)
}

/// After a cancel: nothing more may merge at GitLab. Each canceled component is woken when it
/// is canceled, and stays woken until its withdrawal succeeded.
async fn withdraw_pass(ctx: &Context, release: &MainRelease) -> Result<(), StepError> {
    let woken: BTreeMap<i64, i64> = ctx
        .store
        .component_wakes(release.id)
        .await?
        .into_iter()
        .collect();
    for component in ctx.store.components(release.id).await? {
        let Some(&seen) = woken.get(&component.id) else {
            continue;
        };
        if component.state == ComponentState::Canceled {
            steps::withdraw::withdraw(ctx, &component).await?;
        }
        ctx.store.settle_component_wake(component.id, seen).await?;
    }
    Ok(())
}

/// Computes the schedule from the stored plan and component states.
pub(crate) async fn current_schedule(
    ctx: &Context,
    release: &MainRelease,
) -> Result<Schedule, StepError> {
    let plan = ctx.store.plan(release.id).await?;
    Ok(schedule_of(ctx, release, &plan).await?.0)
}

/// The schedule of `plan` from the components' states as stored now, with those components.
async fn schedule_of(
    ctx: &Context,
    release: &MainRelease,
    plan: &ReleasePlan,
) -> Result<(Schedule, Vec<ComponentRelease>), StepError> {
    let components = ctx.store.components(release.id).await?;
    let mut options = SchedulerOptions {
        max_running: ctx.settings.max_running_pipelines,
        expected_seconds: BTreeMap::new(),
    };
    let expected_seconds = ctx.store.expected_pipeline_seconds(release.id).await?;
    let mut statuses = BTreeMap::new();
    for c in &components {
        if let Some(seconds) = expected_seconds.get(&c.project_path) {
            options.expected_seconds.insert(c.name.clone(), *seconds);
        }
        let status = ComponentStatus {
            state: c.state,
            acted: c.acted,
            gate_open: !release.require_review || c.reviewed,
        };
        statuses.insert(c.name.clone(), status);
    }
    let schedule = scheduler::schedule(&plan.graph(), &statuses, &options);
    Ok((schedule, components))
}

/// Steps a component, and steps it again at once while its new state's step needs no news
/// (see [`goes_on_at_once`]): a merge, the tag and the tag's creation then cost one step of
/// one pass instead of a pass each.
async fn step_while_it_moves(
    ctx: &Context,
    release: &MainRelease,
    component: &ComponentRelease,
    ready: bool,
) -> Result<(), StepError> {
    let (mut current, mut ready) = (component.clone(), ready);
    // The wake-up that makes a step needing no news durable: raised before that step, and
    // settled once it succeeded. A crash or a failure in between leaves it for the next pass.
    let mut owed_wake: Option<i64> = None;
    for _ in 0..STEPS_IN_A_ROW {
        let moved = step_component(ctx, release, &current, ready).await?;
        if let Some(seen) = owed_wake.take() {
            ctx.store.settle_component_wake(current.id, seen).await?;
        }
        if !moved {
            return Ok(());
        }
        let Some(next) = ctx.store.component(current.id).await? else {
            return Ok(());
        };
        if !goes_on_at_once(&current, &next) {
            return Ok(());
        }
        owed_wake = ctx.store.request_component_wake(next.id).await?;
        (current, ready) = (next, true);
    }
    // Left mid-way: the wake-up raised for the next step stays, for the next pass.
    Ok(())
}

/// Whether a component's next step follows at once, without news from GitLab or a new
/// decision of the scheduler: tagging a merged component Convoy acted on (it acted because
/// every dependency was released, and the tag pipeline takes over the slot its merge request
/// pipeline held), and creating the tag of a component that has just entered deploying.
fn goes_on_at_once(before: &ComponentRelease, after: &ComponentRelease) -> bool {
    match after.state {
        ComponentState::Merged => after.acted,
        ComponentState::Deploying => before.state != ComponentState::Deploying,
        _ => false,
    }
}

/// Runs the step a component's state requires, and records the event it produced. A fatal
/// error fails only this component. Returns whether the component moved (an event was
/// recorded).
async fn step_component(
    ctx: &Context,
    release: &MainRelease,
    component: &ComponentRelease,
    ready: bool,
) -> Result<bool, StepError> {
    let duty = component::duty(component.state);
    let what = format!("{} {}", step_word(duty), component.name);
    let step = async {
        match duty {
            Duty::Prepare => steps::prepare::prepare(ctx, component).await.map(Some),
            Duty::FollowMergeRequest => {
                steps::follow_merge_request::follow_merge_request(ctx, component, ready).await
            }
            Duty::Tag => Ok(ready.then_some(ComponentEvent::DependenciesReleased)),
            Duty::FollowTag => steps::follow_tag::follow_tag(ctx, component).await,
            Duty::Withdraw => steps::withdraw::withdraw(ctx, component)
                .await
                .map(|()| None),
            Duty::Wait => Ok(None),
        }
    };
    let outcome = failures::caught(&what, step).await;
    let event = match outcome {
        Ok(Some(event)) => event,
        Ok(None) => {
            ctx.failures.clear(component.id);
            return Ok(false);
        }
        Err(StepError::Fatal(reason)) => ComponentEvent::Errored { reason },
        Err(StepError::Superseded(why)) => {
            tracing::info!(release = release.id, component = %component.name, %why, "step stopped before writing to GitLab");
            return Ok(false);
        }
        Err(StepError::Transient(message))
            if ctx.failures.count(component.id, &message) >= failures::MAX_SAME_FAILURES =>
        {
            let reason = failures::given_up(&message, failures::MAX_SAME_FAILURES);
            ComponentEvent::Errored { reason }
        }
        Err(retried) => {
            tracing::warn!(release = release.id, component = %component.name, error = %retried, "step will be retried");
            return Err(retried);
        }
    };
    ctx.failures.clear(component.id);
    record::component_event(ctx, component, &event).await?;
    Ok(true)
}

/// Ends the release when every component is released (after pinning them in the manifest), or
/// fails it when nothing more can move.
async fn finish_if_done(
    ctx: &Context,
    release: &MainRelease,
    plan: &ReleasePlan,
) -> Result<(), StepError> {
    let (schedule, components) = schedule_of(ctx, release, plan).await?;
    if schedule.all_released {
        let event = manifest::rewrite_manifest(ctx, release).await?;
        return record::release_event(ctx, release, &event).await;
    }
    if schedule.stalled {
        let reason = stall_reason(&components, &schedule);
        return record::release_event(ctx, release, &MainReleaseEvent::Stalled { reason }).await;
    }
    Ok(())
}

/// "NetworkKit failed (tag 0.1.0 exists: …); FeatureKit is blocked by NetworkKit".
fn stall_reason(components: &[ComponentRelease], schedule: &Schedule) -> String {
    let stopped: Vec<String> = components
        .iter()
        .filter(|c| component::is_stopped(c.state))
        .map(|c| match &c.reason {
            Some(reason) => format!("{} {} ({reason})", c.name, state_word(c.state)),
            None => format!("{} {}", c.name, state_word(c.state)),
        })
        .collect();
    let blocked: Vec<String> = schedule
        .blocked
        .iter()
        .map(|(name, by)| format!("{name} is blocked by {}", by.join(", ")))
        .collect();
    let mut parts = vec![stopped.join("; ")];
    if !blocked.is_empty() {
        parts.push(blocked.join("; "));
    }
    format!("nothing more can move: {}", parts.join("; "))
}

/// What a component's step does, for a sentence ("preparing CoreKit").
fn step_word(duty: Duty) -> &'static str {
    match duty {
        Duty::Prepare => "preparing",
        Duty::FollowMergeRequest => "following the merge request of",
        Duty::Tag => "releasing",
        Duty::FollowTag => "tagging",
        Duty::Withdraw => "withdrawing",
        Duty::Wait => "looking at",
    }
}

fn state_word(state: ComponentState) -> &'static str {
    match state {
        ComponentState::Failed => "failed",
        ComponentState::Skipped => "was skipped",
        ComponentState::Canceled => "was canceled",
        _ => "stopped",
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_testkit::component_release;

    fn preparing(count: usize) -> Vec<ComponentRelease> {
        (0..count)
            .map(|i| component_release(i as i64, &format!("Kit{i}"), ComponentState::Preparing))
            .collect()
    }

    #[test]
    fn a_pass_prepares_a_few_and_leaves_the_rest_for_the_next() {
        let mut components = preparing(PREPARES_PER_PASS + 3);
        let pending = |id, name| component_release(id, name, ComponentState::Pending);
        components.push(pending(100, "Ready"));
        components.push(pending(101, "Woken"));
        components.push(pending(102, "Waiting"));
        let ready = BTreeSet::from(["Ready".to_owned()]);
        let woken = BTreeMap::from([(101, 1)]);

        let (stepped, deferred) = to_step(components, &ready, &woken);

        let names: Vec<&str> = stepped.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names[..2],
            ["Ready", "Woken"],
            "what moves the release goes first"
        );
        assert_eq!(names.len(), 2 + PREPARES_PER_PASS);
        assert_eq!(names[2], "Kit0", "preparing ones in plan order");
        assert!(deferred);
    }

    #[test]
    fn a_pass_with_room_prepares_them_all() {
        let (stepped, deferred) = to_step(
            preparing(PREPARES_PER_PASS),
            &BTreeSet::new(),
            &BTreeMap::new(),
        );
        assert_eq!(stepped.len(), PREPARES_PER_PASS);
        assert!(!deferred);
    }
}
