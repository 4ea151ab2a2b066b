//! Refused reports kept for the NOC: a report for an unknown or retired stamp is stored whole,
//! with the reason, and can be replayed by an admin once the stamp exists.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use stampbook_wire::Report;

use super::Accepted;
use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::error::ApiError;

/// Keeps the report; a report id already waiting in quarantine is refreshed, not duplicated.
pub async fn put(
    pool: &PgPool,
    report: &Report,
    code: &str,
    reason: &str,
    token: &str,
) -> Result<(), sqlx::Error> {
    let raw = serde_json::to_value(report).unwrap_or_default();
    let refreshed = sqlx::query!(
        r#"update quarantined_reports set received_at = now(), code = $2, reason = $3, token_name = $4, payload = $5
           where report_id = $1 and replayed_at is null"#,
        report.report_id,
        code,
        reason,
        token,
        &raw
    )
    .execute(pool)
    .await?;
    if refreshed.rows_affected() == 0 {
        sqlx::query!(
            r#"insert into quarantined_reports (report_id, stamp, host, code, reason, token_name, payload)
               values ($1, $2, $3, $4, $5, $6, $7)"#,
            report.report_id,
            report.host.stamp,
            report.host.fqdn,
            code,
            reason,
            token,
            &raw
        )
        .execute(pool)
        .await?;
    }
    tracing::warn!(report_id = %report.report_id, stamp = %report.host.stamp, host = %report.host.fqdn, code, "report quarantined");
    Ok(())
}

/// Keeps the quarantine bounded: reports older than `max_age_days` go, then all but the newest
/// `max_count`. Run by the retention timer, and after each quarantined report for the count, so
/// a flood of refused reports cannot fill the database between two runs.
pub async fn prune(pool: &PgPool, max_age_days: u32, max_count: u32) -> Result<u64, sqlx::Error> {
    let old = sqlx::query!(
        "delete from quarantined_reports where received_at < now() - make_interval(days => $1)",
        i32::try_from(max_age_days).unwrap_or(i32::MAX)
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(old + prune_count(pool, max_count).await?)
}

async fn prune_count(pool: &PgPool, max_count: u32) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        r#"delete from quarantined_reports where id in (
               select id from quarantined_reports order by id desc offset $1)"#,
        i64::from(max_count)
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Quarantined reports kept, and those of them not replayed yet (for `/metrics`).
pub async fn counts(pool: &PgPool) -> Result<(i64, i64), sqlx::Error> {
    let r = sqlx::query!(
        r#"select count(*) as "all!", count(*) filter (where replayed_at is null) as "pending!"
           from quarantined_reports"#
    )
    .fetch_one(pool)
    .await?;
    Ok((r.all, r.pending))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuarantinedReport {
    pub id: i64,
    pub report_id: Option<uuid::Uuid>,
    pub received_at: DateTime<Utc>,
    pub stamp: String,
    pub host: String,
    pub code: String,
    pub reason: String,
    /// The token that sent it.
    pub token_name: Option<String>,
    pub replayed_at: Option<DateTime<Utc>>,
    pub replayed_by: Option<String>,
    pub replay_outcome: Option<String>,
}

/// The quarantine list's statements (exposed for the plan checks).
pub const PENDING_PAGE: &str = include_str!("sql/quarantine_pending_page.sql");
pub const PAGE: &str = include_str!("sql/quarantine_page.sql");
pub const OF_STAMP_PAGE: &str = include_str!("sql/quarantine_of_stamp_page.sql");

/// Newest first; `pending` only those not replayed yet. Each case walks its own index down from
/// the cursor: pending reports', the primary key, or the (stamp, id) index.
pub async fn list(
    pool: &PgPool,
    pending: bool,
    stamp: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<QuarantinedReport>, sqlx::Error> {
    match (stamp, pending) {
        (Some(stamp), _) => {
            sqlx::query_file_as!(
                QuarantinedReport,
                "src/ingest/sql/quarantine_of_stamp_page.sql",
                stamp,
                pending,
                before_id,
                limit
            )
            .fetch_all(pool)
            .await
        }
        (None, true) => {
            sqlx::query_file_as!(
                QuarantinedReport,
                "src/ingest/sql/quarantine_pending_page.sql",
                before_id,
                limit
            )
            .fetch_all(pool)
            .await
        }
        (None, false) => {
            sqlx::query_file_as!(
                QuarantinedReport,
                "src/ingest/sql/quarantine_page.sql",
                before_id,
                limit
            )
            .fetch_all(pool)
            .await
        }
    }
}

pub async fn count_pending(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from quarantined_reports where replayed_at is null"#
    )
    .fetch_one(pool)
    .await
}

/// Feeds a quarantined report through ingest again, as `who`; marks it replayed when it is accepted.
pub async fn replay(
    ctx: super::Ingest<'_>,
    who: &Principal,
    id: i64,
) -> Result<Accepted, ApiError> {
    let row = sqlx::query!(
        "select payload, replayed_at, token_name from quarantined_reports where id = $1",
        id
    )
    .fetch_optional(ctx.pool)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("quarantined report {id}")))?;
    if row.replayed_at.is_some() {
        return Err(ApiError::conflict(
            "already_replayed",
            format!("quarantined report {id} was replayed already"),
        ));
    }
    let report: Report = serde_json::from_value(row.payload.clone()).map_err(|e| {
        ApiError::invalid(
            "invalid_report",
            format!("the stored report no longer parses: {e}"),
            "",
        )
    })?;
    let stamp = sqlx::query!(
        "select retired_at from stamps where name = $1",
        report.host.stamp
    )
    .fetch_optional(ctx.pool)
    .await?;
    match stamp {
        None => {
            return Err(ApiError::invalid(
                "unknown_stamp",
                format!(
                    "stamp '{}' still does not exist: declare it first (PUT /api/v1/stamps/{})",
                    report.host.stamp, report.host.stamp
                ),
                "host.stamp",
            ));
        }
        Some(s) if s.retired_at.is_some() => {
            return Err(ApiError::invalid(
                "stamp_retired",
                format!("stamp '{}' is retired", report.host.stamp),
                "host.stamp",
            ));
        }
        Some(_) => {}
    }
    super::ownership::check_replay(
        ctx.pool,
        row.token_name.as_deref(),
        &report.host.fqdn,
        &report.host.stamp,
    )
    .await?;
    let accepted = super::ingest(ctx, who, &report).await?;
    let mut tx = ctx.pool.begin().await?;
    sqlx::query!(
        "update quarantined_reports set replayed_at = now(), replayed_by = $2, replay_outcome = $3 where id = $1",
        id,
        who.name,
        accepted.outcome.as_str()
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Entry {
            actor: &who.name,
            action: "replay",
            entity: "quarantined_report",
            key: &id.to_string(),
            before: None,
            after: audit::json(&serde_json::json!({
                "report_id": report.report_id,
                "host": accepted.host,
                "outcome": accepted.outcome,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(accepted)
}
