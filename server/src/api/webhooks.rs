//! `/api/v1/webhooks` (admin): subscribe a URL to problem events, list, change (events,
//! description, format) and delete subscriptions,
//! read a subscription's delivery log. Every write is audited (without the secret).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::body::Json;
use super::openapi::{DeliveryPage, WebhookPage};
use super::pagination::{self, PageParams};
use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::webhooks::store::{self, CreatedWebhook, NewWebhook, Webhook, WebhookChange};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Also list deleted subscriptions (default false).
    pub include_deleted: Option<bool>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Webhook subscriptions, oldest first; never their secrets.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    params(ListQuery),
    responses((status = 200, description = "A page of subscriptions", body = WebhookPage)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    let rows = store::list(
        state.reads.pool(),
        q.include_deleted.unwrap_or(false),
        page.after_id()?,
        limit + 1,
    )
    .await?;
    Ok(HttpResponse::Ok().json(pagination::page(rows, limit, |w| w.id.to_string())))
}

/// Subscribes a URL to `problem.opened` and/or `problem.resolved`, in stampbook's event JSON or
/// as chat messages (`format`: `slack`, `teams`). The answer carries the signing secret, this
/// once (generated when the body leaves it out).
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = NewWebhook,
    responses(
        (status = 201, description = "Subscribed; `secret` is shown this once", body = CreatedWebhook,
         headers(("Location" = String, description = "The subscription's delivery log"))),
        (status = 422, description = "Not an http(s) URL, a target webhooks may not reach (loopback, link-local, private or metadata addresses unless allow-listed: `webhook_target_not_allowed`), unknown events, a secret shorter than 16 characters, or an unknown `format` (`invalid_format`)", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn create(
    state: web::Data<AppState>,
    who: Principal,
    body: Json<NewWebhook>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let mut tx = state.pool.begin().await?;
    let targets = crate::webhooks::target::TargetPolicy::from_settings(&state.settings);
    let created = store::create(&mut tx, &body.0, &who.name, &targets).await?;
    let key = created.webhook.id.to_string();
    audit::record(
        &mut tx,
        Entry {
            actor: &who.name,
            action: "create",
            entity: "webhook",
            key: &key,
            before: None,
            after: audit::json(&created.webhook),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/webhooks/{}/deliveries", created.webhook.id),
        ))
        .json(created))
}

/// Changes a subscription's events, description or format (what the body gives); its URL and
/// secret stay. A deleted subscription cannot be changed (409).
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", request_body = WebhookChange,
    params(("id" = i64, Path, description = "The subscription's id")),
    responses(
        (status = 200, description = "Changed", body = Webhook),
        (status = 409, description = "The subscription was deleted (`webhook_deleted`)", body = super::openapi::ErrorBody),
        (status = 422, description = "Unknown events or `format` (`invalid_format`), or a description over 200 characters; the field names it", body = super::openapi::ErrorBody)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn update(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: Json<WebhookChange>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let id = id.into_inner();
    let mut tx = state.pool.begin().await?;
    let before = store::get(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("webhook {id}")))?;
    let after = store::update(&mut tx, id, &body.0).await?.ok_or_else(|| {
        ApiError::conflict(
            "webhook_deleted",
            format!("webhook {id} was deleted; subscribe anew"),
        )
    })?;
    audit::record(
        &mut tx,
        Entry {
            actor: &who.name,
            action: "update",
            entity: "webhook",
            key: &id.to_string(),
            before: audit::json(&before),
            after: audit::json(&after),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(after))
}

/// Deletes a subscription: it stays listed (with `include_deleted`) with its delivery log, and
/// its pending deliveries are given up. Deleting it again changes nothing.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "The subscription's id")),
    responses((status = 200, description = "Deleted (or already deleted)", body = Webhook)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn delete(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let id = id.into_inner();
    let mut tx = state.pool.begin().await?;
    let before = store::get(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("webhook {id}")))?;
    let after = store::delete(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("webhook {id}")))?;
    if before.deleted_at.is_none() {
        audit::record(
            &mut tx,
            Entry {
                actor: &who.name,
                action: "delete",
                entity: "webhook",
                key: &id.to_string(),
                before: audit::json(&before),
                after: audit::json(&after),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(after))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The delivery log of a subscription, newest first: each event with its status and every
/// attempt (when, the receiver's status, the error, how long it took).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path, description = "The subscription's id"), DeliveryQuery),
    responses((status = 200, description = "A page of deliveries", body = DeliveryPage)),
    extensions(("x-required-scope" = json!("admin"))))]
pub async fn deliveries(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    q: web::Query<DeliveryQuery>,
) -> ApiResult<HttpResponse> {
    who.require_admin()?;
    let db = state.reads.pool();
    let id = id.into_inner();
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    let before = page.after_id()?;
    let mut conn = db.acquire().await?;
    store::get(&mut conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("webhook {id}")))?;
    drop(conn);
    let rows = store::deliveries(db, id, before, limit + 1).await?;
    Ok(HttpResponse::Ok().json(pagination::page(rows, limit, |d| d.id.to_string())))
}
