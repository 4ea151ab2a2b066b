//! `GET /api/v1/placement?vcpus=&memory_gb=&storage_gb=&vms=&subscriptions=`: every stamp the
//! caller may see, ranked by the headroom it would keep after taking a plan of that size and
//! the growth its forecast expects, with the reasons a stamp is left out (see
//! `capacity::placement`).

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::capacity::history;
use crate::capacity::placement::{Candidate, Placement, PlanSize, rank};
use crate::error::{ApiError, ApiResult};
use crate::health;
use crate::inventory::store;
use crate::rules::forecast::stamp_forecasts;
use crate::state::AppState;

/// Stamps one answer ranks at most.
const MAX_STAMPS: i64 = 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlacementQuery {
    /// vCPUs per subscription (the plan's quota).
    #[param(minimum = 0, maximum = 1_000_000)]
    pub vcpus: Option<f64>,
    #[param(minimum = 0, maximum = 100_000_000)]
    pub memory_gb: Option<f64>,
    #[param(minimum = 0, maximum = 1_000_000_000)]
    pub storage_gb: Option<f64>,
    /// VMs per subscription (shown; VMs have no limit to judge).
    #[param(minimum = 0, maximum = 1_000_000)]
    pub vms: Option<f64>,
    /// Subscriptions expected (default 1): the plan takes its quotas once per subscription.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub subscriptions: Option<i64>,
    /// Leave out stamps that would exceed a limit within this many days (default 90).
    #[param(minimum = 0, maximum = 3650)]
    pub within_days: Option<i64>,
    /// `false` for a plan without Remote Console: a stamp's readiness then does not matter.
    pub remote_console: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlacementAnswer {
    pub vcpus: f64,
    pub memory_gb: f64,
    pub storage_gb: f64,
    pub vms: f64,
    pub subscriptions: i64,
    pub within_days: i64,
    /// Best first; stamps left out at the end with `rank` null and their reasons.
    pub items: Vec<Placement>,
}

fn bounded(v: Option<f64>, max: f64, field: &str) -> ApiResult<f64> {
    let v = v.unwrap_or(0.0);
    if v.is_finite() && (0.0..=max).contains(&v) {
        Ok(v)
    } else {
        Err(
            ApiError::bad_request("invalid_value", format!("{field} is 0 to {max}"))
                .with_field(field),
        )
    }
}

#[utoipa::path(get, path = "/api/v1/placement", tag = "capacity", operation_id = "capacity_placement", params(PlacementQuery),
    responses((status = 200, description = "Every stamp ranked by the headroom it keeps after the plan and forecast growth; excluded stamps carry their reasons", body = PlacementAnswer)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<PlacementQuery>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let vcpus = bounded(q.vcpus, 1e6, "vcpus")?;
    let memory_gb = bounded(q.memory_gb, 1e8, "memory_gb")?;
    let storage_gb = bounded(q.storage_gb, 1e9, "storage_gb")?;
    let vms = bounded(q.vms, 1e6, "vms")?;
    let subscriptions = q.subscriptions.unwrap_or(1);
    if !(1..=1_000_000).contains(&subscriptions) {
        return Err(
            ApiError::bad_request("invalid_value", "subscriptions is 1 to 1000000")
                .with_field("subscriptions"),
        );
    }
    let within_days = q.within_days.unwrap_or(90);
    if !(0..=3650).contains(&within_days) {
        return Err(
            ApiError::bad_request("invalid_value", "within_days is 0 to 3650")
                .with_field("within_days"),
        );
    }
    let n = subscriptions as f64;
    let size = PlanSize {
        vcpus: vcpus * n,
        memory_gb: memory_gb * n,
        storage_gb: storage_gb * n,
    };
    let mut conn = state.reads.pool().acquire().await?;
    let rows = match &who.stamp_name {
        Some(own) => store::fetch_stamp(&mut conn, own)
            .await?
            .into_iter()
            .collect(),
        None => store::list_stamps(&mut conn, None, true, None, MAX_STAMPS).await?,
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let healths = health::for_stamps(&mut conn, &ids).await?;
    let now = Utc::now();
    let mut candidates = Vec::with_capacity(rows.len());
    for row in &rows {
        let days = history::days(&mut conn, row.id, now).await?;
        let h = healths.get(&row.id);
        candidates.push(Candidate {
            stamp: row.decl.name.to_string(),
            display_name: row.decl.display_name.clone(),
            retired: row.retired_at.is_some(),
            critical_open: h.map_or(0, |h| h.open.critical),
            remote_console: h.map_or(health::Readiness::Unknown, |h| h.remote_console.state),
            forecasts: stamp_forecasts(&days),
        });
    }
    let items = rank(
        &candidates,
        size,
        within_days as f64,
        q.remote_console.unwrap_or(true),
    );
    Ok(HttpResponse::Ok().json(PlacementAnswer {
        vcpus,
        memory_gb,
        storage_gb,
        vms,
        subscriptions,
        within_days,
        items,
    }))
}
