//! `/api/v1/stamps`: list, declare, change, retire stamps; their health.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::body::Json;
use super::pagination::{self, PageParams};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::health::{self, StampHealth};
use crate::inventory::model::{
    ApplySummary, Stamp, StampDetail, StampPatch, StampSpec, ThresholdsSpec,
};
use crate::inventory::store::{self, StampRow};
use crate::inventory::validate;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only stamps of this region.
    pub region: Option<String>,
    /// Include retired stamps (default false).
    pub include_retired: Option<bool>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StampListItem {
    #[serde(flatten)]
    pub stamp: Stamp,
    pub health: StampHealth,
}

#[utoipa::path(get, path = "/api/v1/stamps", tag = "stamps", params(ListQuery),
    responses((status = 200, description = "A page of stamps by name, each with its health", body = super::openapi::StampPage)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    let mut conn = state.reads.pool().acquire().await?;
    let rows = store::list_stamps(
        &mut conn,
        q.region.as_deref(),
        q.include_retired.unwrap_or(false),
        page.after()?.as_deref(),
        limit + 1,
    )
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut healths = health::for_stamps(&mut conn, &ids).await?;
    let items: Vec<StampListItem> = rows
        .iter()
        .filter_map(|r| {
            Some(StampListItem {
                stamp: r.to_api(),
                health: healths.remove(&r.id)?,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(pagination::page(items, limit, |i| i.stamp.name.clone())))
}

pub async fn detail(conn: &mut sqlx::PgConnection, row: &StampRow) -> ApiResult<StampDetail> {
    Ok(StampDetail {
        stamp: row.to_api(),
        networks: store::fetch_networks(conn, row.id)
            .await?
            .iter()
            .map(|n| n.to_api())
            .collect(),
        scale_units: store::fetch_scale_units(conn, row.id).await?,
        health: health::for_stamp(conn, row.id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("stamp '{}'", row.decl.name)))?,
    })
}

pub async fn load(conn: &mut sqlx::PgConnection, name: &str) -> ApiResult<StampRow> {
    store::fetch_stamp(conn, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("stamp '{name}'")))
}

#[utoipa::path(get, path = "/api/v1/stamps/{name}", tag = "stamps",
    params(("name" = String, Path, description = "The stamp's name")),
    responses((status = 200, description = "The stamp with its networks, scale units and health", body = StampDetail)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let mut conn = state.reads.pool().acquire().await?;
    let row = load(&mut conn, &name).await?;
    Ok(HttpResponse::Ok().json(detail(&mut conn, &row).await?))
}

/// Writes a stamp spec (with its networks/scale units when given) in one transaction.
async fn write(
    state: &AppState,
    who: &Principal,
    spec: &StampSpec,
    path_name: Option<&str>,
) -> ApiResult<(StampDetail, ApplySummary)> {
    let decl = validate::stamp(spec, path_name, "")?;
    let networks = spec
        .networks
        .as_deref()
        .map(|n| validate::networks(n, ""))
        .transpose()?;
    let units = spec
        .scale_units
        .as_deref()
        .map(|n| validate::scale_units(n, ""))
        .transpose()?;
    let mut summary = ApplySummary::default();
    let mut tx = state.pool.begin().await?;
    let id = store::put_stamp(&mut tx, &decl, &who.name, &mut summary).await?;
    if let Some(n) = &networks {
        store::sync_networks(&mut tx, id, decl.name.as_str(), n, &who.name, &mut summary).await?;
    }
    if let Some(u) = &units {
        store::sync_scale_units(&mut tx, id, decl.name.as_str(), u, &who.name, &mut summary)
            .await?;
    }
    let row = load(&mut tx, decl.name.as_str()).await?;
    let detail = detail(&mut tx, &row).await?;
    tx.commit().await?;
    Ok((detail, summary))
}

#[utoipa::path(post, path = "/api/v1/stamps", tag = "stamps", request_body = StampSpec,
    responses((status = 201, description = "Declared", body = StampDetail, headers(("Location" = String, description = "The new stamp"))),
              (status = 409, description = "A stamp with this name exists", body = super::openapi::ErrorBody),
              (status = 422, description = "A value is not valid (the field names it)", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn create(
    state: web::Data<AppState>,
    who: Principal,
    body: Json<StampSpec>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let name = body.0.name.clone().unwrap_or_default();
    let mut conn = state.pool.acquire().await?;
    if store::fetch_stamp(&mut conn, &name).await?.is_some() {
        return Err(ApiError::conflict(
            "stamp_exists",
            format!("stamp '{name}' exists; PUT /api/v1/stamps/{name} changes it"),
        )
        .with_field("name"));
    }
    drop(conn);
    let (detail, _) = write(&state, &who, &body.0, None).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/stamps/{}", detail.stamp.name)))
        .json(detail))
}

#[utoipa::path(put, path = "/api/v1/stamps/{name}", tag = "stamps", request_body = StampSpec,
    params(("name" = String, Path, description = "The stamp's name")),
    responses((status = 200, description = "Changed (or unchanged)", body = StampDetail),
              (status = 201, description = "Declared", body = StampDetail),
              (status = 409, description = "A network or scale unit conflicts with another", body = super::openapi::ErrorBody),
              (status = 422, description = "A value is not valid (the field names it)", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn put(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
    body: Json<StampSpec>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let (detail, summary) = write(&state, &who, &body.0, Some(&name)).await?;
    let created = summary
        .created
        .iter()
        .any(|c| c == &format!("stamp/{name}"));
    Ok(if created {
        HttpResponse::Created().json(detail)
    } else {
        HttpResponse::Ok().json(detail)
    })
}

#[utoipa::path(patch, path = "/api/v1/stamps/{name}", tag = "stamps", request_body = StampPatch,
    params(("name" = String, Path, description = "The stamp's name")),
    responses((status = 200, description = "Changed", body = StampDetail),
              (status = 422, description = "A value is not valid (the field names it)", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn patch(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
    body: Json<StampPatch>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let p = body.0;
    let mut tx = state.pool.begin().await?;
    let row = load(&mut tx, &name).await?;
    let d = &row.decl;
    let t = p.thresholds.unwrap_or_default();
    let spec = StampSpec {
        name: Some(d.name.to_string()),
        display_name: Some(p.display_name.unwrap_or_else(|| d.display_name.clone())),
        region: Some(p.region.unwrap_or_else(|| d.region.clone())),
        location: Some(p.location.unwrap_or_else(|| d.location.clone())),
        purpose: Some(p.purpose.unwrap_or_else(|| d.purpose.clone())),
        vmm_server: p.vmm_server.unwrap_or_else(|| d.vmm_server.clone()),
        spf_endpoint: p.spf_endpoint.unwrap_or_else(|| d.spf_endpoint.clone()),
        rd_gateway_fqdn: p
            .rd_gateway_fqdn
            .unwrap_or_else(|| d.rd_gateway_fqdn.clone()),
        report_interval_s: Some(p.report_interval_s.unwrap_or(d.report_interval_s)),
        thresholds: Some(ThresholdsSpec {
            cert_warning_days: Some(
                t.cert_warning_days
                    .unwrap_or(d.thresholds.cert_warning_days),
            ),
            cert_critical_days: Some(
                t.cert_critical_days
                    .unwrap_or(d.thresholds.cert_critical_days),
            ),
            cpu_overcommit: Some(t.cpu_overcommit.unwrap_or(d.thresholds.cpu_overcommit)),
            memory_overcommit: Some(
                t.memory_overcommit
                    .unwrap_or(d.thresholds.memory_overcommit),
            ),
            exhaustion_warning_days: Some(
                t.exhaustion_warning_days
                    .unwrap_or(d.thresholds.exhaustion_warning_days),
            ),
            exhaustion_critical_days: Some(
                t.exhaustion_critical_days
                    .unwrap_or(d.thresholds.exhaustion_critical_days),
            ),
        }),
        target_versions: Some(
            p.target_versions
                .unwrap_or_else(|| d.target_versions.clone()),
        ),
        networks: None,
        scale_units: None,
    };
    let decl = validate::stamp(&spec, Some(&name), "")?;
    let mut summary = ApplySummary::default();
    store::put_stamp(&mut tx, &decl, &who.name, &mut summary).await?;
    if let Some(retired) = p.retired {
        store::set_retired(&mut tx, &row, retired, &who.name).await?;
    }
    let row = load(&mut tx, &name).await?;
    let detail = detail(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Retires the stamp: it stays, marked retired; its plans raise `plan.stamp_missing`.
#[utoipa::path(delete, path = "/api/v1/stamps/{name}", tag = "stamps",
    params(("name" = String, Path, description = "The stamp's name")),
    responses((status = 200, description = "Retired: the stamp stays, marked retired", body = StampDetail)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn retire(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let mut tx = state.pool.begin().await?;
    let row = load(&mut tx, &name).await?;
    store::set_retired(&mut tx, &row, true, &who.name).await?;
    let row = load(&mut tx, &name).await?;
    let detail = detail(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(detail))
}

#[utoipa::path(get, path = "/api/v1/stamps/{name}/health", tag = "stamps",
    params(("name" = String, Path, description = "The stamp's name")),
    responses((status = 200, description = "Health, open problems by severity, Remote Console readiness", body = StampHealth)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn health(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let mut conn = state.reads.pool().acquire().await?;
    let row = load(&mut conn, &name).await?;
    let h = health::for_stamp(&mut conn, row.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("stamp '{name}'")))?;
    Ok(HttpResponse::Ok().json(h))
}
