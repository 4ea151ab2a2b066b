//! The evaluator's doorbell: every evaluation request notifies [`super::queue::CHANNEL`] in its
//! transaction, and each replica listens on it, so queued stamps are evaluated promptly (on
//! whichever replica) instead of at the next timer tick. Writers only queue; the notification is
//! what wakes the evaluators, this replica's included.

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

/// The evaluator loop of one replica, on the background workers' pool: evaluates queued stamps
/// when rung (after a short pause that gathers a burst of reports into one run), giving way to
/// requests as `pace` says, and queues every stamp every `interval`.
pub async fn run(
    pool: sqlx::PgPool,
    evaluator: Evaluator,
    interval: std::time::Duration,
    pace: super::engine::Pace,
) {
    tokio::spawn(listen(pool.clone(), evaluator.clone()));
    let mut lanes = super::engine::lanes();
    // the listener keeps one connection of `pool` and the other workers need one now and then:
    // no more lanes than what is left (each holds a connection for its stamp's transaction)
    let spare = usize::try_from(pool.options().get_max_connections()).unwrap_or(usize::MAX);
    lanes.truncate(spare.saturating_sub(2).max(1));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Err(e) = super::engine::request_all(&pool).await {
                    tracing::warn!(error = %e, "could not queue the periodic evaluation");
                }
            }
            _ = evaluator.rung() => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        if let Err(e) = super::engine::drain_paced(&pool, &mut lanes, &pace).await {
            tracing::warn!(error = %e, "rule evaluation stopped; retrying at the next ring or tick");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

/// Rings `evaluator` for every notification on the queue's channel, reconnecting after a lost
/// connection (what was notified meanwhile is picked up by the timer's periodic run).
async fn listen(pool: sqlx::PgPool, evaluator: Evaluator) {
    loop {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(super::queue::CHANNEL).await {
                Ok(()) => loop {
                    match listener.try_recv().await {
                        Ok(Some(_)) => evaluator.wake(),
                        // the connection was lost and is re-established by the next call
                        Ok(None) => evaluator.wake(),
                        Err(e) => {
                            tracing::warn!(error = %e, "evaluation requests: listening stopped");
                            break;
                        }
                    }
                },
                Err(e) => tracing::warn!(error = %e, "evaluation requests: could not LISTEN"),
            },
            Err(e) => tracing::warn!(error = %e, "evaluation requests: no connection to listen on"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
}
