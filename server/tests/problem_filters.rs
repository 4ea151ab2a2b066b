//! The problem list's filters on one stamp give exactly the problems they name, newest first,
//! page by page: each filter of a stamp's problems runs its own statement (`problems::list`:
//! one severity walks the stamp's open problems of that severity, the other filters filter the
//! walk of the stamp's problems inside the per-row lookup, where a generic plan keeps the walk).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestApp, spawn, spec_document};
use serde_json::Value;
use sqlx::PgPool;

/// One stored problem, as the test made it.
#[derive(Clone)]
struct Made {
    id: i64,
    stamp: &'static str,
    rule: &'static str,
    severity: &'static str,
    resolved: bool,
    acknowledged: bool,
}

/// 120 problems over both stamps of the spec document: every fourth critical, every third of
/// the route family, one in five resolved, one in seven acknowledged until tomorrow.
async fn make_problems(pool: &PgPool) -> Vec<Made> {
    let mut out = Vec::new();
    for i in 0..120_i64 {
        let stamp = if i % 2 == 0 { "ams-01" } else { "fra-01" };
        let rule = match i % 3 {
            0 => "route.default_ambiguous",
            1 => "cert.expiring",
            _ => "host.stale",
        };
        let severity = if i % 4 == 0 { "critical" } else { "warning" };
        let resolved = i % 5 == 0;
        let acknowledged = i % 7 == 0;
        let id: i64 = sqlx::query_scalar(
            "insert into problems (rule, severity, stamp_id, subject, message, opened_at,
                                   last_seen_at, resolved_at, ack_at, ack_until, ack_by)
             select $1, $2, s.id, 'subject-' || $3::bigint, 'made by the test', now(), now(),
                    case when $4 then now() end, case when $5 then now() end,
                    case when $5 then now() + interval '1 day' end, case when $5 then 'noc' end
             from stamps s where s.name = $6
             returning id",
        )
        .bind(rule)
        .bind(severity)
        .bind(i)
        .bind(resolved)
        .bind(acknowledged)
        .bind(stamp)
        .fetch_one(pool)
        .await
        .unwrap();
        out.push(Made {
            id,
            stamp,
            rule,
            severity,
            resolved,
            acknowledged,
        });
    }
    out
}

/// Every page of `query`, three at a time: the ids in the order given.
async fn all_pages(app: &TestApp, query: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/api/v1/problems?{query}&limit=3"),
            Some(c) => format!("/api/v1/problems?{query}&limit=3&cursor={c}"),
        };
        let page: Value = app.get_json(&path).await;
        for p in page["items"].as_array().unwrap() {
            ids.push(p["id"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
}

/// Which made problems a query should list.
type Keep = Box<dyn Fn(&Made) -> bool>;

/// The ids of the made problems `keep` picks, newest first.
fn expected(made: &[Made], keep: impl Fn(&Made) -> bool) -> Vec<i64> {
    let mut ids: Vec<i64> = made.iter().filter(|m| keep(m)).map(|m| m.id).collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn each_filter_of_a_stamps_problems_gives_what_it_names_page_by_page(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let made = make_problems(&pool).await;
    let ams = |m: &Made| m.stamp == "ams-01";

    let cases: Vec<(&str, Keep)> = vec![
        ("stamp=ams-01", Box::new(move |m| ams(m) && !m.resolved)),
        (
            "stamp=ams-01&severity=critical",
            Box::new(move |m| ams(m) && !m.resolved && m.severity == "critical"),
        ),
        (
            "stamp=ams-01&severity=warning&rule=route",
            Box::new(move |m| {
                ams(m) && !m.resolved && m.severity == "warning" && m.rule.starts_with("route.")
            }),
        ),
        (
            "stamp=ams-01&severity=critical&acknowledged=false",
            Box::new(move |m| ams(m) && !m.resolved && m.severity == "critical" && !m.acknowledged),
        ),
        (
            "stamp=ams-01&rule=cert.expiring",
            Box::new(move |m| ams(m) && !m.resolved && m.rule == "cert.expiring"),
        ),
        (
            "stamp=ams-01&acknowledged=true",
            Box::new(move |m| ams(m) && !m.resolved && m.acknowledged),
        ),
        ("stamp=ams-01&state=all", Box::new(ams)),
        (
            "stamp=ams-01&state=all&severity=critical",
            Box::new(move |m| ams(m) && m.severity == "critical"),
        ),
        (
            "stamp=ams-01&state=resolved&rule=host",
            Box::new(move |m| ams(m) && m.resolved && m.rule.starts_with("host.")),
        ),
    ];
    for (query, keep) in cases {
        let want = expected(&made, keep);
        assert!(!want.is_empty(), "{query}: the test makes such problems");
        assert_eq!(all_pages(&app, query).await, want, "{query}");
    }
}
