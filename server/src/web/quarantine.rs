//! `/quarantine`: reports the server refused (unknown or retired stamp, ...) with the reason,
//! newest first; an admin replays one with a CSRF-checked form once its stamp exists.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::access::Ctx;
use super::error::WebError;
use super::format::{self, When};
use super::page::{self, Chrome, Crumb};
use crate::ingest::quarantine;
use crate::state::AppState;

const PAGE_SIZE: i64 = 100;

#[derive(Debug, Default, Deserialize)]
pub struct QuarantineQuery {
    /// `1`: replayed ones too.
    pub all: Option<String>,
    pub before: Option<i64>,
    /// Just replayed (after the form's redirect).
    pub replayed: Option<i64>,
    pub wallboard: Option<String>,
}

pub struct Line {
    pub id: i64,
    pub received: When,
    pub stamp: String,
    pub host: String,
    pub code: String,
    pub reason: String,
    pub token: String,
    pub report_id: String,
    pub replayed: Option<When>,
    pub replayed_by: String,
    pub outcome: String,
}

#[derive(Template)]
#[template(path = "quarantine.html")]
pub struct QuarantinePage {
    pub chrome: Chrome,
    pub lines: Vec<Line>,
    pub all: bool,
    pub pending: i64,
    pub is_admin: bool,
    pub next_href: String,
    pub notice: String,
    pub error: String,
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    q: &QuarantineQuery,
    error: String,
) -> Result<HttpResponse, WebError> {
    let db = super::reads::pool(state, ctx);
    let all = q.all.as_deref() == Some("1");
    let mut rows = quarantine::list(db, !all, None, q.before, PAGE_SIZE + 1).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let pending = quarantine::count_pending(db).await?;
    let next_href = match rows.last() {
        Some(last) if more => format!(
            "/quarantine{}",
            format::query(&[
                ("all", all.then_some("1")),
                ("before", Some(&last.id.to_string()))
            ])
        ),
        _ => String::new(),
    };
    let now = ctx.now;
    let page = QuarantinePage {
        chrome: Chrome::new(ctx, "Quarantine", "quarantine").crumbs(vec![
            Crumb::link("Overview", "/"),
            Crumb::here("Quarantine"),
        ]),
        lines: rows
            .into_iter()
            .map(|r| Line {
                id: r.id,
                received: When::at(r.received_at, now),
                stamp: r.stamp,
                host: r.host,
                code: r.code,
                reason: r.reason,
                token: r.token_name.unwrap_or_default(),
                report_id: r.report_id.map(|u| u.to_string()).unwrap_or_default(),
                replayed: When::opt(r.replayed_at, now),
                replayed_by: r.replayed_by.unwrap_or_default(),
                outcome: r.replay_outcome.unwrap_or_default(),
            })
            .collect(),
        all,
        pending,
        is_admin: ctx.is_admin() && !ctx.wallboard,
        next_href,
        notice: q
            .replayed
            .map(|id| format!("Report #{id} was replayed and accepted."))
            .unwrap_or_default(),
        error,
    };
    page::render(&page)
}

pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: web::Query<QuarantineQuery>,
) -> Result<HttpResponse, WebError> {
    render(&state, &ctx, &q, String::new()).await
}

#[derive(Debug, Deserialize)]
pub struct ReplayForm {
    pub csrf: Option<String>,
}

pub async fn replay(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<i64>,
    f: web::Form<ReplayForm>,
) -> Result<HttpResponse, WebError> {
    let who = ctx.authorize_write(true, f.csrf.as_deref())?;
    let id = id.into_inner();
    match quarantine::replay(state.ingest(), who, id).await {
        Ok(accepted) => {
            tracing::info!(quarantined = id, by = %who.name, outcome = accepted.outcome.as_str(), "quarantined report replayed from the dashboard");
            Ok(page::see_other(&format!("/quarantine?replayed={id}")))
        }
        // the stamp still does not exist, already replayed, ...: say so on the list itself
        Err(e) if e.status.is_client_error() => {
            let message = format!("Report #{id} was not replayed: {}", e.message);
            let mut resp = render(&state, &ctx, &QuarantineQuery::default(), message).await?;
            *resp.status_mut() = if e.status == StatusCode::CONFLICT {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(resp)
        }
        Err(e) => Err(e.into()),
    }
}
