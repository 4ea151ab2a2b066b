//! `GET /api/v1/capacity/forecast?stamp=`: per resource of a stamp, the days until its use
//! crosses the stamp's limit, as a range from the 30- and 90-day trends (see
//! `rules::forecast`), or "not growing" / "insufficient history"; the same forecast that
//! `capacity.exhaustion_soon` judges.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::capacity_history::visible_stamp;
use crate::auth::Principal;
use crate::capacity::history;
use crate::error::ApiResult;
use crate::rules::forecast::{ResourceForecast, stamp_forecasts};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// The stamp.
    pub stamp: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StampForecast {
    pub stamp: String,
    pub generated_at: DateTime<Utc>,
    /// The stamp's thresholds for `capacity.exhaustion_soon`.
    pub exhaustion_warning_days: i32,
    pub exhaustion_critical_days: i32,
    /// `vcpus`, `memory_gb`, `storage_gb`.
    pub resources: Vec<ResourceForecast>,
}

#[utoipa::path(get, path = "/api/v1/capacity/forecast", tag = "capacity", operation_id = "capacity_forecast", params(ForecastQuery),
    responses((status = 200, description = "Per resource: limit, current use, each window's trend, and the crossing as a range (`days_low`..`days_high`, each naming its window), or `not_growing` / `insufficient_history`", body = StampForecast),
              (status = 404, description = "No such stamp", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<ForecastQuery>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let mut conn = state.reads.pool().acquire().await?;
    let stamp = visible_stamp(&mut conn, &who, &q.stamp, "stamp").await?;
    let now = Utc::now();
    let days = history::days(&mut conn, stamp.id, now).await?;
    let t = &stamp.decl.thresholds;
    Ok(HttpResponse::Ok().json(StampForecast {
        stamp: stamp.decl.name.to_string(),
        generated_at: now,
        exhaustion_warning_days: t.exhaustion_warning_days,
        exhaustion_critical_days: t.exhaustion_critical_days,
        resources: stamp_forecasts(&days),
    }))
}
