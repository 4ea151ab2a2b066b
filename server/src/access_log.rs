//! One log line per refused request: every 4xx at INFO with its status, code and path (a
//! client's mistake is not the server's error, and a page that sends a visitor to `/login` is
//! not logged at all); a 5xx's cause chain is logged once, at ERROR, where it is answered
//! (`error.rs`, `web/error.rs`). Paths are logged without their query (it may carry a cursor
//! or a search, never a token: tokens travel in headers).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::error::ApiError;
use crate::web::error::WebError;

/// The stable code of an answer's error, when it has one.
fn code(res: &ServiceResponse<impl MessageBody>) -> &'static str {
    let Some(err) = res.response().error() else {
        return "-";
    };
    if let Some(api) = err.as_error::<ApiError>() {
        return api.code;
    }
    if let Some(page) = err.as_error::<WebError>() {
        return page.code();
    }
    "-"
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = req.method().clone();
    let path = req.path().to_owned();
    let res = next.call(req).await?;
    let status = res.status();
    if status.is_client_error() {
        tracing::info!(
            status = status.as_u16(),
            code = code(&res),
            method = %method,
            path = %path,
            "request refused"
        );
    }
    Ok(res)
}
