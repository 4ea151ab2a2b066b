//! The hourly clean-up of what would otherwise grow without bound: quarantined reports (by age
//! and count, see `STAMPBOOK_QUARANTINE_*`), dashboard sessions past their end, and the
//! capacity history (complete days rolled up, hours kept 14 days, days 2 years), and accepted
//! report ids past `STAMPBOOK_REPORT_RETENTION_DAYS`.

use sqlx::PgPool;

use crate::config::ServeArgs;

/// A pass at start and then every hour, while the server runs.
pub async fn run(pool: &PgPool, settings: &ServeArgs) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(3600));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        pass(pool, settings).await;
    }
}

/// One pass; failures are logged and retried at the next pass.
pub async fn pass(pool: &PgPool, s: &ServeArgs) {
    match crate::facts::reports::prune(pool, s.report_retention_days).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(reports = n, "forgot report ids past the retention window"),
        Err(e) => tracing::warn!(error = %e, "could not prune old report ids"),
    }
    match crate::ingest::quarantine::prune(pool, s.quarantine_retention_days, s.quarantine_max)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(reports = n, "quarantined reports past retention removed"),
        Err(e) => tracing::warn!(error = %e, "could not prune the quarantine"),
    }
    match crate::auth::session::prune(pool).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "ended dashboard sessions removed"),
        Err(e) => tracing::warn!(error = %e, "could not prune ended sessions"),
    }
    match crate::capacity::snapshot::roll(pool, chrono::Utc::now()).await {
        Ok(r) if r == crate::capacity::snapshot::Rolled::default() => {}
        Ok(r) => tracing::info!(
            days_written = r.days_written,
            hours_pruned = r.hours_pruned,
            days_pruned = r.days_pruned,
            "capacity history rolled up and pruned"
        ),
        Err(e) => tracing::warn!(error = %e, "could not roll up the capacity history"),
    }
}
