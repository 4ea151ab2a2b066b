//! The evaluator's doorbell: ingest and inventory changes ring it after commit, so queued stamps
//! are evaluated promptly instead of at the next timer tick.

use std::sync::Arc;

use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct Evaluator {
    bell: Arc<Notify>,
}

impl Evaluator {
    pub fn wake(&self) {
        self.bell.notify_one();
    }

    /// Waits for the next ring (a ring while nobody waits is kept for the next wait).
    pub async fn rung(&self) {
        self.bell.notified().await;
    }
}
