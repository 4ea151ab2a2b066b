//! `/problems`: every problem, filtered by stamp, severity, rule, state, host or plan, newest
//! first, 50 a page; and `POST /problems/{id}/acknowledge`, the operator's form (CSRF-checked).

pub mod query;
pub mod view;

use actix_web::{HttpResponse, web};
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::access::{Ctx, safe_next};
use super::error::WebError;
use super::page;
use crate::problems::{self, AckRequest, Filter, State};
use crate::state::AppState;

pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct ProblemsQuery {
    pub stamp: Option<String>,
    pub severity: Option<String>,
    pub rule: Option<String>,
    pub state: Option<String>,
    pub host: Option<String>,
    pub plan: Option<String>,
    /// `yes`: only under an active acknowledgement; `no`: only those counting towards health.
    pub ack: Option<String>,
    /// Page start: the cursor of the previous page's last problem.
    pub after: Option<String>,
    /// Just acknowledged (after the form's redirect).
    pub acked: Option<i64>,
    pub wallboard: Option<String>,
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: web::Query<ProblemsQuery>,
) -> Result<HttpResponse, WebError> {
    let ack = clean(&q.ack);
    let filter = filter(&q, ack.as_deref())?;
    let after = match clean(&q.after) {
        Some(a) => Some(query::Cursor::decode(&a).ok_or_else(|| {
            WebError::BadRequest("That page link is not one this server made.".to_owned())
        })?),
        None => None,
    };
    let data = query::problems_page(
        crate::web::reads::pool(&state, &ctx),
        &filter,
        after,
        PAGE_SIZE,
    )
    .await?;
    page::render(&view::problems_page(
        &ctx,
        data,
        filter,
        ack,
        q.after.is_some(),
        q.acked,
    ))
}

/// The filter the query asks for (`ack` cleaned); an unknown state or severity is refused.
fn filter(q: &ProblemsQuery, ack: Option<&str>) -> Result<Filter, WebError> {
    let st = match q.state.as_deref() {
        None | Some("") | Some("open") => State::Open,
        Some("resolved") => State::Resolved,
        Some("all") => State::All,
        Some(other) => {
            return Err(WebError::BadRequest(format!(
                "Unknown state '{other}': use open, resolved or all."
            )));
        }
    };
    let severity = clean(&q.severity);
    if let Some(s) = &severity
        && !["critical", "warning", "info"].contains(&s.as_str())
    {
        return Err(WebError::BadRequest(format!(
            "Unknown severity '{s}': use critical, warning or info."
        )));
    }
    Ok(Filter {
        stamp: clean(&q.stamp),
        severity,
        rule: clean(&q.rule),
        state: st,
        host: clean(&q.host),
        plan: clean(&q.plan),
        acknowledged: match ack {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        },
        before_id: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct AckForm {
    pub csrf: Option<String>,
    #[serde(default)]
    pub note: String,
    /// How long: empty (until it resolves), `1h`, `4h`, `24h`, `7d`.
    #[serde(rename = "for", default)]
    pub duration: String,
    /// The page to go back to.
    #[serde(rename = "return")]
    pub back: Option<String>,
}

fn until(duration: &str) -> Result<Option<Duration>, WebError> {
    Ok(match duration {
        "" => None,
        "1h" => Some(Duration::hours(1)),
        "4h" => Some(Duration::hours(4)),
        "24h" => Some(Duration::hours(24)),
        "7d" => Some(Duration::days(7)),
        other => {
            return Err(WebError::Invalid(format!(
                "'{other}' is not a duration the form offers."
            )));
        }
    })
}

/// Sets `acked=<id>` on a local path, so the page can confirm what happened.
fn with_acked(back: &str, id: i64) -> String {
    let (rest, fragment) = back.split_once('#').unwrap_or((back, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("acked="))
        .map(str::to_owned)
        .collect();
    pairs.push(format!("acked={id}"));
    let mut out = format!("{path}?{}", pairs.join("&"));
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

pub async fn acknowledge(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<i64>,
    f: web::Form<AckForm>,
) -> Result<HttpResponse, WebError> {
    let who = ctx.authorize_write(false, f.csrf.as_deref())?;
    let id = id.into_inner();
    let req = AckRequest {
        note: f.note.clone(),
        until: until(f.duration.trim())?.map(|d| Utc::now() + d),
    };
    problems::acknowledge(&state.pool, id, &who.name, &req).await?;
    tracing::info!(problem = id, by = %who.name, "problem acknowledged from the dashboard");
    let back = safe_next(f.back.as_deref());
    Ok(page::see_other(&with_acked(&back, id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_the_offered_ones() {
        assert!(until("").unwrap().is_none());
        assert_eq!(until("4h").unwrap(), Some(Duration::hours(4)));
        assert!(until("10y").is_err());
    }

    #[test]
    fn the_way_back_carries_the_acknowledged_id() {
        assert_eq!(with_acked("/problems", 7), "/problems?acked=7");
        assert_eq!(
            with_acked("/problems?stamp=a#p7", 7),
            "/problems?stamp=a&acked=7#p7"
        );
        assert_eq!(
            with_acked("/problems?acked=3&x=1", 7),
            "/problems?x=1&acked=7"
        );
    }
}
