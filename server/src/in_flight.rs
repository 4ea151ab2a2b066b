//! Counts the requests being answered ([`crate::metrics::Metrics::request_begun`]), agents'
//! reports apart: the rule evaluator gives way while any other is (`STAMPBOOK_EVALUATION_REST`;
//! reports are the evaluator's own input, and it must keep up with them), and `/metrics` shows
//! how many.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use crate::state::AppState;

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let report = req.method() == actix_web::http::Method::POST && req.path() == "/api/v1/reports";
    let _answering = metrics.as_deref().map(|m| m.request_begun(report));
    next.call(req).await
}
