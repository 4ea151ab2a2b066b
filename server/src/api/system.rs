//! Liveness and readiness: `/healthz` says the process is up, `/readyz` that it can reach its
//! database (503 otherwise), for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "The process is up", body = Object, example = json!({"status": "ok", "version": "0.1.0"}))))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

#[utoipa::path(get, path = "/readyz", tag = "system",
    responses((status = 200, description = "The database answers", body = Object, example = json!({"status": "ready", "database": "ok"})),
              (status = 503, description = "The database did not answer within 2 s", body = super::openapi::ErrorBody)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let probe = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        sqlx::query_scalar!("select 1 as \"one!\"").fetch_one(&state.pool),
    )
    .await;
    match probe {
        Ok(Ok(_)) => HttpResponse::Ok().json(json!({"status": "ready", "database": "ok"})),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            unavailable()
        }
        Err(_) => {
            tracing::warn!("readiness: database did not answer within 2 s");
            unavailable()
        }
    }
}

fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable().json(json!({
        "error": {"code": "unavailable", "message": "the database is unreachable"}
    }))
}
