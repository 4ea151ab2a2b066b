//! The OpenAPI 3.1 document (`GET /api/openapi.json`), generated from the handlers'
//! `#[utoipa::path]` annotations, and the Swagger UI page (`/api/docs/`, served from the binary).
//!
//! Each operation names its scope in an `x-required-scope` extension; [`Conventions`] turns
//! that and the operation's shape into what every such operation shares: the bearer security
//! requirement, the scope sentence in the description, and the error answers the common
//! machinery gives (401/403/429 from authentication, 400 for bad query or path values, 404
//! for a path naming nothing, 400/413/415 from the body reader, 304/406 and `ETag` from
//! negotiation and conditional GET, 503 when the database is unreachable). Answers particular
//! to an operation (409, 422, ...) are in its own annotation.

use actix_web::dev::HttpServiceFactory;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, web};
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::{
    admin, capacity, capacity_forecast, capacity_history, hosts, networks, placement, plans,
    problems, reports, stamps, system, webhooks,
};
use crate::webhooks::outbox::Event;

/// The error shape of every 4xx and 5xx answer.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"error": {"code": "not_found", "message": "stamp 'lon-09' not found", "field": "stamp"}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: `malformed`, `unauthorized`, `forbidden`, `not_found`, `conflict`...
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// The request field at fault (`routes[2].metric`, `limit`), when there is one.
    pub field: Option<String>,
}

/// A page of a list: `next_cursor` is null on the last page.
macro_rules! page {
    ($name:ident, $item:ty) => {
        #[derive(Debug, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass it as `cursor` for the next page; null on the last page.
            pub next_cursor: Option<String>,
        }
    };
}

page!(StampPage, stamps::StampListItem);
page!(NetworkPage, crate::inventory::model::Network);
page!(ScaleUnitPage, crate::inventory::model::ScaleUnit);
page!(PlanPage, super::plan_wap::PlanItem);
page!(CapacityPage, capacity::StampCapacity);
page!(QuarantinePage, crate::ingest::quarantine::QuarantinedReport);
page!(HostPage, crate::facts::read::HostSummary);
page!(HistoryPage, hosts::HistoryEntry);
page!(CertificatePage, crate::facts::read::CertificateRow);
page!(ProblemPage, crate::problems::Problem);
page!(TokenPage, crate::auth::tokens::TokenInfo);
page!(AuditPage, crate::audit::AuditRow);
page!(WebhookPage, crate::webhooks::store::Webhook);
page!(DeliveryPage, crate::webhooks::store::Delivery);

const DESCRIPTION: &str = "\
The JSON API of stampbook, the inventory of Windows Azure Pack / System Center VMM stamps.

* **Authentication**: `Authorization: Bearer <token>`. Scopes: `collector` (push reports), \
`read`, `operator` (read and acknowledge problems), `admin` (everything). Each operation says \
the scope it needs (also in `x-required-scope`).
* **Errors**: `{\"error\": {\"code\", \"message\", \"field\"}}` with the status.
* **Lists**: `{\"items\", \"next_cursor\"}`; pass `next_cursor` back as `cursor`; `limit` 1 to \
1000 (default 100).
* **Caching**: every GET answers a strong `ETag`; `If-None-Match` gives 304 without a body.
* **CSV**: `Accept: text/csv` on capacity, hosts, certificates, problems and plans: the same \
page, the next cursor in `X-Next-Cursor` and `Link: <...>; rel=\"next\"`.
* **Webhooks**: `problem.opened` / `problem.resolved` POSTed as the `Event` schema (or, for a \
webhook whose `format` is `slack` or `teams`, as a Slack incoming-webhook message or a Microsoft \
Teams Adaptive Card message), signed the Standard Webhooks way and \
`X-Stampbook-Signature: sha256=<hex HMAC-SHA256 of the body>` (see docs/WEBHOOKS.md).";

#[derive(OpenApi)]
#[openapi(
    info(title = "stampbook API", description = DESCRIPTION, license(name = "Apache-2.0")),
    paths(
        system::healthz, system::readyz, super::metrics::handler, handler,
        stamps::list, stamps::create, stamps::get, stamps::put, stamps::patch, stamps::retire,
        stamps::health,
        networks::list_networks, networks::create_network, networks::get_network,
        networks::put_network, networks::delete_network,
        networks::list_scale_units, networks::create_scale_unit, networks::put_scale_unit,
        networks::delete_scale_unit,
        plans::list, plans::create, plans::get, plans::put, plans::delete,
        capacity::get, capacity_history::get, capacity_history::post, capacity_forecast::get,
        placement::get,
        reports::post, reports::list_quarantine, reports::replay,
        hosts::list, hosts::get, hosts::history, hosts::certificates,
        problems::list, problems::get, problems::acknowledge,
        admin::put_inventory, admin::list_tokens, admin::create_token, admin::revoke_token,
        admin::list_audit,
        webhooks::list, webhooks::create, webhooks::update, webhooks::delete,
        webhooks::deliveries,
    ),
    components(schemas(ErrorBody, Event, crate::webhooks::format::Format, stampbook_wire::capacity::CapacityRow, super::capacity_history::ResourcePoint)),
    modifiers(&Conventions),
    tags(
        (name = "system", description = "Liveness, readiness, metrics and this document; no authentication"),
        (name = "stamps", description = "Stamps, their networks and scale units, their health"),
        (name = "plans", description = "WAP plans, each with its stamp's health and Remote Console readiness, and what WAP reports for it beside what is declared"),
        (name = "capacity", description = "Physical, used and allocated capacity, stamps side by side; its history, forecast, and where a new plan fits"),
        (name = "reports", description = "Collector reports and the quarantine of refused ones"),
        (name = "hosts", description = "Hosts, their facts and history, certificates fleet-wide"),
        (name = "problems", description = "What the rules found; acknowledging it"),
        (name = "admin", description = "The inventory document, tokens and the audit log"),
        (name = "webhooks", description = "Problem events POSTed to subscribers, signed, retried, logged"),
    )
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`: this document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "system", operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object)))]
pub async fn handler() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// The CSP of the docs page: as strict as the rest, except that Swagger UI sets inline styles.
const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `/api/docs/`: Swagger UI over `/api/openapi.json`, every file from the binary.
pub fn docs_page() -> impl HttpServiceFactory {
    web::scope("/api/docs")
        .wrap(DefaultHeaders::new().add((header::CONTENT_SECURITY_POLICY, DOCS_CSP)))
        .service(web::resource("").route(web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/api/docs/"))
                .finish()
        })))
        .service(SwaggerUi::new("/{_:.*}").config(Config::from("/api/openapi.json")))
}

fn error(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

fn header_of(ty: Type, description: &str) -> utoipa::openapi::header::Header {
    utoipa::openapi::header::HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(ty)))
        .description(Some(description))
        .build()
}

/// Adds what the common machinery does to every operation (see the module doc).
pub struct Conventions;

impl Conventions {
    fn operation(path: &str, method: &str, op: &mut Operation) {
        let scope = op
            .extensions
            .as_ref()
            .and_then(|e| e.get("x-required-scope"))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let v1 = path.starts_with(super::V1);
        // handler names repeat across files (`list`, `get`): qualify them with the tag
        if let (Some(tag), Some(id)) = (
            op.tags.as_ref().and_then(|t| t.first()),
            op.operation_id.as_ref(),
        ) && !id.starts_with(&format!("{tag}_"))
        {
            op.operation_id = Some(format!("{tag}_{id}"));
        }
        let mut errors: Vec<(&str, RefOr<Response>)> = Vec::new();
        let mut add = |status: &'static str, r: RefOr<Response>| errors.push((status, r));
        if let Some(scope) = &scope {
            let who = match scope.as_str() {
                "read" => "tokens of scope `read`, `operator` or `admin`",
                "operator" => "tokens of scope `operator` or `admin`",
                "collector" => {
                    "tokens of scope `collector` (restricted to the report's stamp, if it is) or `admin`"
                }
                _ => "tokens of scope `admin`",
            };
            let sentence = format!("**Required scope: `{scope}`** ({who}).");
            op.description = Some(match op.description.take() {
                Some(d) if !d.is_empty() => format!("{d}\n\n{sentence}"),
                _ => sentence,
            });
            op.security = Some(vec![SecurityRequirement::new(
                "bearer",
                Vec::<String>::new(),
            )]);
            add(
                "401",
                error("No bearer token, or one that is unknown or revoked"),
            );
            add("403", error("The token's scope does not allow this"));
            let mut limited = ResponseBuilder::new()
                .description("Too many requests for this token")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build();
            limited.headers.insert(
                "Retry-After".into(),
                header_of(Type::Integer, "Seconds to wait before trying again").into(),
            );
            add("429", limited.into());
        }
        let params = op.parameters.as_deref().unwrap_or_default();
        let has = |loc: &str| {
            params.iter().any(|p| match p {
                RefOr::T(p) => serde_json::to_value(&p.parameter_in).is_ok_and(|v| v == loc),
                RefOr::Ref(_) => false,
            })
        };
        let (in_path, in_query) = (has("path"), has("query"));
        if in_query || in_path {
            add(
                "400",
                error("A query or path value is not valid (the field names it)"),
            );
        }
        if in_path {
            add("404", error("The path names nothing that exists"));
        }
        if op.request_body.is_some() {
            add(
                "400",
                error("The body is malformed (the field names where)"),
            );
            add("413", error("The body is larger than the server accepts"));
            add(
                "415",
                error("The body is not sent with the content type this operation takes"),
            );
        }
        if method == "get" && v1 {
            add(
                "406",
                error("`Accept` admits none of the representations offered"),
            );
        }
        if v1 {
            add("503", error("The database is unreachable; try again"));
        }
        let responses = &mut op.responses.responses;
        for (status, r) in errors {
            responses.entry(status.to_owned()).or_insert(r);
        }
        if method == "get" {
            if let Some(RefOr::T(ok)) = responses.get_mut("200") {
                ok.headers.insert(
                    "ETag".into(),
                    header_of(
                        Type::String,
                        "Strong tag of this body; send it back in If-None-Match",
                    )
                    .into(),
                );
            }
            let not_modified = ResponseBuilder::new()
                .description("Not modified: `If-None-Match` matched the current `ETag`; no body")
                .build();
            let mut not_modified = not_modified;
            not_modified.headers.insert(
                "ETag".into(),
                header_of(Type::String, "The current tag").into(),
            );
            responses.entry("304".into()).or_insert(not_modified.into());
        }
    }
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.info.version = env!("CARGO_PKG_VERSION").to_owned();
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`sbk_...`) from `stampbook-server token create` or `POST /api/v1/tokens`",
                    ))
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ] {
                if let Some(op) = op {
                    Self::operation(path, method, op);
                }
            }
        }
        let mut webhooks = utoipa::openapi::Paths::new();
        for event in crate::webhooks::outbox::EVENTS {
            webhooks.paths.insert(event.to_owned(), webhook_item(event));
        }
        openapi.webhooks = Some(webhooks);
    }
}

/// What a subscriber receives for `event` (OpenAPI 3.1 `webhooks`).
fn webhook_item(event: &str) -> PathItem {
    let op = OperationBuilder::new()
        .summary(Some(format!("`{event}`, POSTed to subscribed URLs")))
        .description(Some(
            "Headers: `Content-Type: application/json`, `X-Stampbook-Event`, \
             `X-Stampbook-Delivery` (the delivery id), `X-Stampbook-Event-Id`, \
             `X-Stampbook-Attempt`, and `X-Stampbook-Signature: sha256=<hex HMAC-SHA256 of the \
             exact body bytes with the webhook's secret>`. Answer 2xx within the timeout \
             (10 s by default); anything else is retried with exponential backoff. Deduplicate \
             by `event_id`. A webhook whose `format` is `slack` or `teams` receives a chat \
             message made from this event instead (docs/WEBHOOKS.md), signed the same way.",
        ))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Event")))
                        .build(),
                )
                .required(Some(utoipa::openapi::Required::True))
                .build(),
        ))
        .response(
            "2XX",
            ResponseBuilder::new().description("Received; not delivered again"),
        )
        .build();
    PathItem::new(HttpMethod::Post, op)
}
