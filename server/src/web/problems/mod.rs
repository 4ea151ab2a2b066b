//! `/problems`: every problem, filtered by stamp, severity, rule, state, host or plan, newest
//! first, 50 a page; and `POST /problems/{id}/acknowledge`, the operator's form (CSRF-checked).

pub mod query;
pub mod view;

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::access::{Ctx, safe_next};
use super::error::WebError;
use super::format;
use super::page::{self, Chrome, Crumb};
use crate::problems::{self, AckRequest, Filter, State};
use crate::state::AppState;
use view::ProblemView;

pub const PAGE_SIZE: i64 = 50;

/// A suggestion of the rule filter: a rule id, or the prefix of a family of rules.
pub struct RuleOption {
    pub value: &'static str,
    pub label: String,
}

/// Every rule the engine knows, each family first (a prefix such as `remote_console` matches
/// all of its rules).
pub fn rule_options() -> Vec<RuleOption> {
    let mut out: Vec<RuleOption> = Vec::new();
    for r in crate::rules::RULES {
        let prefix = r.id.split('.').next().unwrap_or(r.id);
        if !out.iter().any(|o| o.value == prefix) {
            out.push(RuleOption {
                value: prefix,
                label: format!("every {} rule", r.family),
            });
        }
        out.push(RuleOption {
            value: r.id,
            label: r.description.to_owned(),
        });
    }
    out
}

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

pub struct StampOption {
    pub name: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "problems.html")]
pub struct ProblemsPage {
    pub chrome: Chrome,
    pub problems: Vec<ProblemView>,
    pub stamps: Vec<StampOption>,
    pub rules: Vec<RuleOption>,
    pub stamp: String,
    pub severity: String,
    pub rule: String,
    pub state: String,
    pub host: String,
    pub plan: String,
    pub ack: String,
    pub filtered: bool,
    pub next_href: String,
    pub first_href: String,
    pub acked: Option<i64>,
    pub can_ack: bool,
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
    let db = super::reads::pool(&state, &ctx);
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
    let ack = clean(&q.ack);
    let filter = Filter {
        stamp: clean(&q.stamp),
        severity,
        rule: clean(&q.rule),
        state: st,
        host: clean(&q.host),
        plan: clean(&q.plan),
        acknowledged: match ack.as_deref() {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        },
        before_id: None,
    };
    let after = match clean(&q.after) {
        Some(a) => Some(query::Cursor::decode(&a).ok_or_else(|| {
            WebError::BadRequest("That page link is not one this server made.".to_owned())
        })?),
        None => None,
    };
    let mut rows = query::page(db, &filter, after, PAGE_SIZE + 1).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let stamps = sqlx::query!(
        r#"select name, display_name, retired_at is not null as "retired!" from stamps order by name"#
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|s| StampOption {
        label: if s.retired {
            format!("{} ({}, retired)", s.display_name, s.name)
        } else {
            format!("{} ({})", s.display_name, s.name)
        },
        name: s.name,
    })
    .collect();
    let state_s = match st {
        State::Open => "open",
        State::Resolved => "resolved",
        State::All => "all",
    };
    let wb = ctx.wallboard.then_some("1");
    let href = |after: Option<String>| {
        format!(
            "/problems{}",
            format::query(&[
                ("stamp", filter.stamp.as_deref()),
                ("severity", filter.severity.as_deref()),
                ("rule", filter.rule.as_deref()),
                ("state", (st != State::Open).then_some(state_s)),
                ("host", filter.host.as_deref()),
                ("plan", filter.plan.as_deref()),
                ("ack", ack.as_deref()),
                ("after", after.as_deref()),
                ("wallboard", wb),
            ])
        )
    };
    let next_href = match rows.last() {
        Some((rank, last)) if more => href(Some(
            query::Cursor {
                rank: *rank,
                id: last.id,
            }
            .encode(),
        )),
        _ => String::new(),
    };
    let first_href = if q.after.is_some() {
        href(None)
    } else {
        String::new()
    };
    let now = ctx.now;
    let mut crumbs = vec![Crumb::link("Overview", "/")];
    let title = match &filter.stamp {
        Some(s) => {
            crumbs.push(Crumb::link(s.clone(), format!("/stamps/{s}")));
            format!("Problems of {s}")
        }
        None => "Problems".to_owned(),
    };
    crumbs.push(Crumb::here("Problems"));
    let page = ProblemsPage {
        chrome: Chrome::new(&ctx, title, "problems").crumbs(crumbs),
        problems: rows
            .into_iter()
            .map(|(_, p)| ProblemView::new(p, now))
            .collect(),
        stamps,
        rules: rule_options(),
        filtered: filter.stamp.is_some()
            || filter.severity.is_some()
            || filter.rule.is_some()
            || filter.host.is_some()
            || filter.plan.is_some()
            || ack.is_some()
            || st != State::Open,
        stamp: filter.stamp.unwrap_or_default(),
        severity: filter.severity.unwrap_or_default(),
        rule: filter.rule.unwrap_or_default(),
        state: state_s.to_owned(),
        host: filter.host.unwrap_or_default(),
        plan: filter.plan.unwrap_or_default(),
        ack: ack.unwrap_or_default(),
        next_href,
        first_href,
        acked: q.acked,
        can_ack: ctx.can_operate() && !ctx.wallboard,
    };
    page::render(&page)
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
    fn rule_suggestions_cover_every_rule_and_family() {
        let options = rule_options();
        for r in crate::rules::RULES {
            assert!(options.iter().any(|o| o.value == r.id), "{}", r.id);
        }
        assert!(options.iter().any(|o| o.value == "remote_console"));
    }

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
