//! Webhook delivery: a background task takes deliveries from a queue and POSTs them with
//! GitLab's headers, retrying failures with backoff, and applying the webhook faults (drop,
//! duplicate, hold back). Every attempt is logged for tests.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::faults::Roll;
use crate::server::Shared;
use crate::world::Delivery;

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
    pub payload: serde_json::Value,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub outcome: DeliveryOutcome,
}

/// What the webhook faults decided for one delivery, at the moment its event happened (so a
/// test changing faults right after an event knows which faults applied to it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeliveryPlan {
    pub dropped: bool,
    pub copies: u32,
    pub hold_back: Option<Duration>,
}

impl DeliveryPlan {
    pub fn decide(faults: &crate::faults::FaultControl) -> DeliveryPlan {
        let dropped = faults.roll(Roll::WebhookDrop);
        let copies = if faults.roll(Roll::WebhookDuplicate) {
            2
        } else {
            1
        };
        let hold_back = faults
            .roll(Roll::WebhookReorder)
            .then(|| Duration::from_millis(faults.reorder_delay_ms()));
        DeliveryPlan {
            dropped,
            copies,
            hold_back,
        }
    }
}

/// Runs until the queue closes.
pub(crate) async fn deliver_all(
    mut queue: UnboundedReceiver<(Delivery, DeliveryPlan)>,
    shared: Arc<Shared>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(shared.webhook_settings.timeout_ms))
        .build()
        .expect("an HTTP client without TLS settings builds");
    while let Some((delivery, plan)) = queue.recv().await {
        if plan.dropped {
            shared.record(&delivery, 1, DeliveryOutcome::Dropped);
            continue;
        }
        for _ in 0..plan.copies {
            if let Some(delay) = plan.hold_back {
                let (client, shared, delivery) = (client.clone(), shared.clone(), delivery.clone());
                actix_web::rt::spawn(async move {
                    tokio::time::sleep(delay).await;
                    deliver_with_retries(&client, &shared, delivery).await;
                });
            } else if !attempt(&client, &shared, &delivery, 1).await {
                // The first attempt is made in order, so receivers normally see events in the
                // order they happened; retries go to the background.
                let (client, shared, delivery) = (client.clone(), shared.clone(), delivery.clone());
                actix_web::rt::spawn(async move { retry(&client, &shared, delivery, 2).await });
            }
        }
    }
}

async fn deliver_with_retries(client: &reqwest::Client, shared: &Shared, delivery: Delivery) {
    if !attempt(client, shared, &delivery, 1).await {
        retry(client, shared, delivery, 2).await;
    }
}

/// Attempts `from`.. up to the configured maximum, waiting longer before each.
async fn retry(client: &reqwest::Client, shared: &Shared, delivery: Delivery, from: u32) {
    let settings = &shared.webhook_settings;
    for number in from..=settings.max_attempts {
        let backoff = settings
            .retry_backoff_ms
            .saturating_mul(1 << (number - 2).min(16));
        tokio::time::sleep(Duration::from_millis(backoff)).await;
        if attempt(client, shared, &delivery, number).await {
            return;
        }
    }
}

/// One POST; true when the receiver accepted it.
async fn attempt(
    client: &reqwest::Client,
    shared: &Shared,
    delivery: &Delivery,
    number: u32,
) -> bool {
    let mut request = client
        .post(&delivery.url)
        .header("Content-Type", "application/json")
        .header("User-Agent", "GitLab/17.8.0-sim")
        .header("X-Gitlab-Event", delivery.event)
        .header("X-Gitlab-Event-UUID", &delivery.event_uuid)
        .header("X-Gitlab-Webhook-UUID", &delivery.webhook_uuid)
        .header("X-Gitlab-Instance", shared.base_url.as_str())
        .header("Idempotency-Key", &delivery.idempotency_key)
        .body(delivery.payload.to_string());
    if let Some(token) = &delivery.token {
        request = request.header("X-Gitlab-Token", token);
    }
    let outcome = match request.send().await {
        Ok(response) if response.status().is_success() => {
            DeliveryOutcome::Delivered(response.status().as_u16())
        }
        Ok(response) => DeliveryOutcome::Failed(format!("HTTP {}", response.status().as_u16())),
        Err(error) => DeliveryOutcome::Failed(format!("connection error: {error}")),
    };
    let delivered = matches!(outcome, DeliveryOutcome::Delivered(_));
    if !delivered {
        tracing::debug!(url = %delivery.url, attempt = number, ?outcome, "webhook delivery failed");
    }
    shared.record(delivery, number, outcome);
    delivered
}

impl Shared {
    fn record(&self, delivery: &Delivery, attempt: u32, outcome: DeliveryOutcome) {
        let record = WebhookDelivery {
            hook_id: delivery.hook_id,
            project: delivery.project_path.clone(),
            url: delivery.url.clone(),
            event: delivery.event.to_string(),
            idempotency_key: delivery.idempotency_key.clone(),
            event_uuid: delivery.event_uuid.clone(),
            payload: delivery.payload.clone(),
            attempt,
            outcome,
        };
        self.deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record);
    }
}
