//! Webhook delivery: a background task takes deliveries from a queue and POSTs them with
//! GitLab's headers, up to `concurrency` at once (each one is its own `WebHookWorker` job in
//! GitLab), retrying failures with backoff, and applying the webhook faults (drop, duplicate,
//! hold back). Every attempt is logged for tests.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::faults::DeliveryPlan;
use crate::shared::{DeliveryOutcome, Shared, WebhookDelivery};
use crate::world::Delivery;

/// Runs until the queue closes.
pub(crate) async fn deliver_all(
    mut queue: UnboundedReceiver<(Delivery, DeliveryPlan)>,
    shared: Arc<Shared>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(shared.webhook_settings.timeout_ms))
        .build()
        .expect("an HTTP client without TLS settings builds");
    let in_flight = Arc::new(tokio::sync::Semaphore::new(
        shared.webhook_settings.concurrency.max(1),
    ));
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
            } else {
                // First attempts start in the order the events happened and run side by side,
                // as GitLab's do: `WebHookService#async_execute` enqueues one `WebHookWorker`
                // job per delivery, which Sidekiq's threads run concurrently (see
                // `WebhookSettings::concurrency`); retries follow in the background.
                let slot = in_flight
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the delivery semaphore is never closed");
                let (client, shared, delivery) = (client.clone(), shared.clone(), delivery.clone());
                actix_web::rt::spawn(async move {
                    let delivered = attempt(&client, &shared, &delivery, 1).await;
                    drop(slot);
                    if !delivered {
                        retry(&client, &shared, delivery, 2).await;
                    }
                });
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
