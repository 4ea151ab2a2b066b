//! What the overview reads: the stamps in service with the per-stamp figures the evaluator
//! keeps (`stamp_status`), their health, their plans and the count of quarantined reports.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::health::{self, StampHealth};

/// A stamp in service with its `stamp_status` figures (none before its first evaluation).
pub struct StampLine {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub region: String,
    pub location: String,
    pub purpose: String,
    pub cert_warning_days: i32,
    pub cert_critical_days: i32,
    pub evaluated_at: Option<DateTime<Utc>>,
    pub hosts_total: Option<i32>,
    pub hosts_stale: Option<i32>,
    pub nearest_cert_expiry: Option<DateTime<Utc>>,
    pub nearest_cert_host: Option<String>,
}

/// A plan as its stamp's tile names it.
pub struct PlanChip {
    pub wap_plan_id: String,
    pub name: String,
    pub remote_console: bool,
}

/// What the overview shows, as read.
pub struct OverviewData {
    pub stamps: Vec<StampLine>,
    pub healths: HashMap<i64, StampHealth>,
    /// Each stamp's plans by name, by stamp id.
    pub plans: HashMap<i64, Vec<PlanChip>>,
    pub quarantined: i64,
}

/// Reads the overview: every stamp in service, by name.
pub async fn overview(pool: &PgPool) -> Result<OverviewData, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let stamps = sqlx::query_as!(
        StampLine,
        r#"select s.id, s.name, s.display_name, s.region, s.location, s.purpose,
                  s.cert_warning_days, s.cert_critical_days,
                  st.evaluated_at as "evaluated_at?", st.hosts_total as "hosts_total?",
                  st.hosts_stale as "hosts_stale?", st.nearest_cert_expiry, st.nearest_cert_host
           from stamps s left join stamp_status st on st.stamp_id = s.id
           where s.retired_at is null
           order by s.name"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i64> = stamps.iter().map(|r| r.id).collect();
    let healths = health::for_stamps(&mut conn, &ids).await?;
    let mut plans: HashMap<i64, Vec<PlanChip>> = HashMap::new();
    for p in sqlx::query!(
        "select stamp_id, wap_plan_id, name, remote_console from plans where stamp_id = any($1) order by name, wap_plan_id",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    {
        plans.entry(p.stamp_id).or_default().push(PlanChip {
            wap_plan_id: p.wap_plan_id,
            name: p.name,
            remote_console: p.remote_console,
        });
    }
    let quarantined = crate::ingest::quarantine::count_pending(pool).await?;
    Ok(OverviewData {
        stamps,
        healths,
        plans,
        quarantined,
    })
}
