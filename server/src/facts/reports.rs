//! Accepted report ids (`reports`): what makes a re-sent report a duplicate, and how long they
//! are kept.

/// Forgets accepted report ids older than the retention window (in batches, so no long lock);
/// a collector re-sending such an old report gets it stored as late or unchanged, never twice.
/// Late reports' payloads go with them; history (`fact_changes`) stays.
pub async fn prune(pool: &sqlx::PgPool, retention_days: u32) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let n = sqlx::query!(
            r#"delete from reports where report_id in (
                   select report_id from reports
                   where received_at < now() - make_interval(days => $1)
                   limit 10000)"#,
            retention_days as i32
        )
        .execute(pool)
        .await?
        .rows_affected();
        total += n;
        if n < 10_000 {
            return Ok(total);
        }
    }
}
