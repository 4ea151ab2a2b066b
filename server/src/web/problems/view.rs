//! A problem as the pages show it (shared by the problems, stamp and host pages).

use chrono::{DateTime, Utc};

use crate::problems::{Acknowledgement, Problem};
use crate::web::format::{self, Badge, When};

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
            evidence: match &p.evidence {
                serde_json::Value::Object(m) if m.is_empty() => String::new(),
                serde_json::Value::Null => String::new(),
                e => pretty_json(e, 4000),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_cut_to_a_readable_length() {
        let v = serde_json::json!({"a": "x".repeat(500)});
        let s = compact_json(&v, 20);
        assert_eq!(s.chars().count(), 21);
        assert!(s.ends_with('…'));
        assert_eq!(compact_json(&serde_json::json!({"a": 1}), 20), r#"{"a":1}"#);
    }
}
