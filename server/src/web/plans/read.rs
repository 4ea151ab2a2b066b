//! What the plans page reads, on one connection: one page of the declared plans in id order (of
//! a stamp when chosen), their stamps' health and display names, what WAP says of them, and the
//! fleet's counts (plans, plans on hold, plans that differ from WAP) from indexes and the open
//! problems the evaluator keeps, so that a page costs its rows, not the fleet's plans.

use std::collections::HashMap;

use sqlx::PgPool;

use crate::api::plan_wap::Reconciler;
use crate::facts::wap;
use crate::health::{self, StampHealth};
use crate::inventory::store::{self, PlanRow};
use crate::rules::wap_plans;

/// Which plans a page shows.
pub struct PlansFilter<'a> {
    pub stamp: Option<&'a str>,
    /// The last plan id of the previous page.
    pub after: Option<&'a str>,
    pub page_size: i64,
}

/// The fleet's (or the stamp's) plan counts.
pub struct PlanCounts {
    pub plans: i64,
    /// Plans with an open `plan.stamp_unhealthy` or `plan.stamp_missing` problem.
    pub on_hold: i64,
    /// Plans with an open problem saying WAP holds them otherwise (or not at all).
    pub differing: i64,
}

/// What the plans page shows, as read.
pub struct PlansData {
    pub plans: Vec<PlanRow>,
    /// Whether more plans follow this page.
    pub more: bool,
    pub counts: PlanCounts,
    /// By stamp id.
    pub healths: HashMap<i64, StampHealth>,
    /// Each stamp's display name, by stamp id.
    pub names: HashMap<i64, String>,
    /// Every stamp's name, for the filter.
    pub stamps: Vec<String>,
    pub wap: Reconciler,
    /// Whether the plans only WAP knows are listed (the first page, when a WAP server reported
    /// plans).
    pub with_wap_only: bool,
    /// Whether more plans only WAP knows exist than the page lists.
    pub wap_only_more: bool,
}

/// How many plans only WAP knows the plans page lists (the first by id).
pub const WAP_ONLY_SHOWN: i64 = 100;

/// Reads one page of the plans page.
pub async fn plans(pool: &PgPool, f: &PlansFilter<'_>) -> Result<PlansData, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut page = store::list_plans(&mut conn, f.stamp, f.after, f.page_size + 1).await?;
    let more = page.rows.len() as i64 > f.page_size;
    page.rows
        .truncate(usize::try_from(f.page_size).unwrap_or(0));
    let plans = &page.rows;
    let mut ids: Vec<i64> = plans.iter().map(|r| r.stamp_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let healths = health::for_stamps(&mut conn, &ids).await?;
    let names: HashMap<i64, String> = sqlx::query!(
        "select id, display_name from stamps where id = any($1)",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.display_name))
    .collect();
    let stamps = sqlx::query_scalar!("select name from stamps order by name")
        .fetch_all(&mut *conn)
        .await?;
    let counts = counts(&mut conn, f.stamp).await?;
    // the plans only WAP knows, on the first page, when a WAP server reported plans at all: the
    // first WAP_ONLY_SHOWN by id (the API lists them all)
    let with_wap_only = f.after.is_none() && wap_reported(&mut conn).await?;
    let mut only = Vec::new();
    let mut wap_only_more = false;
    if with_wap_only {
        only = wap::undeclared_keys(&mut conn, f.stamp, WAP_ONLY_SHOWN + 1).await?;
        wap_only_more = only.len() as i64 > WAP_ONLY_SHOWN;
        only.truncate(usize::try_from(WAP_ONLY_SHOWN).unwrap_or(0));
    }
    let wap = Reconciler::for_page(&mut conn, &page, only).await?;
    let plans = page.rows;
    Ok(PlansData {
        plans,
        more,
        counts,
        healths,
        names,
        stamps,
        wap,
        with_wap_only,
        wap_only_more,
    })
}

/// Whether any WAP server has reported its plans (the partial index of such hosts).
async fn wap_reported(conn: &mut sqlx::PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from hosts where wap_collected_at is not null) as "any!""#
    )
    .fetch_one(conn)
    .await
}

/// The plans (of `stamp` when given), those on hold and those that differ from WAP.
async fn counts(
    conn: &mut sqlx::PgConnection,
    stamp: Option<&str>,
) -> Result<PlanCounts, sqlx::Error> {
    let hold = [
        crate::rules::plans::STAMP_UNHEALTHY.to_owned(),
        crate::rules::plans::STAMP_MISSING.to_owned(),
    ];
    let differ = [
        wap_plans::QUOTA_MISMATCH.to_owned(),
        wap_plans::CLOUD_MISMATCH.to_owned(),
        wap_plans::NOT_IN_WAP.to_owned(),
    ];
    let r = sqlx::query!(
        r#"with chosen as (select id from stamps where name = $1)
           select (select count(*) from plans p
                   where $1::text is null or p.stamp_id = (select id from chosen)) as "plans!",
                  (select count(distinct pr.plan_id) from problems pr
                   where pr.resolved_at is null and pr.rule = any($2) and pr.plan_id is not null
                     and ($1::text is null or pr.stamp_id = (select id from chosen))) as "on_hold!",
                  (select count(distinct pr.plan_id) from problems pr
                   where pr.resolved_at is null and pr.rule = any($3) and pr.plan_id is not null
                     and ($1::text is null or pr.stamp_id = (select id from chosen))) as "differing!""#,
        stamp,
        &hold[..],
        &differ[..]
    )
    .fetch_one(conn)
    .await?;
    Ok(PlanCounts {
        plans: r.plans,
        on_hold: r.on_hold,
        differing: r.differing,
    })
}
