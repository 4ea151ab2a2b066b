//! `/plans`: every plan sold in WAP with its stamp, the stamp's health and Remote Console
//! readiness, and the verdict a salesperson needs: can this plan be sold right now?

pub mod read;
pub mod view;

use actix_web::{HttpResponse, web};

use super::access::Ctx;
use super::error::WebError;
use super::page;
use crate::state::AppState;

pub use view::describe;

pub async fn list(state: web::Data<AppState>, ctx: Ctx) -> Result<HttpResponse, WebError> {
    let data = read::plans(crate::web::reads::pool(&state, &ctx)).await?;
    page::render(&view::plans_page(&ctx, data))
}
