//! Asking for rule evaluation: a row in `evaluation_queue` per stamp, written in the same
//! transaction as the change that needs it, taken by whichever replica's evaluator is free.
//! Each request also sends a `NOTIFY` on [`CHANNEL`], delivered when the transaction commits, so
//! that every replica's evaluator wakes whoever made the change (ingest, inventory, an
//! acknowledgement on the dashboard) instead of waiting for its timer.

use sqlx::PgConnection;

/// The `LISTEN`/`NOTIFY` channel on which evaluation requests ring the evaluators.
pub const CHANNEL: &str = "stampbook_evaluate";

/// The whole stamp must be evaluated again (an inventory change, a context change).
pub async fn request_stamp(conn: &mut PgConnection, stamp_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"with q as (
             insert into evaluation_queue (stamp_id, host_ids) values ($1, null)
             on conflict (stamp_id) do update set host_ids = null
             returning stamp_id)
           select 1 as "rung!" from q, lateral (select pg_notify('stampbook_evaluate', q.stamp_id::text)) n"#,
        stamp_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(())
}

/// One host of the stamp changed; a pending whole-stamp request stays whole. `stamp_rules`: the
/// change touched what the stamp-wide rules read (components, vitals, roles).
pub async fn request_host(
    conn: &mut PgConnection,
    stamp_id: i64,
    host_id: i64,
    stamp_rules: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"with q as (
           insert into evaluation_queue (stamp_id, host_ids, stamp_rules) values ($1, array[$2::bigint], $3)
           on conflict (stamp_id) do update
           set stamp_rules = evaluation_queue.stamp_rules or excluded.stamp_rules,
               host_ids = case
               when evaluation_queue.host_ids is null then null
               -- an evaluator far behind: one whole-stamp run is cheaper than a long host list
               when cardinality(evaluation_queue.host_ids) >= 256 then null
               when $2 = any(evaluation_queue.host_ids) then evaluation_queue.host_ids
               else evaluation_queue.host_ids || $2 end
           returning stamp_id)
           select 1 as "rung!" from q, lateral (select pg_notify('stampbook_evaluate', q.stamp_id::text)) n"#,
        stamp_id,
        host_id,
        stamp_rules
    )
    .fetch_optional(conn)
    .await?;
    Ok(())
}
