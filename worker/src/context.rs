//! What every step needs: the store, the forge, the worker's settings and its in-process
//! wake-ups.

use convoy_core::StateName;
use std::sync::Arc;
use std::time::Duration;

use convoy_core::owners::OwnerRule;
use convoy_forge::Forge;
use convoy_store::{ComponentRelease, MainRelease, Store};

use crate::error::StepError;
use crate::failures::RepeatedFailures;

/// The worker's settings.
#[derive(Clone)]
pub struct WorkerSettings {
    /// Names this worker in leases and logs.
    pub worker_id: String,
    /// Convoy's public URL as the forge sees it; the project hook posts to
    /// `{public_url}/webhooks/gitlab`. `None`: no hook is installed (reconcile only).
    pub public_url: Option<String>,
    /// The secret the forge sends back in its webhook deliveries.
    pub webhook_secret: String,
    /// How often every active release is checked against the forge.
    pub reconcile_interval: Duration,
    /// At most this many components running pipelines at once (`None`: no cap).
    pub max_running_pipelines: Option<usize>,
    /// How many podspecs are fetched at once during analysis.
    pub analysis_concurrency: usize,
    /// How long a worker's hold on a release lasts without renewal: after a crash, another
    /// worker takes the release over once this has passed. The holder renews it every third
    /// of this while it works.
    pub lease_ttl: Duration,
    /// The owner table: component name or project path (globs allowed) → GitLab usernames.
    pub owners: Vec<OwnerRule>,
    /// The chat channel releases are posted in, if any.
    pub chat: Option<crate::notify::ChatSettings>,
    /// Where every state change is posted as a signed JSON event, if anywhere.
    pub webhooks: Option<crate::notify::WebhookSettings>,
    /// Which channels each app's notifications go to (no rule: every configured channel).
    pub notify_rules: Vec<convoy_core::notices::ChannelRule>,
}

impl std::fmt::Debug for WorkerSettings {
    // Hand-written so that the webhook secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerSettings")
            .field("worker_id", &self.worker_id)
            .field("public_url", &self.public_url)
            .field("reconcile_interval", &self.reconcile_interval)
            .field("max_running_pipelines", &self.max_running_pipelines)
            .field("analysis_concurrency", &self.analysis_concurrency)
            .field("lease_ttl", &self.lease_ttl)
            .field("owners", &self.owners)
            .field("chat", &self.chat)
            .field("webhooks", &self.webhooks)
            .field("notify_rules", &self.notify_rules)
            .finish_non_exhaustive()
    }
}

impl WorkerSettings {
    /// The URL of Convoy's webhook endpoint, when Convoy has a public URL.
    pub fn hook_url(&self) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|url| format!("{}/webhooks/gitlab", url.trim_end_matches('/')))
    }
}

/// Everything a job needs, cheap to clone.
#[derive(Clone)]
pub struct Context {
    pub store: Store,
    pub forge: Arc<dyn Forge>,
    pub settings: WorkerSettings,
    pub stop: StopSignal,
    /// The failures of each component's step in a row.
    pub failures: Arc<RepeatedFailures>,
    /// The components with a look-again on the way: one at a time each, however many steps of
    /// theirs ask for one meanwhile (every webhook of a busy project wakes a step).
    pub looks_again: Arc<IdSet>,
    /// The releases this process advances next (see [`Nudges`]).
    pub nudges: Arc<Nudges>,
}

/// Releases to advance at once, in this process: the worker's own wake-ups (a webhook batch, a
/// look-again, a wake-up that came while it held the lease) are carried out by the nudge loop
/// (`runner::nudge_forever`) without a trip through the job queue, whose polls wait on the
/// database. The wake flag is still the durable record: a nudge lost with the process is
/// found by the next worker's takeover or reconcile.
#[derive(Debug, Default)]
pub struct Nudges {
    waiting: IdSet,
    arrived: tokio::sync::Notify,
}

impl Nudges {
    /// Asks the nudge loop to advance release `release_id` (once, however often it is asked
    /// before the loop takes it).
    pub fn nudge(&self, release_id: i64) {
        self.waiting.insert(release_id);
        self.arrived.notify_one();
    }

    /// Waits for nudges and takes them all.
    pub async fn take(&self) -> Vec<i64> {
        loop {
            let taken = self.waiting.take_all();
            if !taken.is_empty() {
                return taken;
            }
            self.arrived.notified().await;
        }
    }
}

/// A set of ids shared between tasks.
#[derive(Debug, Default)]
pub struct IdSet(std::sync::Mutex<std::collections::BTreeSet<i64>>);

impl IdSet {
    /// True when `id` was not in the set.
    fn insert(&self, id: i64) -> bool {
        self.lock().insert(id)
    }

    pub(crate) fn contains(&self, id: i64) -> bool {
        self.lock().contains(&id)
    }

    fn remove(&self, id: i64) {
        self.lock().remove(&id);
    }

    fn take_all(&self) -> Vec<i64> {
        std::mem::take(&mut *self.lock()).into_iter().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<i64>> {
        // The set stays consistent whatever panicked while it was held.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How long Convoy waits before it looks again at something GitLab is still working on by
/// itself (linking a head pipeline, checking mergeability) and sends no webhook for: GitLab
/// does it within a moment (a Sidekiq job), and each look is one request.
pub const LOOK_AGAIN_AFTER: Duration = Duration::from_millis(250);

impl Context {
    /// Wakes the component and its release again after [`LOOK_AGAIN_AFTER`]: for waits that
    /// end at GitLab without a webhook, such as `UpdateHeadPipelineWorker` linking a pipeline
    /// that already passed. Lost on a crash, which reconcile's full look covers.
    pub fn look_again_soon(&self, release_id: i64, component_id: i64) {
        if !self.looks_again.insert(component_id) {
            return;
        }
        let ctx = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(LOOK_AGAIN_AFTER) => {}
                () = ctx.stop.requested() => return,
            }
            ctx.looks_again.remove(component_id);
            if let Err(error) = ctx.wake(release_id, component_id).await {
                tracing::warn!(release_id, component_id, %error, "could not look again; reconcile will");
            }
        });
    }

    /// Called right before each GitLab write of a step: fails with [`StepError::Superseded`]
    /// when component `c` is no longer in the state the step started from, so a decision that
    /// lost (a cancel, a retry, a mark released) is never followed by a write made for it.
    pub(crate) async fn still_current(&self, c: &ComponentRelease) -> Result<(), StepError> {
        let now = self.store.component(c.id).await?;
        match now {
            Some(now) if now.state == c.state => Ok(()),
            Some(now) => Err(StepError::Superseded(format!(
                "{} is {} now, no longer {}",
                c.name,
                now.state.as_str(),
                c.state.as_str()
            ))),
            None => Err(StepError::Superseded(format!("{} is gone", c.name))),
        }
    }

    /// The same for the main release, before the writes it makes itself (the Podfile).
    pub(crate) async fn release_still_current(
        &self,
        release: &MainRelease,
    ) -> Result<(), StepError> {
        match self.store.main_release(release.id).await? {
            Some(now) if now.state == release.state => Ok(()),
            Some(now) => Err(StepError::Superseded(format!(
                "release {} is {} now, no longer {}",
                release.id,
                now.state.as_str(),
                release.state.as_str()
            ))),
            None => Err(StepError::Superseded(format!(
                "release {} is gone",
                release.id
            ))),
        }
    }

    /// "Watch it at <Convoy's page of the release>." for what Convoy writes at GitLab.
    pub(crate) fn watch_sentence(&self, release_id: i64) -> String {
        match &self.settings.public_url {
            Some(url) => format!(
                "Watch it at {}/releases/{release_id}.",
                url.trim_end_matches('/')
            ),
            None => format!("Watch it on Convoy's dashboard (release {release_id})."),
        }
    }

    async fn wake(&self, release_id: i64, component_id: i64) -> anyhow::Result<()> {
        self.store.request_component_wake(component_id).await?;
        self.store.request_wake(release_id).await?;
        self.nudges.nudge(release_id);
        Ok(())
    }
}

/// Tells the worker's loops that the process is shutting down: a pass in progress finishes,
/// no new pass starts. Made by [`StopSignal::new`] with the [`StopSender`] that fires it.
#[derive(Clone, Debug)]
pub struct StopSignal(tokio::sync::watch::Receiver<bool>);

/// Fires a [`StopSignal`]. Dropping it without firing leaves the worker running.
#[derive(Debug)]
pub struct StopSender(tokio::sync::watch::Sender<bool>);

impl StopSignal {
    pub fn new() -> (StopSender, StopSignal) {
        let (sender, receiver) = tokio::sync::watch::channel(false);
        (StopSender(sender), StopSignal(receiver))
    }

    /// Whether the worker was asked to stop.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once the worker is asked to stop (never, if the sender was dropped unfired).
    pub async fn requested(&self) {
        let mut receiver = self.0.clone();
        if receiver.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl StopSender {
    /// Asks the worker to stop.
    pub fn fire(&self) {
        self.0.send_replace(true);
    }
}
