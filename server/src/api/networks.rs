//! `/api/v1/stamps/{name}/networks` and `/scale-units`: a stamp's children, one at a time.

use actix_web::{HttpResponse, web};

use super::body::Json;
use super::stamps::load;
use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::inventory::model::{ApplySummary, NetworkSpec, ScaleUnitSpec};
use crate::inventory::store;
use crate::inventory::validate;
use crate::rules::queue;
use crate::startup::AppState;

pub async fn list_networks(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let mut conn = state.pool.acquire().await?;
    let stamp = load(&mut conn, &name).await?;
    let items: Vec<_> = store::fetch_networks(&mut conn, stamp.id)
        .await?
        .iter()
        .map(|n| n.to_api())
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": null})))
}

pub async fn get_network(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let (name, net) = path.into_inner();
    let mut conn = state.pool.acquire().await?;
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

pub async fn create_network(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
    body: Json<NetworkSpec>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    write_network(&state, &who, &name, &body.0, None).await
}

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

pub async fn list_scale_units(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let mut conn = state.pool.acquire().await?;
    let stamp = load(&mut conn, &name).await?;
    let items = store::fetch_scale_units(&mut conn, stamp.id).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": null})))
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

pub async fn create_scale_unit(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
    body: Json<ScaleUnitSpec>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    write_scale_unit(&state, &who, &name, &body.0, None).await
}

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
