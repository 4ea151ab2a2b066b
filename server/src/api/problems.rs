//! `/api/v1/problems`: what the rules found, and acknowledging it (operator scope).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::body::Json;
use super::csv::Csv;
use super::negotiate::Format;
use super::pagination::{self, PageParams};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::problems::{self, AckRequest, Filter, Problem, State};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProblemQuery {
    pub stamp: Option<String>,
    /// critical, warning or info.
    #[param(pattern = "^(critical|warning|info)$")]
    pub severity: Option<String>,
    /// A rule id (`cert.expiring`) or a family (`remote_console`).
    pub rule: Option<String>,
    /// open (default), resolved or all.
    #[param(inline)]
    pub state: Option<State>,
    pub host: Option<String>,
    pub plan: Option<String>,
    /// true: only acknowledged; false: only unacknowledged.
    pub acknowledged: Option<bool>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/problems", tag = "problems", params(ProblemQuery),
    responses((status = 200, description = "A page of problems, newest first; CSV with `Accept: text/csv`",
               content((super::openapi::ProblemPage = "application/json"), (String = "text/csv")),
               headers(("X-Next-Cursor" = String, description = "CSV only: the next page's cursor"), ("Link" = String, description = "CSV only: `<...>; rel=\"next\"`")))),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<ProblemQuery>,
    req: HttpRequest,
    format: Format,
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
    let before_id = page.after_id()?;
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
    let rows = problems::list(state.reads.lists(), &filter, limit + 1).await?;
    let page = pagination::page(rows, limit, |p| p.id.to_string());
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(page),
        Format::Csv => csv(&page.items).respond(&req, page.next_cursor.as_deref()),
    })
}

/// Problems as CSV: the evidence (structured, per rule) stays in the JSON answer.
fn csv(problems: &[Problem]) -> Csv {
    let mut out = Csv::new(&[
        "id",
        "rule",
        "severity",
        "stamp",
        "host",
        "plan",
        "subject",
        "message",
        "opened_at",
        "last_seen_at",
        "resolved_at",
        "acknowledged",
        "acknowledged_by",
        "acknowledged_until",
    ]);
    for p in problems {
        let ack = p.acknowledgement.as_ref();
        out.row(&[
            &p.id,
            &p.rule,
            &p.severity,
            &p.stamp,
            &p.host,
            &p.plan,
            &p.subject,
            &p.message,
            &p.opened_at,
            &p.last_seen_at,
            &p.resolved_at,
            &p.acknowledged,
            &ack.map(|a| a.by.clone()),
            &ack.and_then(|a| a.until),
        ]);
    }
    out
}

#[utoipa::path(get, path = "/api/v1/problems/{id}", tag = "problems",
    params(("id" = i64, Path, description = "The problem's id")),
    responses((status = 200, description = "The problem", body = Problem)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let p = problems::get(state.reads.pool(), *id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("problem {id}")))?;
    Ok(HttpResponse::Ok().json(p))
}

#[utoipa::path(post, path = "/api/v1/problems/{id}/acknowledge", tag = "problems", request_body = AckRequest,
    params(("id" = i64, Path, description = "The problem's id")),
    responses((status = 200, description = "Acknowledged: it stays visible, and does not count for health until `until`", body = Problem),
              (status = 409, description = "The problem is resolved", body = super::openapi::ErrorBody),
              (status = 422, description = "`until` is not in the future, or the note is too long", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("operator"))))]
pub async fn acknowledge(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: Json<AckRequest>,
) -> ApiResult<HttpResponse> {
    who.require_operator()?;
    // the acknowledgement queues its stamp; the queue's notification wakes the evaluators
    let p = problems::acknowledge(&state.pool, *id, &who.name, &body.0).await?;
    Ok(HttpResponse::Ok().json(p))
}
