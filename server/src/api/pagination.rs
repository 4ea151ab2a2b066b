//! Lists: `{"items", "next_cursor"}` with an opaque cursor over a stable sort key, and a bounded
//! `limit`.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
            Some(_) => Err(ApiError::bad_request(
                "invalid_limit",
                format!("limit must be 1 to {MAX_LIMIT}"),
            )
            .with_field("limit")),
        }
    }

    /// The sort key after which this page starts.
    pub fn after(&self) -> Result<Option<String>, ApiError> {
        // `cursor=` (empty) is the first page, as when it is left out
        self.cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(decode)
            .transpose()
    }

    /// The cursor of a list keyed by a numeric id.
    pub fn after_id(&self) -> Result<Option<i64>, ApiError> {
        self.after()?
            .map(|c| {
                c.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(
                        "invalid_cursor",
                        "the cursor is not one this server gave out",
                    )
                    .with_field("cursor")
                })
            })
            .transpose()
    }
}

pub fn encode(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{key}"))
}

pub fn decode(cursor: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid_cursor",
            "the cursor is not one this server gave out",
        )
        .with_field("cursor")
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    s.strip_prefix("v1:").map(str::to_owned).ok_or_else(bad)
}

/// Builds a page from up to `limit + 1` rows fetched: the extra one only says there is more.
pub fn page<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next_cursor = if more {
        rows.last().map(|r| encode(&key(r)))
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// A page of a short list held in memory (a stamp's networks, the tokens), by `key`.
pub fn page_in_memory<T>(
    mut items: Vec<T>,
    params: &PageParams,
    key: impl Fn(&T) -> String,
) -> Result<Page<T>, ApiError> {
    let limit = params.limit()?;
    let after = params.after()?;
    items.sort_by_key(|i| key(i));
    let rows: Vec<T> = items
        .into_iter()
        .filter(|i| after.as_ref().is_none_or(|a| key(i) > *a))
        .take(limit as usize + 1)
        .collect();
    Ok(page(rows, limit, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_forgeries() {
        assert_eq!(decode(&encode("ams-01")).unwrap(), "ams-01");
        assert_eq!(decode("bm9wZQ").unwrap_err().code, "invalid_cursor");
        assert_eq!(decode("%%%").unwrap_err().code, "invalid_cursor");
    }

    #[test]
    fn page_says_whether_there_is_more() {
        let p = page(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(decode(p.next_cursor.as_deref().unwrap()).unwrap(), "2");
        let p = page(vec![1, 2], 2, |n| n.to_string());
        assert!(p.next_cursor.is_none());
    }
}
