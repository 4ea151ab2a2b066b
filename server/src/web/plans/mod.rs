//! `/plans`: every plan sold in WAP with its stamp, the stamp's health and Remote Console
//! readiness, and the verdict a salesperson needs: can this plan be sold right now? 100 plans a
//! page in id order (`?after=`), of one stamp when chosen (`?stamp=`), with the fleet's counts of
//! plans on hold and plans WAP holds otherwise (each a link to those problems).

pub mod read;
pub mod view;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::access::Ctx;
use super::error::WebError;
use super::page;
use crate::state::AppState;

pub use view::describe;

/// Plans a page shows.
pub const PAGE_SIZE: i64 = 100;

#[derive(Debug, Default, Deserialize)]
pub struct PlansQuery {
    pub stamp: Option<String>,
    /// The last plan id of the previous page.
    pub after: Option<String>,
    pub wallboard: Option<String>,
}

fn clean(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: web::Query<PlansQuery>,
) -> Result<HttpResponse, WebError> {
    let filter = read::PlansFilter {
        stamp: clean(&q.stamp),
        after: clean(&q.after),
        page_size: PAGE_SIZE,
    };
    let data = read::plans(crate::web::reads::pool(&state, &ctx), &filter).await?;
    page::render(&view::plans_page(&ctx, data, &filter))
}
