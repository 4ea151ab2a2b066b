//! `/api/v1/plans`: the plans sold in WAP, each answered with its stamp's health and Remote
//! Console readiness (what a WAP integration asks before selling one).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::body::Json;
use super::csv::Csv;
use super::negotiate::Format;
use super::pagination::{self, PageParams};
use super::plan_wap::{PlanItem, Reconciler};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::health;
use crate::inventory::model::{ApplySummary, Plan, PlanSpec};
use crate::inventory::store::{self, PlanRow};
use crate::inventory::validate;
use crate::state::AppState;

/// Which plans a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Declared,
    Wap,
    All,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only plans on this stamp (for plans only WAP knows: reported by this stamp's WAP).
    pub stamp: Option<String>,
    /// `declared` (default): the inventory's plans, each with what WAP says of it; `wap`: the
    /// plans only WAP knows; `all`: both, by id.
    pub source: Option<Source>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub async fn to_api(conn: &mut sqlx::PgConnection, rows: Vec<PlanRow>) -> ApiResult<Vec<Plan>> {
    let mut ids: Vec<i64> = rows.iter().map(|r| r.stamp_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let healths = health::for_stamps(conn, &ids).await?;
    rows.into_iter()
        .map(|r| {
            let h = healths.get(&r.stamp_id).cloned().ok_or_else(|| {
                ApiError::not_found(format!("stamp of plan '{}'", r.decl.wap_plan_id))
            })?;
            let d = r.decl;
            Ok(Plan {
                wap_plan_id: d.wap_plan_id,
                name: d.name,
                public: d.public,
                stamp: d.stamp.to_string(),
                cloud: d.cloud,
                remote_console: d.remote_console,
                quota: d.quota,
                subscriptions: d.subscriptions,
                created_at: r.created_at,
                updated_at: r.updated_at,
                stamp_health: h,
            })
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/plans", tag = "plans", params(ListQuery),
    responses((status = 200, description = "A page of plans by wap_plan_id, each with its stamp's health and Remote Console readiness; CSV with `Accept: text/csv`",
               content((super::openapi::PlanPage = "application/json"), (String = "text/csv")),
               headers(("X-Next-Cursor" = String, description = "CSV only: the next page's cursor"), ("Link" = String, description = "CSV only: `<...>; rel=\"next\"`")))),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<ListQuery>,
    req: HttpRequest,
    format: Format,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    let source = q.source.unwrap_or(Source::Declared);
    // the declared plans' page reads through statements checked with a generic plan (the page,
    // its stamps' health, WAP's side of its plans: tests/query_plans.rs), so it takes the list
    // pool; WAP's own plans are read whole, with PostgreSQL's own plan choice
    let pool = if source == Source::Declared {
        state.reads.lists()
    } else {
        state.reads.pool()
    };
    let mut conn = pool.acquire().await?;
    let after = page.after()?;
    let mut items: Vec<PlanItem> = Vec::new();
    let page = if source == Source::Wap {
        store::PlansPage {
            rows: Vec::new(),
            wap_collected: Default::default(),
        }
    } else {
        store::list_plans(&mut conn, q.stamp.as_deref(), after.as_deref(), limit + 1).await?
    };
    // the declared plans alone: what WAP says of this page's plans; with WAP's own, all of it
    let mut wap = if source == Source::Declared {
        Reconciler::for_page(&mut conn, &page, Vec::new()).await?
    } else {
        Reconciler::load(&mut conn).await?
    };
    let rows = page.rows;
    if source != Source::Wap {
        let plans = to_api(&mut conn, rows).await?;
        items.extend(
            wap.views(plans)
                .into_iter()
                .map(|v| PlanItem::Declared(Box::new(v))),
        );
    }
    if source != Source::Declared {
        items.extend(
            wap.wap_only(q.stamp.as_deref())
                .into_iter()
                .filter(|p| after.as_deref().is_none_or(|a| p.wap_plan_id.as_str() > a))
                .map(PlanItem::Wap),
        );
        items.sort_by(|a, b| a.wap_plan_id().cmp(b.wap_plan_id()));
        items.truncate(usize::try_from(limit + 1).unwrap_or(usize::MAX));
    }
    let page = pagination::page(items, limit, |p| p.wap_plan_id().to_owned());
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(page),
        Format::Csv => csv(&page.items).respond(&req, page.next_cursor.as_deref()),
    })
}

fn csv(items: &[PlanItem]) -> Csv {
    let mut out = Csv::new(&[
        "wap_plan_id",
        "name",
        "public",
        "stamp",
        "cloud",
        "remote_console",
        "quota_vms",
        "quota_vcpus",
        "quota_memory_gb",
        "quota_storage_gb",
        "subscriptions",
        "stamp_health",
        "stamp_retired",
        "stamp_open_critical",
        "stamp_open_warning",
        "remote_console_ready",
        "remote_console_state",
        "remote_console_broken_link",
        "created_at",
        "updated_at",
        "wap_status",
        "wap_state",
        "wap_subscription_count",
        "wap_last_seen_at",
        "disagreements",
        "source",
    ]);
    for item in items {
        match item {
            PlanItem::Declared(v) => {
                let p = &v.plan;
                let h = &p.stamp_health;
                let w = v.wap.as_ref();
                out.row(&[
                    &p.wap_plan_id,
                    &p.name,
                    &p.public,
                    &p.stamp,
                    &p.cloud,
                    &p.remote_console,
                    &p.quota.vms,
                    &p.quota.vcpus,
                    &p.quota.memory_gb,
                    &p.quota.storage_gb,
                    &p.subscriptions,
                    &h.health.as_str(),
                    &h.retired,
                    &h.open.critical,
                    &h.open.warning,
                    &h.remote_console.ready,
                    &h.remote_console.state.as_str(),
                    &h.remote_console.broken_link.map(|l| l.as_str()),
                    &p.created_at,
                    &p.updated_at,
                    &v.wap_status.as_str(),
                    &w.map(|w| w.state.clone()),
                    &w.and_then(|w| w.subscription_count),
                    &w.map(|w| w.last_seen_at),
                    &v.disagreements.len(),
                    &v.source,
                ]);
            }
            PlanItem::Wap(v) => {
                let none: Option<&str> = None;
                out.row(&[
                    &v.wap_plan_id,
                    &v.wap.display_name,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &none,
                    &v.wap_status.as_str(),
                    &v.wap.state,
                    &v.wap.subscription_count,
                    &v.wap.last_seen_at,
                    &0,
                    &v.source,
                ]);
            }
        }
    }
    out
}

async fn one(conn: &mut sqlx::PgConnection, id: &str) -> ApiResult<Plan> {
    let row = store::fetch_plan(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("plan '{id}'")))?;
    to_api(conn, vec![row])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("plan '{id}'")))
}

#[utoipa::path(get, path = "/api/v1/plans/{wap_plan_id}", tag = "plans",
    params(("wap_plan_id" = String, Path, description = "The plan's id in WAP (a plan only WAP knows is found ignoring case)")),
    responses((status = 200, description = "A declared plan with its stamp's health, Remote Console readiness and what WAP says of it (`source` `declared`), or a plan only WAP knows (`source` `wap`)", body = PlanItem),
              (status = 404, description = "Neither declared nor reported by WAP", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let mut conn = state.reads.pool().acquire().await?;
    Ok(HttpResponse::Ok().json(item(&mut conn, &id).await?))
}

/// The plan `id` as the API answers it: declared (with WAP's view), or only in WAP.
pub async fn item(conn: &mut sqlx::PgConnection, id: &str) -> ApiResult<PlanItem> {
    let wap = Reconciler::load_one(&mut *conn, id).await?;
    match store::fetch_plan(&mut *conn, id).await? {
        Some(row) => {
            let plan = to_api(conn, vec![row])
                .await?
                .pop()
                .ok_or_else(|| ApiError::not_found(format!("plan '{id}'")))?;
            Ok(PlanItem::Declared(Box::new(wap.view(plan))))
        }
        None => wap
            .wap_only_one(id)
            .map(PlanItem::Wap)
            .ok_or_else(|| ApiError::not_found(format!("plan '{id}'"))),
    }
}

async fn write(
    state: &AppState,
    who: &Principal,
    spec: &PlanSpec,
    path_id: Option<&str>,
) -> ApiResult<(Plan, bool)> {
    let decl = validate::plan(spec, path_id, "")?;
    let mut tx = state.pool.begin().await?;
    let stamp = store::fetch_stamp(&mut tx, decl.stamp.as_str())
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "unknown_stamp",
                format!("no stamp named '{}'", decl.stamp),
                "stamp",
            )
        })?;
    if path_id.is_none()
        && store::fetch_plan(&mut tx, &decl.wap_plan_id)
            .await?
            .is_some()
    {
        return Err(ApiError::conflict(
            "plan_exists",
            format!(
                "plan '{}' exists; PUT /api/v1/plans/{} changes it",
                decl.wap_plan_id, decl.wap_plan_id
            ),
        )
        .with_field("wap_plan_id"));
    }
    let mut summary = ApplySummary::default();
    store::put_plan(&mut tx, &decl, stamp.id, &who.name, &mut summary).await?;
    let plan = one(&mut tx, &decl.wap_plan_id).await?;
    tx.commit().await?;
    Ok((plan, !summary.created.is_empty()))
}

#[utoipa::path(post, path = "/api/v1/plans", tag = "plans", request_body = PlanSpec,
    responses((status = 201, description = "Declared", body = Plan, headers(("Location" = String, description = "The new plan"))),
              (status = 409, description = "A plan with this wap_plan_id exists", body = super::openapi::ErrorBody),
              (status = 422, description = "A value is not valid, or the stamp does not exist", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn create(
    state: web::Data<AppState>,
    who: Principal,
    body: Json<PlanSpec>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let (plan, _) = write(&state, &who, &body.0, None).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/plans/{}", plan.wap_plan_id)))
        .json(plan))
}

#[utoipa::path(put, path = "/api/v1/plans/{wap_plan_id}", tag = "plans", request_body = PlanSpec,
    params(("wap_plan_id" = String, Path, description = "The plan's id in WAP")),
    responses((status = 200, description = "Changed (or unchanged)", body = Plan), (status = 201, description = "Declared", body = Plan),
              (status = 422, description = "A value is not valid, or the stamp does not exist", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn put(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
    body: Json<PlanSpec>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let (plan, created) = write(&state, &who, &body.0, Some(&id)).await?;
    Ok(if created {
        HttpResponse::Created().json(plan)
    } else {
        HttpResponse::Ok().json(plan)
    })
}

#[utoipa::path(delete, path = "/api/v1/plans/{wap_plan_id}", tag = "plans",
    params(("wap_plan_id" = String, Path, description = "The plan's id in WAP")),
    responses((status = 204, description = "Deleted")),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn delete(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let mut tx = state.pool.begin().await?;
    let row = store::fetch_plan(&mut tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("plan '{id}'")))?;
    crate::rules::engine::resolve_plan_problems(&mut tx, row.id).await?;
    store::delete_plan(&mut tx, &row, &who.name).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
