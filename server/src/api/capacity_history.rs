//! `GET /api/v1/capacity/history`: a stamp's kept capacity snapshots (the stamp as a whole or
//! one scale unit, per hour or per day), JSON or CSV, bounded by range; and
//! `POST /api/v1/capacity/history` (admin): rows taken elsewhere imported into it, as the
//! demo's backfill does (`stampbook-agent simulate --backfill-days 180`); the stamp is then
//! evaluated again, since its forecast may have changed.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use stampbook_wire::capacity::{CapacityImport, CapacityRow, Step};

use super::body::Json;
use super::csv::Csv;
use super::negotiate::Format;
use crate::auth::Principal;
use crate::capacity::{DAILY_RETENTION_DAYS, HOURLY_RETENTION_DAYS, history};
use crate::error::{ApiError, ApiResult};
use crate::inventory::store::{self, StampRow};
use crate::state::AppState;

/// Rows one answer carries at most (731 days or 15 × 24 hours fit).
const MAX_ROWS: i64 = 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The stamp.
    pub stamp: String,
    /// Only this scale unit (as its Hyper-V hosts report it); the stamp as a whole without it.
    pub scale_unit: Option<String>,
    /// Only this resource's figures (`vcpus`, `memory_gb`, `storage_gb`, `vms`): each row is
    /// then `{at, physical, used, allocated, limit}`. Every figure without it.
    pub resource: Option<String>,
    /// From this instant (inclusive). Default: 90 days (`day`) or 14 days (`hour`) before `to`.
    pub from: Option<DateTime<Utc>>,
    /// Until this instant (exclusive). Default: now.
    pub to: Option<DateTime<Utc>>,
    /// `day` (default) or `hour`. A range spans at most 731 days (`day`) or 15 days (`hour`).
    pub step: Option<String>,
}

/// One resource over time.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResourcePoint {
    pub at: DateTime<Utc>,
    /// Physical cores, GB of memory or storage; null for VMs.
    #[schema(required = true)]
    pub physical: Option<f64>,
    /// In use by VMs (storage: not reported by hosts).
    #[schema(required = true)]
    pub used: Option<f64>,
    /// Plan quotas × subscriptions.
    #[schema(required = true)]
    pub allocated: Option<f64>,
    /// The stamp's limit (physical × overcommit; storage: physical).
    #[schema(required = true)]
    pub limit: Option<f64>,
}

/// Every figure of each row, or one resource's (documented by [`history_items_schema`]).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum HistoryItems {
    Rows(Vec<CapacityRow>),
    Resource(Vec<ResourcePoint>),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct History {
    pub stamp: String,
    pub scale_unit: Option<String>,
    pub resource: Option<String>,
    pub step: Step,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[schema(schema_with = history_items_schema)]
    pub items: HistoryItems,
}

/// `items` in the document: `anyOf`, not the `oneOf` an untagged enum gives, since an empty
/// list fits both shapes (schemathesis found `[]` refused by `oneOf`).
fn history_items_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, Ref, Schema};
    Schema::AnyOf(
        AnyOfBuilder::new()
            .item(ArrayBuilder::new().items(Ref::from_schema_name("CapacityRow")))
            .item(ArrayBuilder::new().items(Ref::from_schema_name("ResourcePoint")))
            .description(Some(
                "Every figure of each row, or one resource's points with `resource`.",
            ))
            .build(),
    )
}

/// The resources history and forecast know.
pub const RESOURCES: [&str; 4] = ["vcpus", "memory_gb", "storage_gb", "vms"];

fn point(r: &CapacityRow, resource: &str) -> ResourcePoint {
    let f = |v: Option<i64>| v.map(|v| v as f64);
    let (physical, used, allocated, limit) = match resource {
        "vcpus" => (
            f(r.physical_cores),
            f(r.used_vcpus),
            f(r.allocated_vcpus),
            r.vcpu_limit,
        ),
        "memory_gb" => (
            r.physical_memory_gb,
            r.used_memory_gb,
            f(r.allocated_memory_gb),
            r.memory_limit_gb,
        ),
        "storage_gb" => (
            f(r.physical_storage_gb),
            None,
            f(r.allocated_storage_gb),
            f(r.physical_storage_gb),
        ),
        _ => (None, f(r.used_vms), f(r.allocated_vms), None),
    };
    ResourcePoint {
        at: r.at,
        physical,
        used,
        allocated,
        limit,
    }
}

/// The stamp `name`, if the caller may see it: a token restricted to a stamp sees only that one.
pub async fn visible_stamp(
    conn: &mut sqlx::PgConnection,
    who: &Principal,
    name: &str,
    field: &str,
) -> ApiResult<StampRow> {
    if let Some(own) = &who.stamp_name
        && own != name
    {
        return Err(ApiError::forbidden(format!(
            "token '{}' may only see stamp '{own}'",
            who.name
        ))
        .with_field(field));
    }
    store::fetch_stamp(conn, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("stamp '{name}'")).with_field(field))
}

fn parse_step(step: Option<&str>) -> ApiResult<Step> {
    match step {
        None | Some("day") => Ok(Step::Day),
        Some("hour") => Ok(Step::Hour),
        Some(other) => Err(ApiError::bad_request(
            "invalid_step",
            format!("step '{other}' is not hour or day"),
        )
        .with_field("step")),
    }
}

#[utoipa::path(get, path = "/api/v1/capacity/history", tag = "capacity", operation_id = "capacity_history", params(HistoryQuery),
    responses((status = 200, description = "The kept snapshots, oldest first; CSV with `Accept: text/csv` (one row per snapshot, the same columns)",
               content((History = "application/json"), (String = "text/csv"))),
              (status = 404, description = "No such stamp", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    q: web::Query<HistoryQuery>,
    format: Format,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let step = parse_step(q.step.as_deref())?;
    if let Some(r) = q.resource.as_deref()
        && !RESOURCES.contains(&r)
    {
        return Err(ApiError::bad_request(
            "invalid_resource",
            format!("resource '{r}' is not one of {}", RESOURCES.join(", ")),
        )
        .with_field("resource"));
    }
    let (span, max) = match step {
        Step::Day => (TimeDelta::days(90), TimeDelta::days(DAILY_RETENTION_DAYS)),
        Step::Hour => (
            TimeDelta::days(HOURLY_RETENTION_DAYS),
            TimeDelta::days(HOURLY_RETENTION_DAYS + 1),
        ),
    };
    let to = q.to.unwrap_or_else(Utc::now);
    let from = q.from.unwrap_or(to - span);
    if from >= to {
        return Err(
            ApiError::bad_request("invalid_range", "from must be before to").with_field("from"),
        );
    }
    if to - from > max {
        return Err(ApiError::bad_request(
            "range_too_long",
            format!(
                "a {} range spans at most {} days",
                step.as_str(),
                max.num_days()
            ),
        )
        .with_field("from"));
    }
    let mut conn = state.reads.pool().acquire().await?;
    let stamp = visible_stamp(&mut conn, &who, &q.stamp, "stamp").await?;
    let unit = q.scale_unit.as_deref().unwrap_or("");
    let rows = history::rows(&mut conn, stamp.id, unit, step, from, to, MAX_ROWS).await?;
    let answer = History {
        stamp: stamp.decl.name.to_string(),
        scale_unit: q.scale_unit.clone(),
        resource: q.resource.clone(),
        step,
        from,
        to,
        items: match q.resource.as_deref() {
            Some(r) => HistoryItems::Resource(rows.iter().map(|row| point(row, r)).collect()),
            None => HistoryItems::Rows(rows),
        },
    };
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(&answer),
        Format::Csv => csv(&answer).respond(&req, None),
    })
}

fn csv(h: &History) -> Csv {
    match &h.items {
        HistoryItems::Resource(points) => {
            let mut out = Csv::new(&[
                "stamp",
                "resource",
                "at",
                "physical",
                "used",
                "allocated",
                "limit",
            ]);
            for p in points {
                out.row(&[
                    &h.stamp,
                    &h.resource,
                    &p.at,
                    &p.physical,
                    &p.used,
                    &p.allocated,
                    &p.limit,
                ]);
            }
            out
        }
        HistoryItems::Rows(rows) => {
            let mut out = Csv::new(&[
                "stamp",
                "scale_unit",
                "step",
                "at",
                "hyperv_hosts",
                "physical_cores",
                "physical_memory_gb",
                "physical_storage_gb",
                "used_vms",
                "used_vcpus",
                "used_memory_gb",
                "allocated_vms",
                "allocated_vcpus",
                "allocated_memory_gb",
                "allocated_storage_gb",
                "subscriptions",
                "vcpu_limit",
                "memory_limit_gb",
            ]);
            for r in rows {
                out.row(&[
                    &h.stamp,
                    &r.scale_unit,
                    &r.step.as_str(),
                    &r.at,
                    &r.hyperv_hosts,
                    &r.physical_cores,
                    &r.physical_memory_gb,
                    &r.physical_storage_gb,
                    &r.used_vms,
                    &r.used_vcpus,
                    &r.used_memory_gb,
                    &r.allocated_vms,
                    &r.allocated_vcpus,
                    &r.allocated_memory_gb,
                    &r.allocated_storage_gb,
                    &r.subscriptions,
                    &r.vcpu_limit,
                    &r.memory_limit_gb,
                ]);
            }
            out
        }
    }
}

/// What an import did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub stamp: String,
    /// Rows written.
    pub inserted: u64,
    /// Rows whose period was already kept (never overwritten).
    pub skipped: u64,
}

#[utoipa::path(post, path = "/api/v1/capacity/history", tag = "capacity", operation_id = "capacity_history_import", request_body = CapacityImport,
    responses((status = 200, description = "Rows written; rows whose (step, scale unit, period) is already kept are skipped", body = Imported),
              (status = 404, description = "No such stamp", body = super::openapi::ErrorBody),
              (status = 422, description = "A row is misaligned, in the future, older than its step is kept, negative, or there are more than 5000 (`field` names it)", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn post(
    state: web::Data<AppState>,
    who: Principal,
    body: Json<CapacityImport>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let import = body.0;
    history::validate(&import, Utc::now())
        .map_err(|e| ApiError::invalid("invalid_value", e.message, e.field))?;
    let mut tx = state.pool.begin().await?;
    let stamp = visible_stamp(&mut tx, &who, &import.stamp, "stamp").await?;
    let inserted = history::import(&mut tx, stamp.id, &import.rows).await?;
    // the forecast may have changed: capacity.exhaustion_soon is judged again now, not at the
    // next timer
    if inserted > 0 {
        crate::rules::queue::request_stamp(&mut tx, stamp.id).await?;
    }
    tx.commit().await?;
    tracing::info!(stamp = %import.stamp, rows = import.rows.len(), inserted, "capacity history imported");
    Ok(HttpResponse::Ok().json(Imported {
        stamp: import.stamp,
        inserted,
        skipped: import.rows.len() as u64 - inserted,
    }))
}
