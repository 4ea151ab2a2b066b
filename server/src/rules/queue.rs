//! Asking for rule evaluation: a row in `evaluation_queue` per stamp, written in the same
//! transaction as the change that needs it, taken by whichever replica's evaluator is free.
//! Each request also sends a `NOTIFY` on [`CHANNEL`], delivered when the transaction commits, so
//! that every replica's evaluator wakes whoever made the change (ingest, inventory, an
//! acknowledgement on the dashboard) instead of waiting for its timer.
//!
//! A request made inside a traced span (a report's ingest, an API change) also keeps that span's
//! `traceparent` with the row (at most 32 per row), and the evaluation that takes the row links
//! its span to each: a trace backend leads from an evaluation to what queued it.
//!
//! [`lock_stamp`] is the evaluation lock of one stamp: the evaluator holds it while it writes the
//! stamp's problems, and anything else that changes them takes it first.

use sqlx::PgConnection;

/// The `LISTEN`/`NOTIFY` channel on which evaluation requests ring the evaluators.
pub const CHANNEL: &str = "stampbook_evaluate";

/// The whole stamp must be evaluated again (an inventory change, a context change).
pub async fn request_stamp(conn: &mut PgConnection, stamp_id: i64) -> Result<(), sqlx::Error> {
    let traceparents = traced_by();
    sqlx::query!(
        r#"with q as (
             insert into evaluation_queue (stamp_id, host_ids, traceparents) values ($1, null, $2)
             on conflict (stamp_id) do update set host_ids = null,
               traceparents = case
               when cardinality(evaluation_queue.traceparents) >= 32 then evaluation_queue.traceparents
               else evaluation_queue.traceparents
                    || array(select t from unnest(excluded.traceparents) t
                             where t <> all(evaluation_queue.traceparents)) end
             returning stamp_id)
           select 1 as "rung!" from q, lateral (select pg_notify('stampbook_evaluate', q.stamp_id::text)) n"#,
        stamp_id,
        &traceparents
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
    let traceparents = traced_by();
    sqlx::query!(
        r#"with q as (
           insert into evaluation_queue (stamp_id, host_ids, stamp_rules, traceparents)
           values ($1, array[$2::bigint], $3, $4)
           on conflict (stamp_id) do update
           set stamp_rules = evaluation_queue.stamp_rules or excluded.stamp_rules,
               traceparents = case
               when cardinality(evaluation_queue.traceparents) >= 32 then evaluation_queue.traceparents
               else evaluation_queue.traceparents
                    || array(select t from unnest(excluded.traceparents) t
                             where t <> all(evaluation_queue.traceparents)) end,
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
        stamp_rules,
        &traceparents
    )
    .fetch_optional(conn)
    .await?;
    Ok(())
}

/// The `traceparent` of the span asking, to keep with the request (none when not traced).
fn traced_by() -> Vec<String> {
    crate::telemetry::current_traceparent()
        .into_iter()
        .collect()
}

/// Takes the stamp's evaluation lock until the end of the transaction: one evaluator per stamp
/// across replicas, and anything else that changes the stamp's problems waits for it.
pub async fn lock_stamp(conn: &mut PgConnection, stamp_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtext('stampbook.evaluate'), $1::int)",
        stamp_id as i32
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
