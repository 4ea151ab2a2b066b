//! The evaluator's doorbell: every evaluation request notifies [`super::queue::CHANNEL`] in its
//! transaction, and each replica listens on it, so queued stamps are evaluated promptly (on
//! whichever replica) instead of at the next timer tick. A replica also rings its own bell after
//! its own commits, which saves the round trip through PostgreSQL.

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

/// The evaluator loop of one replica: evaluates queued stamps when rung (after a short pause
/// that gathers a burst of reports into one run) and queues every stamp on the timer.
pub async fn run(state: actix_web::web::Data<crate::startup::AppState>) {
    tokio::spawn(listen(state.pool.clone(), state.evaluator.clone()));
    let mut lanes = super::engine::lanes();
    let mut ticker = tokio::time::interval(state.settings.evaluation_interval());
    let mut pruned: Option<std::time::Instant> = None;
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Err(e) = super::engine::request_all(&state.pool).await {
                    tracing::warn!(error = %e, "could not queue the periodic evaluation");
                }
                if pruned.is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(3600)) {
                    pruned = Some(std::time::Instant::now());
                    match crate::ingest::prune_reports(&state.pool, state.settings.report_retention_days).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(reports = n, "forgot report ids past the retention window"),
                        Err(e) => tracing::warn!(error = %e, "could not prune old report ids"),
                    }
                    crate::retention::run(&state).await;
                }
            }
            _ = state.evaluator.rung() => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        if let Err(e) =
            super::engine::drain(&state.pool, &mut lanes, Some(state.metrics.clone())).await
        {
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
