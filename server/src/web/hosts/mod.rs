//! `/hosts/{fqdn}`: everything one host told us: certificates with days left, routes with the
//! effective default marked, interfaces, services, role settings, component versions, its open
//! problems and its change history (50 changes a page, newest first). Each fact table shows at
//! most 200 rows, with the count of the rest and a link to the next rows (`?routes=200#routes`).

pub mod pager;
pub mod read;
pub mod view;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::access::Ctx;
use super::error::WebError;
use super::page;
use crate::facts::read::{HostWindows, Window};
use crate::state::AppState;

pub use view::rollup;

const HISTORY_PAGE: i64 = 50;
/// Rows of each fact table (certificates, routes, interfaces, services, components) a page shows.
pub const TABLE_PAGE: i64 = 200;

#[derive(Debug, Default, Deserialize)]
pub struct HostQuery {
    /// History page start: changes with a smaller id.
    pub before: Option<i64>,
    pub wallboard: Option<String>,
    pub acked: Option<i64>,
    /// Where each fact table's rows start (0 when not given).
    pub certificates: Option<u32>,
    pub routes: Option<u32>,
    pub interfaces: Option<u32>,
    pub services: Option<u32>,
    pub components: Option<u32>,
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: Ctx,
    fqdn: web::Path<String>,
    q: web::Query<HostQuery>,
) -> Result<HttpResponse, WebError> {
    let offset = |o: Option<u32>| Window::page(i64::from(o.unwrap_or(0)), TABLE_PAGE);
    let windows = HostWindows {
        certificates: offset(q.certificates),
        routes: offset(q.routes),
        interfaces: offset(q.interfaces),
        services: offset(q.services),
        components: offset(q.components),
    };
    let data = read::host_page(
        crate::web::reads::pool(&state, &ctx),
        &fqdn,
        &windows,
        q.before,
    )
    .await?;
    page::render(&view::host_page(
        &ctx,
        data,
        &windows,
        q.before.is_some(),
        q.acked,
    ))
}
