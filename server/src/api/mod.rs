//! The JSON API (`/api/v1`): one file per resource, registered here with explicit methods so
//! that a known path with another method answers 405, an unknown path 404, both as JSON errors.

pub mod admin;
pub mod body;
pub mod hosts;
pub mod networks;
pub mod pagination;
pub mod plans;
pub mod problems;
pub mod reports;
pub mod stamps;
pub mod system;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::error::ApiError;

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not take that method",
    ))
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("path"))
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
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

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(query_config())
            .app_data(path_config())
            .service(
                resource("/stamps")
                    .route(web::get().to(stamps::list))
                    .route(web::post().to(stamps::create)),
            )
            .service(
                resource("/stamps/{name}")
                    .route(web::get().to(stamps::get))
                    .route(web::put().to(stamps::put))
                    .route(web::patch().to(stamps::patch))
                    .route(web::delete().to(stamps::retire)),
            )
            .service(resource("/stamps/{name}/health").route(web::get().to(stamps::health)))
            .service(
                resource("/stamps/{name}/networks")
                    .route(web::get().to(networks::list_networks))
                    .route(web::post().to(networks::create_network)),
            )
            .service(
                resource("/stamps/{name}/networks/{network}")
                    .route(web::get().to(networks::get_network))
                    .route(web::put().to(networks::put_network))
                    .route(web::delete().to(networks::delete_network)),
            )
            .service(
                resource("/stamps/{name}/scale-units")
                    .route(web::get().to(networks::list_scale_units))
                    .route(web::post().to(networks::create_scale_unit)),
            )
            .service(
                resource("/stamps/{name}/scale-units/{unit}")
                    .route(web::put().to(networks::put_scale_unit))
                    .route(web::delete().to(networks::delete_scale_unit)),
            )
            .service(
                resource("/plans")
                    .route(web::get().to(plans::list))
                    .route(web::post().to(plans::create)),
            )
            .service(
                resource("/plans/{wap_plan_id}")
                    .route(web::get().to(plans::get))
                    .route(web::put().to(plans::put))
                    .route(web::delete().to(plans::delete)),
            )
            .service(resource("/reports").route(web::post().to(reports::post)))
            .service(resource("/quarantine").route(web::get().to(reports::list_quarantine)))
            .service(resource("/quarantine/{id}/replay").route(web::post().to(reports::replay)))
            .service(resource("/hosts").route(web::get().to(hosts::list)))
            .service(resource("/hosts/{fqdn}").route(web::get().to(hosts::get)))
            .service(resource("/hosts/{fqdn}/history").route(web::get().to(hosts::history)))
            .service(resource("/certificates").route(web::get().to(hosts::certificates)))
            .service(resource("/problems").route(web::get().to(problems::list)))
            .service(resource("/problems/{id}").route(web::get().to(problems::get)))
            .service(
                resource("/problems/{id}/acknowledge").route(web::post().to(problems::acknowledge)),
            )
            .service(resource("/inventory").route(web::put().to(admin::put_inventory)))
            .service(
                resource("/tokens")
                    .route(web::get().to(admin::list_tokens))
                    .route(web::post().to(admin::create_token)),
            )
            .service(resource("/tokens/{id}").route(web::delete().to(admin::revoke_token)))
            .service(resource("/audit").route(web::get().to(admin::list_audit)))
            .default_service(web::to(not_found)),
    );
}
