//! `POST /api/v1/reports` (collectors) and the quarantine of refused reports.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use stampbook_wire::Report;

use super::body;
use super::pagination::{self, PageParams};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::ingest::{self, quarantine};
use crate::startup::AppState;

/// Accepts one report v1 (JSON, optionally gzip); 202 with what became of it.
pub async fn post(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    who.require_any_collector()?;
    if !body::is_json(&body::media_type(&req)) {
        return Err(ApiError::unsupported_media_type("application/json"));
    }
    let bytes = body::read(&req, payload.into_inner(), state.settings.max_report_bytes).await?;
    let report: Report = body::from_json(&bytes)?;
    let started = std::time::Instant::now();
    let accepted = ingest::ingest(&state, &who, &report).await?;
    state
        .metrics
        .report_ingested(accepted.outcome, started.elapsed());
    Ok(HttpResponse::Accepted().json(accepted))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct QuarantineQuery {
    /// Only reports not replayed yet (default true).
    pub pending: Option<bool>,
    pub stamp: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn list_quarantine(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<QuarantineQuery>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    let before = match page.after()? {
        Some(c) => Some(c.parse::<i64>().map_err(|_| {
            ApiError::bad_request("invalid_cursor", "bad cursor").with_field("cursor")
        })?),
        None => None,
    };
    let rows = quarantine::list(
        &state.pool,
        q.pending.unwrap_or(true),
        q.stamp.as_deref(),
        before,
        limit + 1,
    )
    .await?;
    Ok(HttpResponse::Ok().json(pagination::page(rows, limit, |r| r.id.to_string())))
}

pub async fn replay(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let accepted = quarantine::replay(&state, &who, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(accepted))
}
