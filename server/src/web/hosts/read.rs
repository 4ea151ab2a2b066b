//! What the host page reads: the host's facts through each table's window (the API's read
//! model), its stamp's name and certificate thresholds, its open problems and one page of its
//! change history.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

use super::HISTORY_PAGE;
use crate::facts::read::{self as facts, HostDetail, HostTotals, HostWindows};
use crate::problems::Problem;
use crate::web::error::WebError;
use crate::web::problems::query::open_for;

/// Open problems listed on the host page.
const PROBLEMS_SHOWN: i64 = 100;

/// The host's id and what the page needs of its stamp.
pub struct HostStamp {
    pub id: i64,
    pub display_name: String,
    pub cert_warning_days: i32,
    pub cert_critical_days: i32,
}

/// One change of the host's facts.
pub struct Change {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub key: String,
    pub change: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// What the host page shows, as read.
pub struct HostData {
    pub detail: HostDetail,
    pub totals: HostTotals,
    pub stamp: HostStamp,
    pub problems: Vec<Problem>,
    /// Newest first from `before`, one more than a page when there are older ones.
    pub changes: Vec<Change>,
}

/// Reads the host page of `fqdn`: each fact table through its window, the changes older than
/// `before` (the newest when not given).
pub async fn host_page(
    pool: &PgPool,
    fqdn: &str,
    windows: &HostWindows,
    before: Option<i64>,
) -> Result<HostData, WebError> {
    let (detail, totals) = facts::host_detail_window(pool, fqdn, windows)
        .await?
        .ok_or_else(|| {
        WebError::NotFound(format!(
            "No host '{fqdn}' has reported. Hosts appear once their agent's first report is accepted."
        ))
    })?;
    let stamp = sqlx::query_as!(
        HostStamp,
        r#"select h.id, s.display_name, s.cert_warning_days, s.cert_critical_days
           from hosts h join stamps s on s.id = h.stamp_id where h.fqdn = $1::text::citext"#,
        fqdn
    )
    .fetch_one(pool)
    .await?;
    let problems = open_for(pool, None, Some(stamp.id), PROBLEMS_SHOWN).await?;
    let changes = sqlx::query_as!(
        Change,
        r#"select id, at, kind, key, change, before, after from fact_changes
           where host_id = $1 and id < coalesce($2::bigint, 9223372036854775807)
           order by id desc limit $3"#,
        stamp.id,
        before,
        HISTORY_PAGE + 1
    )
    .fetch_all(pool)
    .await?;
    Ok(HostData {
        detail,
        totals,
        stamp,
        problems,
        changes,
    })
}
