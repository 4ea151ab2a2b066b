//! `POST /api/v1/reports` (collectors) and the quarantine of refused reports.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::body;
use super::pagination::{self, PageParams};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::ingest::{self, Accepted, quarantine};
use crate::state::AppState;

/// Accepts one report v1 (JSON, optionally gzip); 202 with what became of it.
#[utoipa::path(post, path = "/api/v1/reports", tag = "reports",
    request_body(content = stampbook_wire::Report, description = "A report, wire format v1 (`stampbook.report/v1`, SPEC §4); optionally `Content-Encoding: gzip`", content_type = "application/json"),
    responses((status = 202, description = "Stored (or a duplicate of a stored report id)", body = Accepted),
              (status = 403, description = "The token may not report for this stamp", body = super::openapi::ErrorBody),
              (status = 422, description = "The report is not valid (the field names it), or its stamp is unknown (quarantined)", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("collector"))))]
pub async fn post(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let started = std::time::Instant::now();
    let read = async {
        who.require_any_collector()?;
        if !body::is_json(&body::media_type(&req)) {
            return Err(ApiError::unsupported_media_type("application/json"));
        }
        body::read(&req, payload.into_inner(), state.settings.max_report_bytes).await
    };
    let bytes = match read.await {
        Ok(b) => b,
        Err(e) => {
            // refused before it could be read: counted like any other refusal
            let refused = ingest::Refused::from(e);
            state
                .metrics
                .report_ingested(refused.outcome, started.elapsed());
            return Err(refused.error);
        }
    };
    // wait for this report's share of the ingest budget: many large reports in flight take
    // turns instead of holding ten times their bytes each at once
    let total = (state.settings.ingest_budget_bytes / 1024).max(1);
    let share = u32::try_from((bytes.len() / 1024).clamp(1, total)).unwrap_or(u32::MAX);
    let budget = state
        .ingest_budget
        .clone()
        .acquire_many_owned(share)
        .await
        .map_err(|e| ApiError::internal(e.into()))?;
    let accepted = match state.reports_lane.clone() {
        Some(lane) => receive_on(&lane, state.into_inner(), who, bytes, budget).await?,
        None => ingest::receive(state.ingest(), &who, &bytes).await?,
    };
    Ok(HttpResponse::Accepted().json(accepted))
}

/// Parses and stores a report on `lane` (the background runtime, `AppState::reports_lane`), in
/// this request's span. The task holds the report's share of the ingest budget until it ends:
/// a client that hangs up does not stop a report whose storing has begun, nor free its share
/// while it is still being parsed.
async fn receive_on(
    lane: &tokio::runtime::Handle,
    state: std::sync::Arc<AppState>,
    who: Principal,
    bytes: actix_web::web::Bytes,
    budget: tokio::sync::OwnedSemaphorePermit,
) -> ApiResult<Accepted> {
    let work = async move {
        let accepted = ingest::receive(state.ingest(), &who, &bytes).await;
        drop(budget);
        accepted
    };
    let task = lane.spawn(tracing::Instrument::instrument(
        work,
        tracing::Span::current(),
    ));
    Ok(task.await.map_err(|e| ApiError::internal(e.into()))??)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuarantineQuery {
    /// Only reports not replayed yet (default true).
    pub pending: Option<bool>,
    pub stamp: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/quarantine", tag = "reports", params(QuarantineQuery),
    responses((status = 200, description = "Refused reports, newest first, with the reason", body = super::openapi::QuarantinePage)),
    extensions(("x-required-scope" = json!("read"))))]
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
    let before = page.after_id()?;
    let rows = quarantine::list(
        state.reads.lists(),
        q.pending.unwrap_or(true),
        q.stamp.as_deref(),
        before,
        limit + 1,
    )
    .await?;
    Ok(HttpResponse::Ok().json(pagination::page(rows, limit, |r| r.id.to_string())))
}

#[utoipa::path(post, path = "/api/v1/quarantine/{id}/replay", tag = "reports",
    params(("id" = i64, Path, description = "The quarantined report's id")),
    responses((status = 200, description = "Ingested now", body = Accepted),
              (status = 409, description = "Already replayed", body = super::openapi::ErrorBody),
              (status = 422, description = "Still refused (the stamp is still unknown, or the report is not valid)", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn replay(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let accepted = quarantine::replay(state.ingest(), &who, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(accepted))
}
