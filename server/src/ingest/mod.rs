//! Reports in (SPEC §4), top to bottom: read the body, check the host section and authorise,
//! take the identical-facts fast path, tell duplicate and stamp (quarantine what belongs to no
//! live stamp), parse the rest once, write it with one `facts::report` call in one transaction,
//! and queue what the written facts ask to be evaluated (the queue notifies the evaluators).

pub mod bounds;
pub mod limits;
pub mod nul;
pub mod ownership;
pub mod parse;
pub mod quarantine;

use serde::Serialize;
use sqlx::PgPool;
use stampbook_wire::{Report, SCHEMA_V1};
use uuid::Uuid;

use crate::auth::Principal;
use crate::config::ServeArgs;
use crate::domain::ReportOutcome;
use crate::error::ApiError;
use crate::facts::report::{self as facts, Evaluate, Incoming, Untouched, Written};
use crate::metrics::Metrics;
use crate::rules::queue;
use parse::HostIn;

pub use crate::facts::report::digest;

/// What ingest needs from the application.
#[derive(Clone, Copy)]
pub struct Ingest<'a> {
    pub pool: &'a PgPool,
    pub settings: &'a ServeArgs,
    pub metrics: &'a Metrics,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub report_id: Uuid,
    /// The host the report is about (lower-case FQDN).
    pub host: String,
    /// The report id was seen before; nothing was written.
    pub duplicate: bool,
    /// `stored` (facts changed), `unchanged` (identical facts), `late` (older than what is
    /// stored: kept in history only) or `duplicate`.
    #[schema(value_type = String)]
    pub outcome: ReportOutcome,
    /// How many facts changed.
    pub changes: usize,
    /// What the server set aside without refusing the report (role values it does not know).
    pub warnings: Vec<String>,
}

impl Accepted {
    fn new(report_id: Uuid, host: String, outcome: ReportOutcome, changes: usize) -> Accepted {
        Accepted {
            report_id,
            host,
            duplicate: outcome == ReportOutcome::Duplicate,
            outcome,
            changes,
            warnings: vec![],
        }
    }
}

/// A report not accepted: the error to answer, and the outcome it counts as.
#[derive(Debug)]
pub struct Refused {
    pub outcome: ReportOutcome,
    pub error: ApiError,
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Refused {
        let outcome = if error.status.is_server_error() {
            ReportOutcome::Failed
        } else {
            ReportOutcome::Refused
        };
        Refused { outcome, error }
    }
}

impl From<sqlx::Error> for Refused {
    fn from(e: sqlx::Error) -> Refused {
        Refused::from(ApiError::from(e))
    }
}

impl From<Refused> for ApiError {
    fn from(r: Refused) -> ApiError {
        r.error
    }
}

/// The body of `POST /api/v1/reports` (already read within `max_report_bytes`): its limits, then
/// [`ingest`]. Counts the outcome, whatever it is, in `/metrics`.
pub async fn receive(ctx: Ingest<'_>, who: &Principal, body: &[u8]) -> Result<Accepted, Refused> {
    let started = std::time::Instant::now();
    let result = async {
        limits::check(body, &ctx.settings.limits)?;
        nul::check(body)?;
        let report: Report = crate::json::from_json(body)?;
        ingest(ctx, who, &report).await
    }
    .await;
    let outcome = match &result {
        Ok(a) => a.outcome,
        Err(r) => r.outcome,
    };
    ctx.metrics.report_ingested(outcome, started.elapsed());
    result
}

/// Ingests one report for `who`; names what was set aside in `warnings` and counts the reports
/// its agent says it dropped.
pub async fn ingest(
    ctx: Ingest<'_>,
    who: &Principal,
    report: &Report,
) -> Result<Accepted, Refused> {
    let mut accepted = ingest_report(ctx, who, report).await?;
    if !accepted.duplicate {
        ctx.metrics
            .spool_dropped(facts::spool_dropped(report).unwrap_or(0));
        ctx.metrics
            .spool_rejected(facts::spool_rejected(report).unwrap_or(0));
    }
    accepted.warnings = warnings(report);
    Ok(accepted)
}

#[tracing::instrument(name = "ingest", skip_all, fields(report_id = %report.report_id, host = %report.host.fqdn, stamp = %report.host.stamp, stamp_id = tracing::field::Empty, outcome))]
async fn ingest_report(
    ctx: Ingest<'_>,
    who: &Principal,
    report: &Report,
) -> Result<Accepted, Refused> {
    let result = straight_path(ctx, who, report).await;
    let outcome = match &result {
        Ok(a) => a.outcome,
        Err(r) => r.outcome,
    };
    tracing::Span::current().record("outcome", outcome.as_str());
    result
}

async fn straight_path(
    ctx: Ingest<'_>,
    who: &Principal,
    report: &Report,
) -> Result<Accepted, Refused> {
    // the host section, and whether this sender may report for its stamp
    if report.schema != SCHEMA_V1 {
        return Err(ApiError::invalid(
            "unsupported_schema",
            format!(
                "schema '{}' is not supported; send '{SCHEMA_V1}'",
                report.schema
            ),
            "schema",
        )
        .into());
    }
    bounds::check(report)?;
    let host = parse::host(report)?;
    who.require_collector_for(host.stamp.as_str())?;

    // identical facts (the common case): one statement, and done; else the same statement told
    // whether the report is a duplicate and which stamp it names
    let digest = digest(report);
    let resolved_by_report = crate::rules::RESOLVED_BY_A_REPORT;
    let untouched = match unchanged(ctx, report, &host, &digest, resolved_by_report).await? {
        Ok(accepted) => return Ok(accepted),
        Err(untouched) => untouched,
    };

    // duplicate, or a stamp that is not live (quarantined)
    let stamp_id = match stamp_of(ctx, who, report, &host, untouched).await? {
        StampOf::Live(id) => {
            tracing::Span::current().record("stamp_id", id);
            id
        }
        StampOf::Duplicate(fqdn) => {
            return Ok(Accepted::new(
                report.report_id,
                fqdn,
                ReportOutcome::Duplicate,
                0,
            ));
        }
    };

    // the rest, parsed once, written in one transaction
    let parsed = parse::parse(report, host)?;
    let fqdn = parsed.host.fqdn.to_string();
    let mut tx = ctx.pool.begin().await?;
    let written = facts::write(
        &mut tx,
        &Incoming {
            report,
            parsed: &parsed,
            digest: &digest,
            stamp_id,
            may_move: ownership::may_move(who),
            resolved_by_report,
            history_detail_max: ctx.settings.limits.history_detail_max,
        },
    )
    .await?;
    let (outcome, host_id, changes, evaluate, moved_from) = match written {
        Written::MoveRefused => return Err(ownership::refusal(&who.name, &fqdn).into()),
        Written::Duplicate => {
            tx.rollback().await?;
            return Ok(Accepted::new(
                report.report_id,
                fqdn,
                ReportOutcome::Duplicate,
                0,
            ));
        }
        Written::Done {
            outcome,
            host_id,
            changes,
            evaluate,
            moved_from,
        } => (outcome, host_id, changes, evaluate, moved_from),
    };
    if let Some(from) = moved_from {
        ownership::record_move(&mut tx, who, &fqdn, from, stamp_id).await?;
        queue::request_stamp(&mut tx, from).await?;
    }
    request(&mut tx, stamp_id, host_id, evaluate).await?;
    tx.commit().await?;
    Ok(Accepted::new(report.report_id, fqdn, outcome, changes))
}

/// Queues the evaluation the written facts ask for (in the transaction that wrote them).
async fn request(
    conn: &mut sqlx::PgConnection,
    stamp_id: i64,
    host_id: i64,
    evaluate: Evaluate,
) -> Result<(), sqlx::Error> {
    match evaluate {
        Evaluate::Nothing => Ok(()),
        Evaluate::Host { stamp_rules } => {
            queue::request_host(conn, stamp_id, host_id, stamp_rules).await
        }
        Evaluate::Stamp => queue::request_stamp(conn, stamp_id).await,
    }
}

/// The fast path: `Ok` when the report had exactly the stored facts (or its twin did), else what
/// the statement found out for the rest of the way.
async fn unchanged(
    ctx: Ingest<'_>,
    report: &Report,
    host: &HostIn,
    digest: &[u8],
    resolved_by_report: &[&str],
) -> Result<Result<Accepted, Untouched>, Refused> {
    let t = match facts::touch_unchanged(ctx.pool, report, host, digest, resolved_by_report).await?
    {
        Ok(t) => t,
        Err(untouched) => return Ok(Err(untouched)),
    };
    tracing::Span::current().record("stamp_id", t.stamp_id);
    let fqdn = host.fqdn.to_string();
    if !t.recorded {
        return Ok(Ok(Accepted::new(
            report.report_id,
            fqdn,
            ReportOutcome::Duplicate,
            0,
        )));
    }
    if t.resolvable_open {
        // the host is back: its problem resolves at the next evaluation
        let mut conn = ctx.pool.acquire().await?;
        queue::request_host(&mut conn, t.stamp_id, t.host_id, false).await?;
    }
    Ok(Ok(Accepted::new(
        report.report_id,
        fqdn,
        ReportOutcome::Unchanged,
        0,
    )))
}

enum StampOf {
    Live(i64),
    /// The report id was seen before, for this host.
    Duplicate(String),
}

/// Duplicate and stamp, as the fast path's statement found them; a report for a stamp that is
/// unknown or retired is quarantined (and refused).
async fn stamp_of(
    ctx: Ingest<'_>,
    who: &Principal,
    report: &Report,
    host: &HostIn,
    seen: Untouched,
) -> Result<StampOf, Refused> {
    if let Some(fqdn) = seen.duplicate_of {
        return Ok(StampOf::Duplicate(fqdn));
    }
    let (code, why) = match (seen.stamp_id, seen.stamp_retired) {
        (Some(id), false) => return Ok(StampOf::Live(id)),
        (None, _) => (
            "unknown_stamp",
            format!("stamp '{}' is not in the inventory", host.stamp),
        ),
        (Some(_), true) => (
            "stamp_retired",
            format!("stamp '{}' is retired", host.stamp),
        ),
    };
    ownership::precheck(ctx.pool, who, host.fqdn.as_str(), host.stamp.as_str()).await?;
    quarantine::put(ctx.pool, report, code, &why, &who.name).await?;
    quarantine::prune(
        ctx.pool,
        ctx.settings.quarantine_retention_days,
        ctx.settings.quarantine_max,
    )
    .await?;
    Err(Refused {
        outcome: ReportOutcome::Quarantined,
        error: ApiError::invalid(
            code,
            format!("{why}; the report was quarantined and can be replayed once the stamp exists"),
            "host.stamp",
        ),
    })
}

/// What the answer tells the sender about what was set aside.
fn warnings(report: &Report) -> Vec<String> {
    report
        .host
        .unknown_roles
        .iter()
        .map(|r| {
            format!(
                "host.roles: '{}' is not a role this server knows; it was ignored",
                r.chars().take(100).collect::<String>()
            )
        })
        .collect()
}
