//! `/`: every stamp in service as a tile, critical ones first. Reads only the per-stamp figures
//! the evaluator keeps (`stamp_status`), open problems and plans: never the fleet's hosts.
//! 200 stamps a page (`?page=2`), the fleet's totals over every stamp.

pub mod read;
pub mod view;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::access::Ctx;
use super::error::WebError;
use super::page;
use crate::state::AppState;

pub use view::{CertSoon, console_detail, expiry_class};

/// Stamps a page of the overview shows.
pub const OVERVIEW_PAGE: usize = 200;
/// Above this many stamps, quiet ones are listed compactly on a laptop too.
const FULL_TILES_UP_TO: usize = 12;

#[derive(Debug, Default, Deserialize)]
pub struct OverviewQuery {
    /// The page, from 1.
    pub page: Option<u32>,
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: web::Query<OverviewQuery>,
) -> Result<HttpResponse, WebError> {
    let data = read::overview(crate::web::reads::pool(&state, &ctx)).await?;
    let page_no = q.page.map_or(1, |p| p as usize);
    page::render(&view::overview_page(&ctx, data, page_no))
}
