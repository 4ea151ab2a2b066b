//! A problem as the pages show it (shared by the problems, stamp and host pages), and the
//! problems page built from what `query` read (no database here): the filter's choices, the
//! rows and the page links.

use askama::Template;
use chrono::{DateTime, Utc};

use super::query::{Cursor, ProblemsData};
use crate::problems::{Acknowledgement, Filter, Problem, State};
use crate::web::access::Ctx;
use crate::web::format::{self, Badge, When};
use crate::web::page::{Chrome, Crumb};

pub struct AckView {
    pub by: String,
    pub note: String,
    pub at: When,
    pub until: Option<When>,
    /// The acknowledgement's `until` has passed: the problem counts again.
    pub ended: bool,
}

pub struct ProblemView {
    pub id: i64,
    pub rule: String,
    /// What the rule checks, in a sentence.
    pub description: &'static str,
    pub badge: Badge,
    pub stamp: String,
    pub host: Option<String>,
    pub plan: Option<String>,
    pub subject: String,
    pub message: String,
    pub opened: When,
    pub last_seen: When,
    pub resolved: Option<When>,
    pub acknowledged: bool,
    pub ack: Option<AckView>,
    /// The evidence as indented JSON (empty when there is none).
    pub evidence: String,
}

/// Compact JSON, at most `max` characters (with an ellipsis when cut).
pub fn compact_json(v: &serde_json::Value, max: usize) -> String {
    let s = v.to_string();
    if s.chars().count() <= max {
        s
    } else {
        let mut cut: String = s.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

/// Indented JSON for reading, at most `max` characters.
pub fn pretty_json(v: &serde_json::Value, max: usize) -> String {
    let s = serde_json::to_string_pretty(v).unwrap_or_default();
    if s.chars().count() <= max {
        s
    } else {
        let mut cut: String = s.chars().take(max).collect();
        cut.push_str("\n…");
        cut
    }
}

impl ProblemView {
    pub fn new(p: Problem, now: DateTime<Utc>) -> ProblemView {
        let ack = p.acknowledgement.map(|a: Acknowledgement| AckView {
            ended: a.until.is_some_and(|u| u <= now),
            by: a.by,
            note: a.note,
            at: When::at(a.at, now),
            until: When::opt(a.until, now),
        });
        ProblemView {
            id: p.id,
            badge: format::severity_badge(&p.severity),
            description: crate::rules::rule_info(&p.rule).map_or("", |r| r.description),
            rule: p.rule,
            stamp: p.stamp,
            host: p.host,
            plan: p.plan,
            subject: p.subject,
            message: p.message,
            opened: When::at(p.opened_at, now),
            last_seen: When::at(p.last_seen_at, now),
            resolved: When::opt(p.resolved_at, now),
            acknowledged: p.acknowledged,
            ack,
            evidence: match serde_json::from_str(p.evidence.get()) {
                Ok(serde_json::Value::Object(m)) if m.is_empty() => String::new(),
                Ok(serde_json::Value::Null) | Err(_) => String::new(),
                Ok(e) => pretty_json(&e, 4000),
            },
        }
    }
}

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

/// The problems page of `data`, read with `filter` (`ack` as asked); `paged` when it does not
/// start at the first problem.
pub fn problems_page(
    ctx: &Ctx,
    data: ProblemsData,
    filter: Filter,
    ack: Option<String>,
    paged: bool,
    acked: Option<i64>,
) -> ProblemsPage {
    let st = filter.state;
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
    let next_href = match data.rows.last() {
        Some((rank, last)) if data.more => href(Some(
            Cursor {
                rank: *rank,
                id: last.id,
            }
            .encode(),
        )),
        _ => String::new(),
    };
    let first_href = if paged { href(None) } else { String::new() };
    let now = ctx.now;
    let (title, crumbs) = title_and_crumbs(filter.stamp.as_deref());
    ProblemsPage {
        chrome: Chrome::new(ctx, title, "problems").crumbs(crumbs),
        problems: (data.rows.into_iter())
            .map(|(_, p)| ProblemView::new(p, now))
            .collect(),
        stamps: (data.stamps.into_iter())
            .map(|s| StampOption {
                label: if s.retired {
                    format!("{} ({}, retired)", s.display_name, s.name)
                } else {
                    format!("{} ({})", s.display_name, s.name)
                },
                name: s.name,
            })
            .collect(),
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
        acked,
        can_ack: ctx.can_operate() && !ctx.wallboard,
    }
}

/// The page's title and crumbs: the problems of one stamp, or of all.
fn title_and_crumbs(stamp: Option<&str>) -> (String, Vec<Crumb>) {
    let mut crumbs = vec![Crumb::link("Overview", "/")];
    let title = match stamp {
        Some(s) => {
            crumbs.push(Crumb::link(s.to_owned(), format!("/stamps/{s}")));
            format!("Problems of {s}")
        }
        None => "Problems".to_owned(),
    };
    crumbs.push(Crumb::here("Problems"));
    (title, crumbs)
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
    fn evidence_is_cut_to_a_readable_length() {
        let v = serde_json::json!({"a": "x".repeat(500)});
        let s = compact_json(&v, 20);
        assert_eq!(s.chars().count(), 21);
        assert!(s.ends_with('…'));
        assert_eq!(compact_json(&serde_json::json!({"a": 1}), 20), r#"{"a":1}"#);
    }
}
