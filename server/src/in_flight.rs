//! Counts the requests being answered ([`crate::metrics::Metrics::request_begun`]) by kind:
//! the rule evaluator gives way while people's and integrations' requests are
//! (`STAMPBOOK_EVALUATION_REST`), not for agents' reports (its own input: it must keep up with
//! them) nor for health probes and metrics scrapes (a load balancer probing every second would
//! hold it back for good), and `/metrics` shows how many of each.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use crate::metrics::RequestKind;
use crate::state::AppState;

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let kind = kind_of(req.method(), req.path());
    let _answering = metrics.as_deref().map(|m| m.request_begun(kind));
    next.call(req).await
}

/// What a request to `path` with `method` is.
pub fn kind_of(method: &actix_web::http::Method, path: &str) -> RequestKind {
    use actix_web::http::Method;
    match (method, path) {
        (&Method::POST, "/api/v1/reports") => RequestKind::Report,
        (&Method::GET | &Method::HEAD, "/healthz" | "/readyz" | "/metrics") => RequestKind::Probe,
        _ => RequestKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::Method;

    use super::*;

    #[test]
    fn reports_probes_and_the_rest() {
        assert_eq!(
            kind_of(&Method::POST, "/api/v1/reports"),
            RequestKind::Report
        );
        for path in ["/healthz", "/readyz", "/metrics"] {
            assert_eq!(kind_of(&Method::GET, path), RequestKind::Probe, "{path}");
            assert_eq!(kind_of(&Method::HEAD, path), RequestKind::Probe, "{path}");
        }
        for (method, path) in [
            (Method::GET, "/api/v1/reports"),
            (Method::GET, "/api/v1/hosts"),
            (Method::GET, "/"),
            (Method::POST, "/metrics"),
            (Method::GET, "/healthz/x"),
        ] {
            assert_eq!(
                kind_of(&method, path),
                RequestKind::Other,
                "{method} {path}"
            );
        }
    }
}
