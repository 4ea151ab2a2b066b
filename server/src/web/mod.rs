//! The NOC dashboard: server-rendered pages (askama templates in the top-level `templates/`),
//! login and sessions, the write forms (acknowledge, replay) with CSRF protection, and the
//! static assets. One file per page family (a folder with `read.rs` and `view.rs` for the long
//! ones); `configure` registers them all.

pub mod access;
pub mod assets;
pub mod capacity;
pub mod certificates;
pub mod error;
pub mod format;
pub mod hosts;
pub mod login;
pub mod login_directory;
pub mod overview;
pub mod page;
pub mod plans;
pub mod problems;
pub mod quarantine;
pub mod reads;
pub mod stamp_limit;
pub mod stamps;
pub mod svg;
pub mod trends;
pub mod wap_plan;

use actix_web::web;

pub use error::not_found;

fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(64 * 1024)
        .error_handler(|err, _| {
            error::WebError::BadRequest(format!("The form could not be read: {err}")).into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        error::WebError::BadRequest(format!(
            "The address has a parameter that is not valid: {err}"
        ))
        .into()
    })
}

/// Every dashboard route. Pages answer GET (and HEAD); the few writes are POST forms.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(form_config())
        .app_data(query_config())
        .route("/static/app.css", web::get().to(assets::css))
        .route("/static/app.js", web::get().to(assets::js))
        .route("/static/favicon.svg", web::get().to(assets::icon))
        .route("/favicon.ico", web::get().to(assets::icon))
        .route("/", web::get().to(overview::show))
        .route("/login", web::get().to(login::show))
        .route("/login", web::post().to(login::submit))
        .route("/logout", web::get().to(login::confirm))
        .route("/logout", web::post().to(login::logout))
        .route("/stamps/{name}", web::get().to(stamps::show))
        .route("/hosts/{fqdn}", web::get().to(hosts::show))
        .route("/plans", web::get().to(plans::list))
        .route("/plans/wap/{id}", web::get().to(wap_plan::show))
        .route("/plans/wap/{id}/adopt", web::post().to(wap_plan::adopt))
        .route("/capacity", web::get().to(capacity::show))
        .route("/capacity.csv", web::get().to(capacity::csv))
        .route("/certificates", web::get().to(certificates::show))
        .route("/quarantine", web::get().to(quarantine::list))
        .route(
            "/quarantine/{id}/replay",
            web::post().to(quarantine::replay),
        )
        .route("/problems", web::get().to(problems::list))
        .route(
            "/problems/{id}/acknowledge",
            web::post().to(problems::acknowledge),
        );
}
