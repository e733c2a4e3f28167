//! Starting and stopping the simulator. The HTTP server, the pipeline ticker and the webhook
//! delivery task run on a dedicated thread with its own actix system, so the simulator keeps
//! working whatever runtime (or blocking code) the caller has.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio::sync::mpsc::unbounded_channel;
use tokio::sync::oneshot;

use crate::faults::{DeliveryPlan, FaultControl};
use crate::hooks::deliver_all;
use crate::people::People;
use crate::scenario::{JobFailure, Scenario};
use crate::shared::Shared;
use crate::throttle::Throttle;
use crate::view::WorldView;
use crate::world::users::Users;
use crate::world::{Delivery, World};

/// How often pipelines are moved on; small against pipeline durations.
const TICK: Duration = Duration::from_millis(10);

/// What a simulator starts with.
#[derive(Clone)]
pub struct SimulatorConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The only token accepted (`PRIVATE-TOKEN` or `Authorization: Bearer`).
    pub token: String,
    pub scenario: Scenario,
}

impl std::fmt::Debug for SimulatorConfig {
    /// Leaves the token out, so a logged configuration shows no secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("listen", &self.listen)
            .field("token", &"[redacted]")
            .field("projects", &self.scenario.projects.len())
            .finish()
    }
}

/// A simulator serving on a local port. Stops when dropped (or with [`RunningSimulator::stop`]).
pub struct RunningSimulator {
    shared: Arc<Shared>,
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningSimulator {
    /// Binds, builds the scenario's world and starts serving; returns once requests are accepted.
    pub async fn start(config: SimulatorConfig) -> anyhow::Result<RunningSimulator> {
        let listener = TcpListener::bind(config.listen)
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let mut address = listener.local_addr()?;
        if address.ip().is_unspecified() {
            address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let base_url = format!("http://{address}");
        let faults = FaultControl::new(config.scenario.faults.clone());
        let world = World::from_scenario(&config.scenario, &base_url, faults.clone())?;
        let (hook_queue, hook_receiver) = unbounded_channel();
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            token: config.token,
            base_url,
            faults,
            webhook_settings: config.scenario.webhooks.clone(),
            deliveries: Mutex::new(Vec::new()),
            users: Mutex::new(users_of(&config.scenario)?),
            throttle: Throttle::new(config.scenario.api_rate_limit.clone()),
            hook_queue,
        });
        let (ready_tx, ready_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("gitlab-simulator".to_string())
            .spawn(move || serve(thread_shared, listener, hook_receiver, ready_tx, stop_rx))?;
        ready_rx
            .await
            .context("the simulator thread ended before serving")??;
        Ok(RunningSimulator {
            shared,
            address,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Live, read-only inspection of the world, plus the test helpers that change it.
    pub fn world(&self) -> WorldView {
        WorldView::new(self.shared.clone())
    }

    /// Users, memberships and OAuth applications.
    pub fn people(&self) -> People {
        People::new(self.shared.clone())
    }

    /// How many API requests GitLab's rate limit answered 429 (see `Scenario::api_rate_limit`).
    pub fn throttled_requests(&self) -> u64 {
        self.shared.throttle.throttled()
    }

    /// Changes faults at run time.
    pub fn faults(&self) -> FaultControl {
        self.shared.faults.clone()
    }

    /// Pushes a commit to a branch (created from the default branch if missing), as a person
    /// would with git: the files given are added or replaced, the push webhook and pipeline
    /// follow. Returns the new commit's sha. For "the owner pushes a fix".
    pub fn push_commit(
        &self,
        project: &str,
        branch: &str,
        files: &[(&str, &str)],
        message: &str,
    ) -> anyhow::Result<String> {
        self.shared.with_world(|world| {
            let id = world.project_by_path(project)?;
            let p = world.project(id);
            let base = p
                .branches
                .get(branch)
                .unwrap_or(&p.branches[&p.default_branch]);
            let mut content = world.commits[base].files.clone();
            for (path, text) in files {
                content.insert((*path).to_string(), (*text).to_string());
            }
            Ok(world.push_commit(id, branch, content, message.to_string()))
        })
    }

    /// Creates a tag as a person would (tag push webhook and tag pipeline follow). Returns the
    /// tagged commit.
    pub fn create_tag(&self, project: &str, name: &str, reference: &str) -> anyhow::Result<String> {
        self.shared.with_world(|world| {
            let id = world.project_by_path(project)?;
            world.create_tag(id, name, reference, None).map_err(|e| {
                anyhow::anyhow!("cannot create tag {name} in {project}: {}", e.text())
            })?;
            Ok(world.project(id).tags[name].commit.clone())
        })
    }

    /// Adds a tag that was released long ago: no webhook, no pipeline, counts as released.
    pub fn seed_released_tag(
        &self,
        project: &str,
        name: &str,
        reference: &str,
    ) -> anyhow::Result<String> {
        self.shared.with_world(|world| {
            let id = world.project_by_path(project)?;
            world.seed_tag(id, name, reference, true)
        })
    }

    /// Replaces a project's failing-job rules (e.g. lint fails while a file contains `BUG`).
    pub fn set_job_failures(&self, project: &str, failures: Vec<JobFailure>) -> anyhow::Result<()> {
        self.shared.with_world(|world| {
            let id = world.project_by_path(project)?;
            world.set_job_failures(id, failures);
            Ok(())
        })
    }

    /// Takes the project's runners offline (its pipelines wait, pending) or brings them back.
    pub fn set_runners_online(&self, project: &str, online: bool) -> anyhow::Result<()> {
        self.shared.with_world(|world| {
            let id = world.project_by_path(project)?;
            world.project_mut(id).runners_offline = !online;
            Ok(())
        })
    }

    /// Makes the publish job of the project's tag pipelines fail, or pass again.
    pub fn set_fail_tag_pipeline(&self, project: &str, fail: bool) -> anyhow::Result<()> {
        self.shared.with_world(|world| {
            let id = world.project_by_path(project)?;
            world.project_mut(id).fail_tag_pipeline = fail;
            Ok(())
        })
    }

    /// Stops serving and waits for the server thread to end.
    pub async fn stop(mut self) {
        self.signal_stop();
        if let Some(thread) = self.thread.take() {
            // Joining blocks; do it off the caller's runtime threads.
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        self.signal_stop();
    }
}

/// Runs a simulator until ctrl-c (for `convoy sim`).
pub async fn run_standalone(config: SimulatorConfig) -> anyhow::Result<()> {
    let simulator = RunningSimulator::start(config).await?;
    tracing::info!(url = %simulator.base_url(), "GitLab simulator listening; ctrl-c to stop");
    println!(
        "GitLab simulator listening on {} (API {}/api/v4)",
        simulator.base_url(),
        simulator.base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for ctrl-c")?;
    simulator.stop().await;
    Ok(())
}

/// The simulator thread: server, ticker and delivery on one actix system.
fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    hook_receiver: tokio::sync::mpsc::UnboundedReceiver<(Delivery, DeliveryPlan)>,
    ready: oneshot::Sender<anyhow::Result<()>>,
    stop: oneshot::Receiver<()>,
) {
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .configure(crate::api::oauth::configure)
                .default_service(web::to(crate::api::dispatch))
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener);
        let server = match server {
            Ok(server) => server.run(),
            Err(error) => {
                let _ = ready.send(Err(
                    anyhow::Error::new(error).context("cannot start the HTTP server")
                ));
                return;
            }
        };
        let handle = server.handle();
        let server_task = actix_web::rt::spawn(server);
        let ticker = actix_web::rt::spawn(tick_forever(shared.clone()));
        let delivery = actix_web::rt::spawn(deliver_all(hook_receiver, shared));
        let _ = ready.send(Ok(()));
        // Either an explicit stop or the owner dropped without stopping.
        let _ = stop.await;
        handle.stop(false).await;
        let _ = server_task.await;
        ticker.abort();
        delivery.abort();
    });
}

async fn tick_forever(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(TICK).await;
        shared.with_world(|world| world.tick(Instant::now()));
    }
}

/// The scenario's users, and its groups: those it names and every project's namespace (a
/// project lives in a group, `Project#namespace`).
fn users_of(scenario: &crate::scenario::Scenario) -> anyhow::Result<Users> {
    let mut users = Users::from_specs(&scenario.users)?;
    users.add_groups(scenario.groups.iter().map(String::as_str));
    users.add_groups(
        scenario
            .projects
            .iter()
            .filter_map(|p| p.path.rsplit_once('/').map(|(namespace, _)| namespace)),
    );
    Ok(users)
}
