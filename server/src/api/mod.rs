//! The JSON API (`/api/v1`) and the system routes: one file per resource, registered here in
//! one table ([`endpoints`]) with explicit methods, so that a known path with another method
//! answers 405 with `Allow`, an unknown path 404, both as JSON errors; every resource gets
//! content negotiation (406, CSV where offered) and conditional GET (`ETag`, 304). The same
//! table tells the contract tests which routes the OpenAPI document must describe.

pub mod admin;
pub mod body;
pub mod capacity;
pub mod capacity_forecast;
pub mod capacity_history;
pub mod csv;
pub mod etag;
pub mod hosts;
pub mod metrics;
pub mod negotiate;
pub mod networks;
pub mod openapi;
pub mod pagination;
pub mod placement;
pub mod plan_wap;
pub mod plans;
pub mod problems;
pub mod reports;
pub mod stamps;
pub mod system;
pub mod webhooks;

use actix_web::dev::HttpServiceFactory;
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::from_fn;
use actix_web::{FromRequest, Handler, HttpResponse, Responder, Route, web};

use self::negotiate::Formats;
use crate::error::ApiError;

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("path"))
}

/// Query strings that do not parse are 400s in the error shape, naming the problem.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        ApiError::bad_request(
            "invalid_query",
            format!("the query string is not valid: {err}"),
        )
        .into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _| {
        ApiError::bad_request("invalid_path", format!("the path is not valid: {err}")).into()
    })
}

/// One path and what it answers, method by method.
pub struct Endpoint {
    /// The actix pattern, which is also the OpenAPI path (`/stamps/{name}`).
    pub path: &'static str,
    pub formats: Formats,
    routes: Vec<(Method, Route)>,
}

impl Endpoint {
    fn new(path: &'static str) -> Self {
        Endpoint {
            path,
            formats: Formats::Json,
            routes: Vec::new(),
        }
    }

    /// Also answers `Accept: text/csv`.
    fn csv(mut self) -> Self {
        self.formats = Formats::JsonOrCsv;
        self
    }

    /// Not negotiated: never 406 (probes, metrics, the OpenAPI document).
    fn fixed(mut self) -> Self {
        self.formats = Formats::Fixed;
        self
    }

    fn on<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route = web::method(method.clone()).to(handler);
        self.routes.push((method, route));
        self
    }

    fn get<F, A>(self, h: F) -> Self
    where
        F: Handler<A>,
        A: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::GET, h)
    }

    fn post<F, A>(self, h: F) -> Self
    where
        F: Handler<A>,
        A: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::POST, h)
    }

    fn put<F, A>(self, h: F) -> Self
    where
        F: Handler<A>,
        A: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::PUT, h)
    }

    fn patch<F, A>(self, h: F) -> Self
    where
        F: Handler<A>,
        A: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::PATCH, h)
    }

    fn delete<F, A>(self, h: F) -> Self
    where
        F: Handler<A>,
        A: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::DELETE, h)
    }

    pub fn methods(&self) -> Vec<Method> {
        self.routes.iter().map(|(m, _)| m.clone()).collect()
    }

    /// The actix resource: the routes, 405 with `Allow` for other methods, negotiation and
    /// conditional GET around them.
    fn into_service(self) -> impl HttpServiceFactory {
        let allow = self
            .routes
            .iter()
            .map(|(m, _)| m.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let formats = self.formats;
        let mut resource = web::resource(self.path);
        for (_, route) in self.routes {
            resource = resource.route(route);
        }
        resource
            .default_service(web::to(move || {
                let allow = allow.clone();
                async move { method_not_allowed(allow) }
            }))
            .wrap(from_fn(etag::middleware))
            .wrap(from_fn(move |req, next| {
                negotiate::middleware(formats, req, next)
            }))
    }
}

fn method_not_allowed(allow: String) -> HttpResponse {
    let mut resp = actix_web::ResponseError::error_response(&ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this path takes {allow}"),
    ));
    if let Ok(v) = header::HeaderValue::from_str(&allow) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
}

pub const V1: &str = "/api/v1";

/// The system routes, outside `/api/v1` and without authentication.
pub fn system_endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/healthz").fixed().get(system::healthz),
        Endpoint::new("/readyz").fixed().get(system::readyz),
        Endpoint::new("/metrics").fixed().get(metrics::handler),
        Endpoint::new("/api/openapi.json")
            .fixed()
            .get(openapi::handler),
    ]
}

/// Every resource under `/api/v1` (paths relative to it).
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/stamps")
            .get(stamps::list)
            .post(stamps::create),
        Endpoint::new("/stamps/{name}")
            .get(stamps::get)
            .put(stamps::put)
            .patch(stamps::patch)
            .delete(stamps::retire),
        Endpoint::new("/stamps/{name}/health").get(stamps::health),
        Endpoint::new("/stamps/{name}/networks")
            .get(networks::list_networks)
            .post(networks::create_network),
        Endpoint::new("/stamps/{name}/networks/{network}")
            .get(networks::get_network)
            .put(networks::put_network)
            .delete(networks::delete_network),
        Endpoint::new("/stamps/{name}/scale-units")
            .get(networks::list_scale_units)
            .post(networks::create_scale_unit),
        Endpoint::new("/stamps/{name}/scale-units/{unit}")
            .put(networks::put_scale_unit)
            .delete(networks::delete_scale_unit),
        Endpoint::new("/plans")
            .csv()
            .get(plans::list)
            .post(plans::create),
        Endpoint::new("/plans/{wap_plan_id}")
            .get(plans::get)
            .put(plans::put)
            .delete(plans::delete),
        Endpoint::new("/capacity").csv().get(capacity::get),
        Endpoint::new("/capacity/history")
            .csv()
            .get(capacity_history::get)
            .post(capacity_history::post),
        Endpoint::new("/capacity/forecast").get(capacity_forecast::get),
        Endpoint::new("/placement").get(placement::get),
        Endpoint::new("/reports").post(reports::post),
        Endpoint::new("/quarantine").get(reports::list_quarantine),
        Endpoint::new("/quarantine/{id}/replay").post(reports::replay),
        Endpoint::new("/hosts").csv().get(hosts::list),
        Endpoint::new("/hosts/{fqdn}").get(hosts::get),
        Endpoint::new("/hosts/{fqdn}/history").get(hosts::history),
        Endpoint::new("/certificates")
            .csv()
            .get(hosts::certificates),
        Endpoint::new("/problems").csv().get(problems::list),
        Endpoint::new("/problems/{id}").get(problems::get),
        Endpoint::new("/problems/{id}/acknowledge").post(problems::acknowledge),
        Endpoint::new("/inventory").put(admin::put_inventory),
        Endpoint::new("/tokens")
            .get(admin::list_tokens)
            .post(admin::create_token),
        Endpoint::new("/tokens/{id}").delete(admin::revoke_token),
        Endpoint::new("/audit").get(admin::list_audit),
        Endpoint::new("/webhooks")
            .get(webhooks::list)
            .post(webhooks::create),
        Endpoint::new("/webhooks/{id}")
            .patch(webhooks::update)
            .delete(webhooks::delete),
        Endpoint::new("/webhooks/{id}/deliveries").get(webhooks::deliveries),
    ]
}

/// Every (method, full path) the application serves through this table; the OpenAPI document
/// must describe each (the contract tests check it).
pub fn route_table() -> Vec<(Method, String)> {
    let system = system_endpoints().into_iter().flat_map(|e| {
        let path = e.path.to_owned();
        e.methods().into_iter().map(move |m| (m, path.clone()))
    });
    let v1 = endpoints().into_iter().flat_map(|e| {
        let path = format!("{V1}{}", e.path);
        e.methods().into_iter().map(move |m| (m, path.clone()))
    });
    system.chain(v1).collect()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    for e in system_endpoints() {
        cfg.service(e.into_service());
    }
    cfg.service(openapi::docs_page());
    let mut scope = web::scope(V1)
        .app_data(query_config())
        .app_data(path_config());
    for (prefix, group) in by_first_segment(endpoints()) {
        let mut inner = web::scope(prefix);
        for mut e in group {
            e.path = &e.path[prefix.len()..];
            inner = inner.service(e.into_service());
        }
        scope = scope.service(inner);
    }
    cfg.service(scope.default_service(web::to(not_found)));
}

/// The endpoints grouped by their path's first segment (`/hosts`, `/stamps`), in the table's
/// order. Each group is registered as a scope of its own: actix tries a scope's prefix as a
/// plain string and the resources of a scope one after the other, matching each pattern with a
/// placeholder (`/{fqdn}`) by a regular expression; in one flat scope a request for a host's
/// history ran the expressions of every pattern registered before it (about 5 % of the route's
/// time), in its group only those of `/hosts/{fqdn}`.
fn by_first_segment(endpoints: Vec<Endpoint>) -> Vec<(&'static str, Vec<Endpoint>)> {
    let mut groups: Vec<(&'static str, Vec<Endpoint>)> = Vec::new();
    for e in endpoints {
        let end = e.path[1..].find('/').map_or(e.path.len(), |i| i + 1);
        let prefix = &e.path[..end];
        match groups.iter_mut().find(|(p, _)| *p == prefix) {
            Some((_, group)) => group.push(e),
            None => groups.push((prefix, vec![e])),
        }
    }
    groups
}
