//! A problem as the pages show it (shared by the problems, stamp and host pages), and the open
//! problems of one stamp or host, most severe first, acknowledged ones last.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

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

/// Open problems of a stamp and/or a host: unacknowledged first, then by severity, newest first.
pub async fn open_for(
    pool: &PgPool,
    stamp_id: Option<i64>,
    host_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Problem>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select p.id, p.rule, p.severity, s.name as stamp, h.fqdn::text as host, pl.wap_plan_id as "plan?",
                  p.subject, p.message, p.evidence, p.opened_at,
                  problem_last_seen(p.last_seen_at, p.resolved_at, p.stamp_id) as "last_seen_at!", p.resolved_at,
                  problem_acknowledged(p.ack_at, p.ack_until) as "acknowledged!",
                  p.ack_by, p.ack_note, p.ack_at, p.ack_until
           from problems p
           join stamps s on s.id = p.stamp_id
           left join hosts h on h.id = p.host_id
           left join plans pl on pl.id = p.plan_id
           where p.resolved_at is null
             and ($1::bigint is null or p.stamp_id = $1)
             and ($2::bigint is null or p.host_id = $2)
           order by 13, case p.severity when 'critical' then 0 when 'warning' then 1 else 2 end,
                    p.opened_at desc, p.id desc
           limit $3"#,
        stamp_id,
        host_id,
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| crate::problems::problem!(r))
        .collect())
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
