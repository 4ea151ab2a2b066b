//! The plans a `wap_server` reports from WAP's admin API (`report.wap`): kept per reporting host
//! as WAP holds them, their changes in the host's history (kind `wap_plan`), and read back per
//! stamp (for the rules) and per plan id (for the API and pages). WAP compares plan ids
//! case-insensitively; so does everything here (the key is the lower-cased id).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use stampbook_wire::WapQuota;

use super::history::{Change, diff};

/// One plan as a WAP server reported it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WapPlanFact {
    /// The id as WAP spells it.
    pub id: String,
    pub display_name: String,
    /// `private`, `public` or `decommissioned` (empty when WAP did not say).
    pub state: String,
    pub subscription_count: Option<i64>,
    /// The service quotas, setting keys and values as WAP holds them.
    pub quotas: Vec<WapQuota>,
}

impl WapPlanFact {
    /// The case-insensitive key WAP compares ids by.
    pub fn key(&self) -> String {
        self.id.to_lowercase()
    }

    fn value(&self) -> Value {
        json!({"id": self.id, "display_name": self.display_name, "state": self.state,
               "subscription_count": self.subscription_count, "quotas": self.quotas})
    }
}

/// The case-insensitive key of a plan id.
pub fn key(id: &str) -> String {
    id.to_lowercase()
}

/// Replaces the host's WAP plans with what its report collected (only when they differ) and
/// records when they were collected; answers the changes for the history.
pub async fn sync(
    conn: &mut PgConnection,
    host_id: i64,
    plans: &[WapPlanFact],
    collected: DateTime<Utc>,
    fresh: bool,
) -> Result<Vec<Change>, sqlx::Error> {
    sqlx::query!(
        "update hosts set wap_collected_at = $2 where id = $1",
        host_id,
        collected
    )
    .execute(&mut *conn)
    .await?;
    let new: BTreeMap<String, Value> = plans.iter().map(|p| (p.key(), p.value())).collect();
    let mut changes = Vec::new();
    if !fresh {
        let old: BTreeMap<String, Value> = sqlx::query!(
            r#"select plan_key, wap_id, display_name, state, subscription_count, quotas
               from host_wap_plans where host_id = $1"#,
            host_id
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| {
            let v = json!({"id": r.wap_id, "display_name": r.display_name, "state": r.state,
                           "subscription_count": r.subscription_count.map(i64::from), "quotas": r.quotas});
            (r.plan_key, v)
        })
        .collect();
        changes = diff("wap_plan", &old, &new);
        if changes.is_empty() {
            return Ok(changes);
        }
        sqlx::query!("delete from host_wap_plans where host_id = $1", host_id)
            .execute(&mut *conn)
            .await?;
    }
    let keys: Vec<String> = plans.iter().map(WapPlanFact::key).collect();
    let ids: Vec<String> = plans.iter().map(|p| p.id.clone()).collect();
    let names: Vec<String> = plans.iter().map(|p| p.display_name.clone()).collect();
    let states: Vec<String> = plans.iter().map(|p| p.state.clone()).collect();
    // the wire bounds keep counts within an integer; -1 carries "not said" through the array
    let counts: Vec<i32> = plans
        .iter()
        .map(|p| {
            p.subscription_count
                .map_or(-1, |c| i32::try_from(c).unwrap_or(i32::MAX))
        })
        .collect();
    let quotas: Vec<Value> = plans.iter().map(|p| json!(p.quotas)).collect();
    sqlx::query!(
        r#"insert into host_wap_plans (host_id, plan_key, wap_id, display_name, state, subscription_count, quotas)
           select $1, k, i, n, s, nullif(c, -1), q
           from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::jsonb[]) as x(k, i, n, s, c, q)"#,
        host_id, &keys, &ids, &names, &states, &counts, &quotas
    )
    .execute(conn)
    .await?;
    Ok(changes)
}

/// A plan as one WAP server of the fleet reports it, with where and when.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    pub stamp_id: i64,
    pub stamp: String,
    pub host: String,
    /// When the reporting host last collected its WAP plans.
    pub last_seen_at: DateTime<Utc>,
    pub plan: WapPlanFact,
}

/// The stored quotas (jsonb, selected as text: read straight into the quotas, without a JSON
/// tree between).
fn quotas(text: &str) -> Vec<WapQuota> {
    serde_json::from_str(text).unwrap_or_default()
}

/// The statements of [`reported`] and [`undeclared_keys`] (for the plan checks of the tests).
pub const OF_STAMPS: &str = include_str!("sql/wap_reported_of_stamps.sql");
pub const WITH_KEYS: &str = include_str!("sql/wap_reported_with_keys.sql");
pub const UNDECLARED_KEYS: &str = include_str!("sql/wap_undeclared_keys.sql");
pub const UNDECLARED_KEYS_OF_STAMP: &str = include_str!("sql/wap_undeclared_keys_of_stamp.sql");

/// Which reported plans [`reported`] reads.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// Those the WAP servers of these stamps report (a stamp's evaluation).
    OfStamps(&'a [i64]),
    /// Those with these plan keys (lower-cased ids), whoever reports them (a page's plans, one
    /// plan).
    WithKeys(&'a [String]),
    /// Every plan of every WAP server (the plans only WAP knows, listed whole).
    All,
}

/// The columns of a [`reported`] statement's row as a [`Reported`].
macro_rules! reported_row {
    ($r:expr) => {{
        let r = $r;
        Reported {
            stamp_id: r.stamp_id,
            stamp: r.stamp,
            host: r.host,
            last_seen_at: r.seen,
            plan: WapPlanFact {
                id: r.wap_id,
                display_name: r.display_name,
                state: r.state,
                subscription_count: r.subscription_count.map(i64::from),
                quotas: quotas(&r.quotas),
            },
        }
    }};
}

/// The plans the WAP servers report, as `which` chooses, ordered by key, then stamp and host.
/// One statement per choice, each down its own index (the stamp's WAP hosts, or the reports'
/// key index): no catch-all filter for a generic plan to read the fleet's reports through.
pub async fn reported(
    conn: &mut PgConnection,
    which: Which<'_>,
) -> Result<Vec<Reported>, sqlx::Error> {
    Ok(match which {
        Which::OfStamps(stamps) => {
            sqlx::query_file!("src/facts/sql/wap_reported_of_stamps.sql", stamps)
                .fetch_all(conn)
                .await?
                .into_iter()
                .map(|r| reported_row!(r))
                .collect()
        }
        Which::WithKeys(keys) => {
            sqlx::query_file!("src/facts/sql/wap_reported_with_keys.sql", keys)
                .fetch_all(conn)
                .await?
                .into_iter()
                .map(|r| reported_row!(r))
                .collect()
        }
        Which::All => sqlx::query!(
            r#"select h.stamp_id, s.name as stamp, h.fqdn::text as "host!", h.wap_collected_at as "seen!",
                      w.wap_id, w.display_name, w.state, w.subscription_count,
                      w.quotas::text as "quotas!"
               from host_wap_plans w join hosts h on h.id = w.host_id join stamps s on s.id = h.stamp_id
               where h.wap_collected_at is not null and 'wap_server' = any(h.roles)
               order by w.plan_key, s.name, h.fqdn"#
        )
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| reported_row!(r))
        .collect(),
    })
}

/// The stamps (of `stamps`, or all) whose WAP servers have reported plans at least once:
/// elsewhere a plan's absence from WAP is unknown, not observed.
pub async fn collected_stamps(
    conn: &mut PgConnection,
    stamps: Option<&[i64]>,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select distinct stamp_id as "stamp_id!" from hosts
           where wap_collected_at is not null and 'wap_server' = any(roles)
             and ($1::bigint[] is null or stamp_id = any($1))
           order by 1"#,
        stamps
    )
    .fetch_all(conn)
    .await
}

/// The plan keys the WAP servers report (those of `stamp` when given) that the inventory does
/// not declare under any case, in key order, at most `limit`: the plans only WAP knows, found
/// from the reports (bounded by the fleet's WAP servers and their plans, not its hosts) without
/// reading every declared plan into the server.
pub async fn undeclared_keys(
    conn: &mut PgConnection,
    stamp: Option<&str>,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    match stamp {
        Some(stamp) => {
            sqlx::query_file_scalar!(
                "src/facts/sql/wap_undeclared_keys_of_stamp.sql",
                stamp,
                limit
            )
            .fetch_all(conn)
            .await
        }
        None => {
            sqlx::query_file_scalar!("src/facts/sql/wap_undeclared_keys.sql", limit)
                .fetch_all(conn)
                .await
        }
    }
}

/// Subscriptions per plan as the WAP servers of a stamp report them (plan key → count; the
/// largest when two servers of the stamp disagree). Capacity's input: subscriptions come from
/// WAP, not from the inventory.
pub async fn subscriptions(
    conn: &mut PgConnection,
    stamp_id: i64,
) -> Result<BTreeMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select w.plan_key, max(w.subscription_count)::bigint as "count!"
           from host_wap_plans w join hosts h on h.id = w.host_id
           where h.stamp_id = $1 and h.wap_collected_at is not null and 'wap_server' = any(h.roles)
             and w.subscription_count is not null
           group by w.plan_key order by w.plan_key"#,
        stamp_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.plan_key, r.count)).collect())
}

/// The stamps whose WAP servers report the plan `id` (ignoring case): declaring or deleting it
/// changes what their `plan.undeclared` says.
pub async fn reporting_stamps(conn: &mut PgConnection, id: &str) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select distinct h.stamp_id as "stamp_id!" from host_wap_plans w join hosts h on h.id = w.host_id
           where w.plan_key = lower($1) order by 1"#,
        id
    )
    .fetch_all(conn)
    .await
}
