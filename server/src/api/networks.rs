//! `/api/v1/stamps/{name}/networks` and `/scale-units`: a stamp's children, one at a time.

use actix_web::{HttpResponse, web};

use super::body::Json;
use super::pagination::{self, PageParams};
use super::stamps::load;
use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::inventory::model::{ApplySummary, Network, NetworkSpec, ScaleUnit, ScaleUnitSpec};
use crate::inventory::store;
use crate::inventory::validate;
use crate::rules::queue;
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/stamps/{name}/networks", tag = "stamps",
    params(("name" = String, Path, description = "The stamp's name"), super::pagination::PageParams),
    responses((status = 200, description = "The stamp's networks by name", body = super::openapi::NetworkPage)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn list_networks(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
    q: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let mut conn = state.reads.pool().acquire().await?;
    let stamp = load(&mut conn, &name).await?;
    let items: Vec<Network> = store::fetch_networks(&mut conn, stamp.id)
        .await?
        .iter()
        .map(|n| n.to_api())
        .collect();
    let page = pagination::page_in_memory(items, &q, |n| n.name.clone())?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(get, path = "/api/v1/stamps/{name}/networks/{network}", tag = "stamps",
    params(("name" = String, Path, description = "The stamp's name"), ("network" = String, Path, description = "The network's name")),
    responses((status = 200, description = "The network", body = Network)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn get_network(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let (name, net) = path.into_inner();
    let mut conn = state.reads.pool().acquire().await?;
    let stamp = load(&mut conn, &name).await?;
    let n = store::fetch_networks(&mut conn, stamp.id)
        .await?
        .into_iter()
        .find(|n| n.name == net)
        .ok_or_else(|| ApiError::not_found(format!("network '{net}' of stamp '{name}'")))?;
    Ok(HttpResponse::Ok().json(n.to_api()))
}

/// POST adds one network (409 when the name exists); PUT creates or replaces the named one.
async fn write_network(
    state: &AppState,
    who: &Principal,
    name: &str,
    spec: &NetworkSpec,
    replace: Option<&str>,
) -> ApiResult<HttpResponse> {
    if let Some(p) = replace
        && p != spec.name
    {
        return Err(ApiError::invalid(
            "name_mismatch",
            format!("the body names network '{}' but the path '{p}'", spec.name),
            "name",
        ));
    }
    let decl = validate::network(spec, "")?;
    let mut tx = state.pool.begin().await?;
    let stamp = load(&mut tx, name).await?;
    let mut desired = store::fetch_networks(&mut tx, stamp.id).await?;
    let existed = desired.iter().any(|n| n.name == decl.name);
    if existed && replace.is_none() {
        return Err(ApiError::conflict(
            "network_exists",
            format!("stamp '{name}' already has a network '{}'", decl.name),
        )
        .with_field("name"));
    }
    desired.retain(|n| n.name != decl.name);
    validate::check_fits(&desired, &decl, "")?;
    desired.push(decl.clone());
    let mut summary = ApplySummary::default();
    store::sync_networks(&mut tx, stamp.id, name, &desired, &who.name, &mut summary).await?;
    tx.commit().await?;
    let body = decl.to_api();
    Ok(if existed {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::Created().json(body)
    })
}

#[utoipa::path(post, path = "/api/v1/stamps/{name}/networks", tag = "stamps", request_body = NetworkSpec,
    params(("name" = String, Path, description = "The stamp's name")),
    responses((status = 201, description = "Added", body = Network),
              (status = 409, description = "The stamp has a network of this name", body = super::openapi::ErrorBody),
              (status = 422, description = "A value is not valid, or the network overlaps another", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn create_network(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
    body: Json<NetworkSpec>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    write_network(&state, &who, &name, &body.0, None).await
}

#[utoipa::path(put, path = "/api/v1/stamps/{name}/networks/{network}", tag = "stamps", request_body = NetworkSpec,
    params(("name" = String, Path, description = "The stamp's name"), ("network" = String, Path, description = "The network's name")),
    responses((status = 200, description = "Replaced", body = Network), (status = 201, description = "Added", body = Network),
              (status = 422, description = "A value is not valid, the body names another network, or it overlaps another", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn put_network(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
    body: Json<NetworkSpec>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let (name, net) = path.into_inner();
    write_network(&state, &who, &name, &body.0, Some(&net)).await
}

#[utoipa::path(delete, path = "/api/v1/stamps/{name}/networks/{network}", tag = "stamps",
    params(("name" = String, Path, description = "The stamp's name"), ("network" = String, Path, description = "The network's name")),
    responses((status = 204, description = "Deleted")),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn delete_network(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let (name, net) = path.into_inner();
    let mut tx = state.pool.begin().await?;
    let stamp = load(&mut tx, &name).await?;
    let current = store::fetch_networks(&mut tx, stamp.id).await?;
    let gone = current
        .iter()
        .find(|n| n.name == net)
        .ok_or_else(|| ApiError::not_found(format!("network '{net}' of stamp '{name}'")))?;
    sqlx::query!(
        "delete from networks where stamp_id = $1 and name = $2",
        stamp.id,
        net
    )
    .execute(&mut *tx)
    .await?;
    let key = format!("{name}/{net}");
    audit::record(
        &mut tx,
        Entry {
            actor: &who.name,
            action: "delete",
            entity: "network",
            key: &key,
            before: audit::json(&gone.to_api()),
            after: None,
        },
    )
    .await?;
    queue::request_stamp(&mut tx, stamp.id).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/stamps/{name}/scale-units", tag = "stamps",
    params(("name" = String, Path, description = "The stamp's name"), super::pagination::PageParams),
    responses((status = 200, description = "The stamp's scale units by name", body = super::openapi::ScaleUnitPage)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn list_scale_units(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
    q: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let mut conn = state.reads.pool().acquire().await?;
    let stamp = load(&mut conn, &name).await?;
    let items = store::fetch_scale_units(&mut conn, stamp.id).await?;
    let page = pagination::page_in_memory(items, &q, |u| u.name.clone())?;
    Ok(HttpResponse::Ok().json(page))
}

async fn write_scale_unit(
    state: &AppState,
    who: &Principal,
    name: &str,
    spec: &ScaleUnitSpec,
    replace: Option<&str>,
) -> ApiResult<HttpResponse> {
    if let Some(p) = replace
        && p != spec.name
    {
        return Err(ApiError::invalid(
            "name_mismatch",
            format!(
                "the body names scale unit '{}' but the path '{p}'",
                spec.name
            ),
            "name",
        ));
    }
    let decl = validate::scale_unit(spec, "")?;
    let mut tx = state.pool.begin().await?;
    let stamp = load(&mut tx, name).await?;
    let mut desired = store::fetch_scale_units(&mut tx, stamp.id).await?;
    let existed = desired.iter().any(|s| s.name == decl.name);
    if existed && replace.is_none() {
        return Err(ApiError::conflict(
            "scale_unit_exists",
            format!("stamp '{name}' already has a scale unit '{}'", decl.name),
        )
        .with_field("name"));
    }
    desired.retain(|s| s.name != decl.name);
    desired.push(decl.clone());
    let mut summary = ApplySummary::default();
    store::sync_scale_units(&mut tx, stamp.id, name, &desired, &who.name, &mut summary).await?;
    tx.commit().await?;
    Ok(if existed {
        HttpResponse::Ok().json(decl)
    } else {
        HttpResponse::Created().json(decl)
    })
}

#[utoipa::path(post, path = "/api/v1/stamps/{name}/scale-units", tag = "stamps", request_body = ScaleUnitSpec,
    params(("name" = String, Path, description = "The stamp's name")),
    responses((status = 201, description = "Added", body = ScaleUnit),
              (status = 409, description = "The stamp has a scale unit of this name", body = super::openapi::ErrorBody),
              (status = 422, description = "A value is not valid (the field names it)", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn create_scale_unit(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
    body: Json<ScaleUnitSpec>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    write_scale_unit(&state, &who, &name, &body.0, None).await
}

#[utoipa::path(put, path = "/api/v1/stamps/{name}/scale-units/{unit}", tag = "stamps", request_body = ScaleUnitSpec,
    params(("name" = String, Path, description = "The stamp's name"), ("unit" = String, Path, description = "The scale unit's name")),
    responses((status = 200, description = "Replaced", body = ScaleUnit), (status = 201, description = "Added", body = ScaleUnit),
              (status = 422, description = "A value is not valid, or the body names another scale unit", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn put_scale_unit(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
    body: Json<ScaleUnitSpec>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let (name, unit) = path.into_inner();
    write_scale_unit(&state, &who, &name, &body.0, Some(&unit)).await
}

#[utoipa::path(delete, path = "/api/v1/stamps/{name}/scale-units/{unit}", tag = "stamps",
    params(("name" = String, Path, description = "The stamp's name"), ("unit" = String, Path, description = "The scale unit's name")),
    responses((status = 204, description = "Deleted")),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn delete_scale_unit(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let (name, unit) = path.into_inner();
    let mut tx = state.pool.begin().await?;
    let stamp = load(&mut tx, &name).await?;
    let mut desired = store::fetch_scale_units(&mut tx, stamp.id).await?;
    let before = desired.len();
    desired.retain(|s| s.name != unit);
    if desired.len() == before {
        return Err(ApiError::not_found(format!(
            "scale unit '{unit}' of stamp '{name}'"
        )));
    }
    let mut summary = ApplySummary::default();
    store::sync_scale_units(&mut tx, stamp.id, &name, &desired, &who.name, &mut summary).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
