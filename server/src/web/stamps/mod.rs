//! `/stamps/{name}`: one stamp on one page: summary and health, the Remote Console chain, open
//! problems, hosts (100 a page), server-certificate expiry by week, component versions,
//! networks, scale units and the plans sold on it.

pub mod panels;
pub mod read;
pub mod view;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::access::Ctx;
use super::error::WebError;
use super::page;
use crate::state::AppState;

pub use panels::rollup_name;

#[derive(Debug, Default, Deserialize)]
pub struct StampQuery {
    pub page: Option<i64>,
    /// Hosts whose FQDN contains this.
    pub q: Option<String>,
    pub wallboard: Option<String>,
    pub acked: Option<i64>,
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: Ctx,
    name: web::Path<String>,
    q: web::Query<StampQuery>,
) -> Result<HttpResponse, WebError> {
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let page_no = q.page.unwrap_or(1).max(1);
    let data = read::stamp_page(
        crate::web::reads::pool(&state, &ctx),
        &name,
        search,
        page_no,
        ctx.now,
    )
    .await?;
    page::render(&view::stamp_page(&ctx, data, search, page_no, q.acked))
}
