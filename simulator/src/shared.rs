//! The simulator's state, shared by the HTTP handlers, the pipeline ticker and the webhook
//! delivery task: the world, the people, the faults, and the log of webhook attempts.

use std::sync::Mutex;

use tokio::sync::mpsc::UnboundedSender;

use crate::faults::{DeliveryPlan, FaultControl};
use crate::scenario::WebhookSettings;
use crate::throttle::Throttle;
use crate::world::users::Users;
use crate::world::{Delivery, World};

/// State shared by the HTTP handlers, the ticker and the delivery task.
pub(crate) struct Shared {
    pub world: Mutex<World>,
    pub token: String,
    pub base_url: String,
    pub faults: FaultControl,
    pub webhook_settings: WebhookSettings,
    pub deliveries: Mutex<Vec<WebhookDelivery>>,
    /// Users, memberships and OAuth state (apart from the world: no webhooks come of them).
    pub users: Mutex<Users>,
    /// GitLab's authenticated API rate limit, when the scenario sets one.
    pub throttle: Throttle,
    pub hook_queue: UnboundedSender<(Delivery, DeliveryPlan)>,
}

impl Shared {
    /// Runs `f` on the world, then queues the webhooks it caused (under the lock, so the
    /// queue keeps the order in which things happened).
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut world = self.world.lock().unwrap_or_else(|p| p.into_inner());
        let result = f(&mut world);
        for delivery in world.outbox.drain(..) {
            let plan = DeliveryPlan::decide(&self.faults);
            // The queue only closes when the simulator stops; nothing to deliver then.
            let _ = self.hook_queue.send((delivery, plan));
        }
        result
    }
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered with this 2xx status.
    Delivered(u16),
    /// A non-2xx status or a connection error; retried while attempts remain.
    Failed(String),
    /// Not sent, on purpose (the `webhook_drop_rate` fault).
    Dropped,
}

/// One webhook delivery attempt, as tests inspect them.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    pub hook_id: u64,
    /// The project (path) the event is about.
    pub project: String,
    pub url: String,
    /// The `X-Gitlab-Event` header, e.g. `Pipeline Hook`.
    pub event: String,
    pub idempotency_key: String,
    pub event_uuid: String,
    /// The JSON body as sent.
    pub payload: std::sync::Arc<str>,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub outcome: DeliveryOutcome,
}

impl WebhookDelivery {
    /// The body, parsed.
    pub fn payload_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).expect("the simulator sends JSON it serialized")
    }
}
