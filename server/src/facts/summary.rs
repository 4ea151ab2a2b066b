//! History in proportion: a report that changes more facts of one kind than the configured
//! detail limit (a host whose routing table was replaced wholesale) writes one summary row for
//! that kind, with the counts, instead of one row per fact (243,148 rows for one report).

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::history::Change;

/// The `change` of a summary row.
pub const SUMMARIZED: &str = "summarized";

/// `changes` as they are written to history: kinds with more than `max_per_kind` changes become
/// one row `{kind, key: "*", change: "summarized", after: {"appeared": n, "changed": n,
/// "disappeared": n}}`; the others stay row by row, in order.
pub fn summarize(changes: &[Change], max_per_kind: usize) -> Cow<'_, [Change]> {
    let mut per_kind: BTreeMap<&'static str, usize> = BTreeMap::new();
    for c in changes {
        *per_kind.entry(c.kind).or_default() += 1;
    }
    if per_kind.values().all(|n| *n <= max_per_kind) {
        return Cow::Borrowed(changes);
    }
    let mut out = Vec::new();
    let mut counts: BTreeMap<&'static str, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for c in changes {
        if per_kind.get(c.kind).is_some_and(|n| *n > max_per_kind) {
            *counts
                .entry(c.kind)
                .or_default()
                .entry(c.change)
                .or_default() += 1;
        } else {
            out.push(c.clone());
        }
    }
    for (kind, by_change) in counts {
        let mut after = serde_json::Map::new();
        for (change, n) in by_change {
            after.insert(change.to_owned(), n.into());
        }
        after.insert(
            "detail".into(),
            format!("more than {max_per_kind} changes of this kind in one report: counts only")
                .into(),
        );
        out.push(Change {
            kind,
            key: "*".into(),
            change: SUMMARIZED,
            before: None,
            after: Some(after.into()),
        });
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(kind: &'static str, i: usize, change: &'static str) -> Change {
        Change {
            kind,
            key: i.to_string(),
            change,
            before: None,
            after: None,
        }
    }

    #[test]
    fn a_kind_beyond_the_limit_becomes_one_row_with_counts() {
        let mut all: Vec<Change> = (0..5).map(|i| change("route", i, "appeared")).collect();
        all.push(change("route", 9, "disappeared"));
        all.push(change("service", 1, "changed"));
        assert_eq!(summarize(&all, 10).len(), 7, "under the limit: as is");
        let s = summarize(&all, 3);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].kind, "service");
        assert_eq!(s[1].change, SUMMARIZED);
        let after = s[1].after.as_ref().unwrap();
        assert_eq!(after["appeared"], 5);
        assert_eq!(after["disappeared"], 1);
    }
}
