//! `/plans`: every plan sold in WAP with its stamp, the stamp's health and Remote Console
//! readiness, and the verdict a salesperson needs: can this plan be sold right now?

use actix_web::{HttpResponse, web};
use askama::Template;

use super::access::Ctx;
use super::error::WebError;
use super::format::{self, Badge};
use super::overview::console_detail;
use super::page::{self, Chrome, Crumb};
use crate::health::{self, Health, Readiness};
use crate::inventory::store;
use crate::startup::AppState;

pub struct PlanRow {
    pub wap_plan_id: String,
    pub name: String,
    pub public: bool,
    pub cloud: String,
    pub remote_console: bool,
    pub quota: String,
    pub subscriptions: i64,
    pub stamp: String,
    pub stamp_display: String,
    pub retired: bool,
    pub health: Health,
    pub badge: Badge,
    pub console: &'static str,
    pub console_detail: String,
    /// Whether the plan can be sold now, and why not.
    pub sellable: bool,
    pub verdict: String,
}

#[derive(Template)]
#[template(path = "plans.html")]
pub struct PlansPage {
    pub chrome: Chrome,
    pub plans: Vec<PlanRow>,
    pub on_hold: usize,
}

/// SPEC §5's `plan.stamp_unhealthy` and `plan.stamp_missing`, in words. Readiness that is only
/// unknown does not hold a plan (the rule does not fire on it either), but the verdict says so.
pub fn verdict(
    retired: bool,
    health: Health,
    remote_console: bool,
    console: Readiness,
) -> (bool, String) {
    if retired {
        (false, "hold: its stamp is retired".to_owned())
    } else if health == Health::Critical {
        (false, "hold: its stamp has critical problems".to_owned())
    } else if remote_console && console == Readiness::Broken {
        (
            false,
            "hold: Remote Console is broken on its stamp".to_owned(),
        )
    } else if remote_console && console == Readiness::Unknown {
        (
            true,
            "yes, but Remote Console readiness is unknown on its stamp".to_owned(),
        )
    } else if health == Health::Degraded {
        (true, "yes, the stamp has warnings".to_owned())
    } else {
        (true, "yes".to_owned())
    }
}

pub async fn list(state: web::Data<AppState>, ctx: Ctx) -> Result<HttpResponse, WebError> {
    let mut conn = state.pool.acquire().await?;
    let rows = store::list_plans(&mut conn, None, None, 100_000).await?;
    let mut ids: Vec<i64> = rows.iter().map(|r| r.stamp_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let healths = health::for_stamps(&mut conn, &ids).await?;
    let names: std::collections::HashMap<i64, String> = sqlx::query!(
        "select id, display_name from stamps where id = any($1)",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.display_name))
    .collect();
    let mut plans: Vec<PlanRow> = rows
        .into_iter()
        .filter_map(|r| {
            let h = healths.get(&r.stamp_id)?;
            let d = r.decl;
            let (sellable, verdict) = verdict(
                h.retired,
                h.health,
                d.remote_console,
                h.remote_console.state,
            );
            Some(PlanRow {
                quota: format!(
                    "{} VMs · {} vCPUs · {} GiB · {}",
                    format::int(d.quota.vms),
                    format::int(d.quota.vcpus),
                    format::int(d.quota.memory_gb),
                    format::gb(d.quota.storage_gb)
                ),
                stamp_display: names.get(&r.stamp_id).cloned().unwrap_or_default(),
                stamp: d.stamp.to_string(),
                wap_plan_id: d.wap_plan_id,
                name: d.name,
                public: d.public,
                cloud: d.cloud,
                remote_console: d.remote_console,
                subscriptions: d.subscriptions,
                retired: h.retired,
                health: h.health,
                badge: format::health_badge(h.health),
                console: h.remote_console.state.as_str(),
                console_detail: console_detail(h),
                sellable,
                verdict,
            })
        })
        .collect();
    // the ones to stop selling first
    plans.sort_by(|a, b| {
        a.sellable
            .cmp(&b.sellable)
            .then(b.health.cmp(&a.health))
            .then(a.stamp.cmp(&b.stamp))
            .then(a.name.cmp(&b.name))
    });
    let on_hold = plans.iter().filter(|p| !p.sellable).count();
    page::render(&PlansPage {
        chrome: Chrome::new(&ctx, "Plans", "plans")
            .crumbs(vec![Crumb::link("Overview", "/"), Crumb::here("Plans")]),
        plans,
        on_hold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_held_on_critical_retired_or_console_broken_stamps() {
        use Readiness::{Broken, Ready, Unknown};
        assert!(!verdict(true, Health::Ok, false, Ready).0);
        assert!(!verdict(false, Health::Critical, false, Ready).0);
        assert!(!verdict(false, Health::Degraded, true, Broken).0);
        assert!(verdict(false, Health::Degraded, false, Broken).0);
        assert_eq!(
            verdict(false, Health::Ok, true, Ready),
            (true, "yes".to_owned())
        );
        let (sell, why) = verdict(false, Health::Ok, true, Unknown);
        assert!(sell && why.contains("unknown"), "{why}");
    }
}
