//! `/certificates`: every certificate, fleet-wide, that has expired while still installed or
//! expires within 90 days: a timeline counted per day by the database (from the `not_after`
//! index, never every row) and the table, 100 a page in expiry order.

pub mod read;
pub mod view;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::access::Ctx;
use super::error::WebError;
use super::page;
use crate::facts::read::{CertCursor, CertFilter};
use crate::state::AppState;

pub const WINDOW_DAYS: i32 = 90;
const PAGE_SIZE: i64 = 100;

/// The stores the filter offers.
pub const STORES: &[&str] = &["LocalMachine\\My", "LocalMachine\\Root", "VMM"];

#[derive(Debug, Default, Deserialize)]
pub struct CertQuery {
    pub stamp: Option<String>,
    pub store: Option<String>,
    pub after: Option<String>,
    pub wallboard: Option<String>,
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: web::Query<CertQuery>,
) -> Result<HttpResponse, WebError> {
    let after = match clean(&q.after) {
        Some(a) => Some(CertCursor::decode(&a)?),
        None => None,
    };
    let filter = CertFilter {
        stamp: clean(&q.stamp),
        within_days: Some(WINDOW_DAYS),
        store: clean(&q.store),
        after,
        ..Default::default()
    };
    let sources = read::Sources {
        reads: crate::web::reads::pool(&state, &ctx),
        counter: &state.background_pool,
        tally_from: crate::facts::expiry_tally::TALLY_FROM_INSTALLATIONS,
    };
    let data = read::certificates_page(&sources, &filter, PAGE_SIZE).await?;
    page::render(&view::certificates_page(
        &ctx,
        data,
        filter,
        q.after.is_some(),
    ))
}
