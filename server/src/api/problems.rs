//! `/api/v1/problems`: what the rules found, and acknowledging it (operator scope).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::body::Json;
use super::pagination::{self, PageParams};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::problems::{self, AckRequest, Filter, State};
use crate::startup::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ProblemQuery {
    pub stamp: Option<String>,
    /// critical, warning or info.
    pub severity: Option<String>,
    /// A rule id (`cert.expiring`) or a family (`remote_console`).
    pub rule: Option<String>,
    /// open (default), resolved or all.
    pub state: Option<State>,
    pub host: Option<String>,
    pub plan: Option<String>,
    /// true: only acknowledged; false: only unacknowledged.
    pub acknowledged: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<ProblemQuery>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    if let Some(s) = &q.severity
        && !["critical", "warning", "info"].contains(&s.as_str())
    {
        return Err(ApiError::bad_request(
            "invalid_severity",
            "severity is critical, warning or info",
        )
        .with_field("severity"));
    }
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    let before_id = match page.after()? {
        Some(c) => Some(c.parse::<i64>().map_err(|_| {
            ApiError::bad_request("invalid_cursor", "bad cursor").with_field("cursor")
        })?),
        None => None,
    };
    let filter = Filter {
        stamp: q.stamp.clone(),
        severity: q.severity.clone(),
        rule: q.rule.clone(),
        state: q.state.unwrap_or_default(),
        host: q.host.clone(),
        plan: q.plan.clone(),
        acknowledged: q.acknowledged,
        before_id,
    };
    let rows = problems::list(&state.pool, &filter, limit + 1).await?;
    Ok(HttpResponse::Ok().json(pagination::page(rows, limit, |p| p.id.to_string())))
}

pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let p = problems::get(&state.pool, *id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("problem {id}")))?;
    Ok(HttpResponse::Ok().json(p))
}

pub async fn acknowledge(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: Json<AckRequest>,
) -> ApiResult<HttpResponse> {
    who.require_operator()?;
    let p = problems::acknowledge(&state.pool, *id, &who.name, &body.0).await?;
    state.evaluator.wake();
    Ok(HttpResponse::Ok().json(p))
}
