//! A read-only request the hot standby failed runs once more on the primary. When a standby
//! stops, the reads already routed to it fail (503 `database_unavailable`) until the next check
//! of `db::read` notices; this middleware marks the standby down at the first such failure and
//! answers the request from the primary, so the API and the pages keep answering while a standby
//! goes away (and when it cancels a read for a conflict with recovery).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web;

use crate::db::read::{self, StandbyHealth};

pub async fn middleware<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    // GET (HEAD arrives as GET) has no body and no effect: it can run twice
    if req.method() != Method::GET {
        return next.call(req).await;
    }
    let health = req.app_data::<web::Data<StandbyHealth>>().cloned();
    let (res, on_standby) = read::watch(next.call(req)).await;
    let res = res?;
    let Some(health) = health else {
        return Ok(res);
    };
    if !on_standby || res.status() != StatusCode::SERVICE_UNAVAILABLE {
        return Ok(res);
    }
    health.failed();
    let mut again = ServiceRequest::from_request(res.request().clone());
    drop(res);
    // routing consumed the path (a scope skips its prefix, a resource captures segments): from
    // the start again
    again.match_info_mut().reset();
    next.call(again).await
}
