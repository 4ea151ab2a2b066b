//! What the plans page reads, on one connection: every declared plan, its stamp's health and
//! display name, and what WAP reported of its plans (the reconciler's input).

use std::collections::HashMap;

use sqlx::PgPool;

use crate::api::plan_wap::Reconciler;
use crate::health::{self, StampHealth};
use crate::inventory::store::{self, PlanRow};

/// What the plans page shows, as read.
pub struct PlansData {
    pub plans: Vec<PlanRow>,
    /// By stamp id.
    pub healths: HashMap<i64, StampHealth>,
    /// Each stamp's display name, by stamp id.
    pub names: HashMap<i64, String>,
    pub wap: Reconciler,
}

/// Reads the plans page.
pub async fn plans(pool: &PgPool) -> Result<PlansData, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let plans = store::list_plans(&mut conn, None, None, 100_000).await?;
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
    let wap = Reconciler::load(&mut conn).await?;
    Ok(PlansData {
        plans,
        healths,
        names,
        wap,
    })
}
