//! Admin routes: the inventory document, tokens, the audit log.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::body::{self, Json};
use crate::audit;
use crate::auth::tokens::{CreatedToken, TokenInfo};
use crate::auth::{Principal, tokens};
use crate::error::{ApiError, ApiResult};
use crate::inventory::apply;
use crate::inventory::model::{ApplySummary, InventoryDocument};
use crate::state::AppState;

/// The longest an inventory document may take to parse.
const PARSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `PUT /api/v1/inventory`: the document of SPEC §3 as JSON or YAML.
#[utoipa::path(put, path = "/api/v1/inventory", tag = "admin",
    request_body(content((InventoryDocument = "application/json"), (InventoryDocument = "application/yaml")),
                 description = "The inventory document of SPEC §3, JSON or YAML"),
    responses((status = 200, description = "Applied: what was created, updated, deleted", body = ApplySummary),
              (status = 409, description = "The document conflicts with itself (a name twice)", body = super::openapi::ErrorBody),
              (status = 422, description = "A value is not valid (the field names it)", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
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
    // parsed off the request runtime, with a time bound: a pathological document must not
    // hold a worker (the scan in `inventory::yaml` refuses the known bombs before this)
    let parsing = web::block(move || apply::parse_document(&bytes, yaml));
    let doc = match tokio::time::timeout(PARSE_TIMEOUT, parsing).await {
        Ok(Ok(parsed)) => parsed?,
        Ok(Err(e)) => return Err(ApiError::internal(anyhow::anyhow!("parser thread: {e}"))),
        Err(_) => {
            return Err(ApiError::invalid(
                "document_too_complex",
                format!(
                    "the document took more than {} s to read; simplify it",
                    PARSE_TIMEOUT.as_secs()
                ),
                "",
            ));
        }
    };
    let summary = apply::apply(&state.pool, &doc, &who.name).await?;
    Ok(HttpResponse::Ok().json(summary))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// collector, read, operator or admin.
    #[schema(pattern = "^(collector|read|operator|admin)$")]
    pub scope: String,
    /// Restrict a collector token to one stamp.
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    pub stamp: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin", params(super::pagination::PageParams),
    responses((status = 200, description = "Tokens by id, revoked ones included; never the tokens themselves", body = super::openapi::TokenPage)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn list_tokens(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<super::pagination::PageParams>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let items = tokens::list(&state.pool).await?;
    let page = super::pagination::page_in_memory(items, &q, |t| format!("{:020}", t.id))?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = NewToken,
    responses((status = 201, description = "Created; `token` is shown this once (only its hash is kept)", body = CreatedToken),
              (status = 409, description = "A token with this name exists", body = super::openapi::ErrorBody),
              (status = 422, description = "Unknown scope or stamp, or a stamp for a scope other than collector", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
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
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "admin",
    params(("id" = String, Path, description = "The token's id, or its name")),
    responses((status = 200, description = "Revoked: refused by this server's next request, by other replicas once the database's notification reaches them (milliseconds); revoking again changes nothing", body = TokenInfo)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn revoke_token(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    // audited by `tokens::revoke`, like `tokens::create`
    let info = tokens::revoke(&state.pool, &id, &who.name).await?;
    // refused by this server's next request, before the database's notification arrives
    state.token_cache.invalidate();
    Ok(HttpResponse::Ok().json(info))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries about this kind of object (stamp, network, scale_unit, plan, token, ...).
    pub entity: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, description = "Admin writes, newest first, with the object before and after", body = super::openapi::AuditPage)),
    extensions(("x-required-scope" = json!("admin"))))]
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
    let before = page.after_id()?;
    let rows = audit::list(state.reads.lists(), q.entity.as_deref(), before, limit + 1).await?;
    Ok(HttpResponse::Ok().json(super::pagination::page(rows, limit, |r| r.id.to_string())))
}
