//! The changes WAP made to a plan, from its WAP servers' history (`fact_changes` kind
//! `wap_plan`, keyed by the lower-cased plan id), each in words: the fields and quota settings
//! that differ, `before → after`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

use super::super::format::When;

/// Changes of a plan shown on its page (newest first).
const HISTORY_ROWS: i64 = 100;

/// One change WAP made to the plan, as a WAP server reported it.
pub struct HistoryRow {
    pub at: When,
    pub host: String,
    pub change: String,
    /// What changed, in words (`subscription_count 40 → 42`, ...).
    pub what: Vec<String>,
}

/// The statement of [`load`] (for the plan checks of the tests).
pub const HISTORY: &str = include_str!("sql/history.sql");

/// The newest changes of the plan with key `key`, as the hosts that reported WAP plans recorded
/// them.
pub async fn load(
    conn: &mut PgConnection,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    Ok(
        sqlx::query_file!("src/web/wap_plan/sql/history.sql", key, HISTORY_ROWS)
            .fetch_all(conn)
            .await?
            .into_iter()
            .map(|c| HistoryRow {
                at: When::at(c.at, now),
                host: c.host,
                what: changed_fields(c.before.as_ref(), c.after.as_ref()),
                change: c.change,
            })
            .collect(),
    )
}

/// Values of a plan's history entry by field, quota settings flattened to `service/Key`.
fn fields(v: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for key in ["display_name", "state", "subscription_count"] {
        if let Some(x) = v.get(key) {
            let shown = match x {
                Value::String(s) => s.clone(),
                Value::Null => "not said".to_owned(),
                other => other.to_string(),
            };
            out.insert(key.to_owned(), shown);
        }
    }
    for q in v
        .get("quotas")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let service = q.get("service_name").and_then(Value::as_str).unwrap_or("?");
        for (k, x) in q
            .get("settings")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            out.insert(
                format!("{service}/{k}"),
                x.as_str().map_or_else(|| x.to_string(), str::to_owned),
            );
        }
    }
    out
}

/// What a change did, in words: each field that differs, `before → after`.
pub fn changed_fields(before: Option<&Value>, after: Option<&Value>) -> Vec<String> {
    let (b, a) = (
        before.map(fields).unwrap_or_default(),
        after.map(fields).unwrap_or_default(),
    );
    let cut = |s: &str| {
        if s.chars().count() > 120 {
            format!("{}…", s.chars().take(120).collect::<String>())
        } else {
            s.to_owned()
        }
    };
    let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    keys.into_iter()
        .filter_map(|k| match (b.get(k), a.get(k)) {
            (Some(x), Some(y)) if x == y => None,
            (Some(x), Some(y)) => Some(format!("{k}: {} → {}", cut(x), cut(y))),
            (None, Some(y)) => Some(format!("{k}: {}", cut(y))),
            (Some(x), None) => Some(format!("{k}: {} (gone)", cut(x))),
            (None, None) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_history_entry_names_each_field_and_quota_setting_that_changed() {
        let before = json!({"id": "Gold", "display_name": "Gold", "state": "public", "subscription_count": 40,
                            "quotas": [{"service_name": "systemcenter", "settings": {"CoreCount": "100", "VmCount": "5"}}]});
        let after = json!({"id": "Gold", "display_name": "Gold", "state": "private", "subscription_count": 42,
                           "quotas": [{"service_name": "systemcenter", "settings": {"CoreCount": "120", "VmCount": "5"}}]});
        assert_eq!(
            changed_fields(Some(&before), Some(&after)),
            [
                "state: public → private",
                "subscription_count: 40 → 42",
                "systemcenter/CoreCount: 100 → 120"
            ]
        );
        assert!(changed_fields(None, Some(&after)).contains(&"state: private".to_owned()));
        assert!(changed_fields(Some(&before), None).contains(&"state: public (gone)".to_owned()));
    }
}
