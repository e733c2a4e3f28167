//! Group commit of webhook deliveries. Each delivery must be in the database before GitLab gets
//! its 200, and a commit costs a write to disk; on SQLite, writers also take turns. So one task
//! records the deliveries: it takes every delivery that waits (up to [`MAX_BATCH`]), records them
//! in one transaction (`Store::record_deliveries`) and answers each request after that commit.
//! Under light load a batch is one delivery and nothing waits for others; under heavy load many
//! deliveries share a commit.

use std::sync::Arc;

use convoy_store::{NewDelivery, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Deliveries recorded in one transaction at most.
const MAX_BATCH: usize = 256;
/// Deliveries waiting for the writer at most; a request beyond waits for room.
const QUEUE: usize = 4096;

/// What became of one delivery: its id, or None for a duplicate.
type Recorded = Result<Option<i64>, RecordError>;

/// Why a delivery was not recorded (GitLab gets a 500 and sends it again).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RecordError {
    /// The batch's transaction failed.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// The writer has stopped (the server is shutting down).
    #[error("the delivery writer has stopped")]
    Stopped,
}

struct Waiting {
    delivery: NewDelivery,
    answer: oneshot::Sender<Recorded>,
}

/// Hands deliveries to the writer task. Cheap to clone; the task ends when every clone is gone.
#[derive(Clone)]
pub struct DeliveryWriter {
    queue: mpsc::Sender<Waiting>,
}

impl DeliveryWriter {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(store: Store) -> DeliveryWriter {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(write_forever(store, waiting));
        DeliveryWriter { queue }
    }

    /// Records `delivery` (with whatever else waits) and returns once it is committed.
    pub async fn record(&self, delivery: NewDelivery) -> Recorded {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Waiting { delivery, answer })
            .await
            .map_err(|_| RecordError::Stopped)?;
        answered.await.map_err(|_| RecordError::Stopped)?
    }
}

async fn write_forever(store: Store, mut waiting: mpsc::Receiver<Waiting>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (deliveries, answers): (Vec<NewDelivery>, Vec<_>) =
            batch.drain(..).map(|w| (w.delivery, w.answer)).unzip();
        match store.record_deliveries(&deliveries).await {
            Ok(ids) => {
                for (answer, id) in answers.into_iter().zip(ids) {
                    // The request may have gone (the client hung up); the delivery is recorded.
                    let _ = answer.send(Ok(id));
                }
            }
            Err(error) => {
                let error = RecordError::Store(Arc::new(error));
                for answer in answers {
                    let _ = answer.send(Err(error.clone()));
                }
            }
        }
    }
}
