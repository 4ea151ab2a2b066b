//! The history of a host's facts: what appeared, changed or disappeared, and when. Diffs are
//! computed on keyed JSON values; one `UNNEST` insert writes all of a report's changes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// A host's history page, newest first (the API's statement, exposed for the plan checks).
pub const PAGE: &str = include_str!("sql/history_page.sql");
/// A host's history page of one kind of change.
pub const OF_KIND_PAGE: &str = include_str!("sql/history_of_kind_page.sql");

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub kind: &'static str,
    pub key: String,
    /// `appeared`, `changed`, `disappeared` (or `late` for a report kept in history only).
    pub change: &'static str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Differences between two keyed sets of facts of one kind.
pub fn diff(
    kind: &'static str,
    old: &BTreeMap<String, Value>,
    new: &BTreeMap<String, Value>,
) -> Vec<Change> {
    let mut out = Vec::new();
    for (k, v) in new {
        match old.get(k) {
            None => out.push(Change {
                kind,
                key: k.clone(),
                change: "appeared",
                before: None,
                after: Some(v.clone()),
            }),
            Some(o) if o != v => out.push(Change {
                kind,
                key: k.clone(),
                change: "changed",
                before: Some(o.clone()),
                after: Some(v.clone()),
            }),
            Some(_) => {}
        }
    }
    for (k, v) in old {
        if !new.contains_key(k) {
            out.push(Change {
                kind,
                key: k.clone(),
                change: "disappeared",
                before: Some(v.clone()),
                after: None,
            });
        }
    }
    out
}

/// Keyed values from a list, making keys unique with `#2`, `#3` when a key repeats.
pub fn keyed<T>(
    items: &[T],
    key: impl Fn(&T) -> String,
    value: impl Fn(&T) -> Value,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for item in items {
        let base = key(item);
        let mut k = base.clone();
        let mut n = 1;
        while out.contains_key(&k) {
            n += 1;
            k = format!("{base} #{n}");
        }
        out.insert(k, value(item));
    }
    out
}

pub async fn insert(
    conn: &mut PgConnection,
    host_id: i64,
    report_id: Uuid,
    at: DateTime<Utc>,
    changes: &[Change],
) -> Result<(), sqlx::Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let kinds: Vec<String> = changes.iter().map(|c| c.kind.to_owned()).collect();
    let keys: Vec<String> = changes.iter().map(|c| c.key.clone()).collect();
    let what: Vec<String> = changes.iter().map(|c| c.change.to_owned()).collect();
    let before: Vec<Value> = changes
        .iter()
        .map(|c| c.before.clone().unwrap_or(Value::Null))
        .collect();
    let after: Vec<Value> = changes
        .iter()
        .map(|c| c.after.clone().unwrap_or(Value::Null))
        .collect();
    sqlx::query!(
        r#"insert into fact_changes (host_id, report_id, at, kind, key, change, before, after)
           select $1, $2, $3, k, key, c, nullif(b, 'null'::jsonb), nullif(a, 'null'::jsonb)
           from unnest($4::text[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[]) as t(k, key, c, b, a)"#,
        host_id,
        report_id,
        at,
        &kinds,
        &keys,
        &what,
        &before,
        &after
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_what_appeared_changed_and_disappeared() {
        let old = BTreeMap::from([("a".to_owned(), json!(1)), ("b".to_owned(), json!(2))]);
        let new = BTreeMap::from([("b".to_owned(), json!(3)), ("c".to_owned(), json!(4))]);
        let d = diff("service", &old, &new);
        let summary: Vec<(&str, &str)> = d.iter().map(|c| (c.key.as_str(), c.change)).collect();
        assert_eq!(
            summary,
            [("b", "changed"), ("c", "appeared"), ("a", "disappeared")]
        );
        assert!(diff("service", &new, &new).is_empty());
    }

    #[test]
    fn repeated_keys_stay_distinct() {
        let m = keyed(&[1, 1, 2], |_| "k".to_owned(), |v| json!(v));
        assert_eq!(m.keys().collect::<Vec<_>>(), ["k", "k #2", "k #3"]);
    }
}
