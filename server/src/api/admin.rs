//! Admin routes: the inventory document, tokens, the audit log.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::body::{self, Json};
use crate::audit::{self, Entry};
use crate::auth::{Principal, tokens};
use crate::error::{ApiError, ApiResult};
use crate::inventory::apply;
use crate::startup::AppState;

/// `PUT /api/v1/inventory`: the document of SPEC §3 as JSON or YAML.
pub async fn put_inventory(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let media = body::media_type(&req);
    let yaml = body::is_yaml(&media);
    if !yaml && !body::is_json(&media) {
        return Err(ApiError::unsupported_media_type(
            "application/json or application/yaml",
        ));
    }
    let bytes = body::read(&req, payload.into_inner(), state.settings.max_body_bytes).await?;
    let doc = apply::parse_document(&bytes, yaml)?;
    let summary = apply::apply(&state.pool, &doc, &who.name).await?;
    Ok(HttpResponse::Ok().json(summary))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    pub name: String,
    /// collector, read, operator or admin.
    pub scope: String,
    /// Restrict a collector token to one stamp.
    pub stamp: Option<String>,
}

pub async fn list_tokens(state: web::Data<AppState>, who: Principal) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let items = tokens::list(&state.pool).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": null})))
}

pub async fn create_token(
    state: web::Data<AppState>,
    who: Principal,
    body: Json<NewToken>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let t = body.0;
    let created = tokens::create(
        &state.pool,
        &t.name,
        &t.scope,
        t.stamp.as_deref(),
        &who.name,
    )
    .await?;
    let mut conn = state.pool.acquire().await?;
    audit::record(
        &mut conn,
        Entry {
            actor: &who.name,
            action: "create",
            entity: "token",
            key: &created.info.name,
            before: None,
            after: audit::json(&created.info),
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(created))
}

pub async fn revoke_token(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let info = tokens::revoke(&state.pool, &id).await?;
    let mut conn = state.pool.acquire().await?;
    audit::record(
        &mut conn,
        Entry {
            actor: &who.name,
            action: "revoke",
            entity: "token",
            key: &info.name,
            before: None,
            after: audit::json(&info),
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(info))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Only entries about this kind of object (stamp, network, scale_unit, plan, token, ...).
    pub entity: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn list_audit(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let page = super::pagination::PageParams {
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
    let rows = audit::list(&state.pool, q.entity.as_deref(), before, limit + 1).await?;
    Ok(HttpResponse::Ok().json(super::pagination::page(rows, limit, |r| r.id.to_string())))
}
