//! The hourly clean-up of what would otherwise grow without bound: quarantined reports (by age
//! and count, see `STAMPBOOK_QUARANTINE_*`), dashboard sessions past their end, and the
//! capacity history (complete days rolled up, hours kept 14 days, days 2 years).

use crate::startup::AppState;

/// One pass; failures are logged and retried at the next pass.
pub async fn run(state: &AppState) {
    let s = &state.settings;
    match crate::ingest::quarantine::prune(
        &state.pool,
        s.quarantine_retention_days,
        s.quarantine_max,
    )
    .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(reports = n, "quarantined reports past retention removed"),
        Err(e) => tracing::warn!(error = %e, "could not prune the quarantine"),
    }
    match crate::web::session::prune(&state.pool).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "ended dashboard sessions removed"),
        Err(e) => tracing::warn!(error = %e, "could not prune ended sessions"),
    }
    match crate::capacity::snapshot::roll(&state.pool, chrono::Utc::now()).await {
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
