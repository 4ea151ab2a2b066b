//! The plans page as shown, built from what `read` returned (no database here): each plan with
//! its stamp's health, the verdict (can it be sold now?) and what WAP says, in id order with the
//! links to the next and first page; then, on the first page, the plans only WAP knows.

use std::collections::HashMap;

use askama::Template;

use super::read::{PlansData, PlansFilter};
use crate::api::plan_wap::Reconciler;
use crate::health::{Health, Readiness, StampHealth};
use crate::inventory::model::Plan;
use crate::inventory::store;
use crate::rules::wap_plans::Disagreement;
use crate::web::access::Ctx;
use crate::web::format::{self, Badge};
use crate::web::overview::console_detail;
use crate::web::page::{Chrome, Crumb};

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
    /// What WAP says: `matched`, `disagrees`, `not_in_wap`, `unknown`.
    pub wap_status: &'static str,
    pub wap_state: String,
    pub wap_subscriptions: Option<i64>,
    /// Where declared and WAP disagree, in words.
    pub disagreements: Vec<String>,
}

/// A plan only WAP knows.
pub struct WapOnlyRow {
    pub wap_plan_id: String,
    pub display_name: String,
    pub state: String,
    pub subscriptions: Option<i64>,
    pub stamps: String,
}

/// A disagreement between the inventory and WAP, in words.
pub fn describe(d: &Disagreement) -> String {
    match d {
        Disagreement::Quota {
            quota,
            declared,
            wap,
            wap_setting,
        } => format!("{quota}: declared {declared}, WAP {wap} ({wap_setting})"),
        Disagreement::Cloud {
            wap_cloud,
            wap_cloud_stamps,
            declared_stamp,
            ..
        } => format!(
            "WAP sells it on cloud {wap_cloud} of {}, not {declared_stamp}",
            wap_cloud_stamps.join(", ")
        ),
        Disagreement::State {
            declared_public,
            wap,
        } => format!(
            "declared {}, WAP says {wap}",
            if *declared_public {
                "public"
            } else {
                "private"
            }
        ),
    }
}

#[derive(Template)]
#[template(path = "plans.html")]
pub struct PlansPage {
    pub chrome: Chrome,
    pub plans: Vec<PlanRow>,
    /// The fleet's (or the chosen stamp's) counts.
    pub total: i64,
    pub on_hold: i64,
    pub wap_only: Vec<WapOnlyRow>,
    /// More plans only WAP knows exist than `wap_only` lists (the first by id).
    pub wap_only_more: bool,
    pub disagreeing: i64,
    /// Every stamp, for the filter, and the chosen one ("" for all).
    pub stamps: Vec<String>,
    pub stamp: String,
    /// The problems behind the counts, of the chosen stamp when there is one.
    pub on_hold_href: String,
    pub disagreeing_href: String,
    pub next_href: String,
    pub first_href: String,
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

/// The plans page of `data`, read with `f`.
pub fn plans_page(ctx: &Ctx, data: PlansData, f: &PlansFilter<'_>) -> PlansPage {
    let PlansData {
        plans,
        more,
        counts,
        healths,
        names,
        stamps,
        wap,
        with_wap_only,
        wap_only_more,
    } = data;
    let wb = ctx.wallboard.then_some("1");
    let href = |after: Option<&str>| {
        format!(
            "/plans{}",
            format::query(&[("stamp", f.stamp), ("after", after), ("wallboard", wb)])
        )
    };
    let next_href = match plans.last() {
        Some(last) if more => href(Some(last.decl.wap_plan_id.as_str())),
        _ => String::new(),
    };
    let first_href = if f.after.is_some() {
        href(None)
    } else {
        String::new()
    };
    let problems = |rule: &str| {
        format!(
            "/problems{}",
            format::query(&[("rule", Some(rule)), ("stamp", f.stamp), ("wallboard", wb)])
        )
    };
    let plans: Vec<PlanRow> = plans
        .into_iter()
        .filter_map(|r| {
            let h = healths.get(&r.stamp_id)?;
            Some(plan_row(r, h, &names, &wap))
        })
        .collect();
    PlansPage {
        chrome: Chrome::new(ctx, "Plans", "plans")
            .crumbs(vec![Crumb::link("Overview", "/"), Crumb::here("Plans")]),
        plans,
        total: counts.plans,
        on_hold: counts.on_hold,
        wap_only: if with_wap_only {
            wap_only(&wap, f.stamp)
        } else {
            Vec::new()
        },
        wap_only_more,
        disagreeing: counts.differing,
        stamps,
        stamp: f.stamp.unwrap_or_default().to_owned(),
        on_hold_href: problems(crate::rules::plans::STAMP_UNHEALTHY),
        disagreeing_href: problems("plan"),
        next_href,
        first_href,
    }
}

/// One declared plan with its stamp's health (`h`), the verdict and what WAP says of it.
fn plan_row(
    r: store::PlanRow,
    h: &StampHealth,
    names: &HashMap<i64, String>,
    wap: &Reconciler,
) -> PlanRow {
    let view = wap.view(Plan {
        wap_plan_id: r.decl.wap_plan_id.clone(),
        name: r.decl.name.clone(),
        public: r.decl.public,
        stamp: r.decl.stamp.to_string(),
        cloud: r.decl.cloud.clone(),
        remote_console: r.decl.remote_console,
        quota: r.decl.quota.clone(),
        subscriptions: r.decl.subscriptions,
        created_at: r.created_at,
        updated_at: r.updated_at,
        stamp_health: h.clone(),
    });
    let d = r.decl;
    let (sellable, verdict) = verdict(
        h.retired,
        h.health,
        d.remote_console,
        h.remote_console.state,
    );
    PlanRow {
        quota: format::quota(&d.quota),
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
        wap_status: view.wap_status.as_str(),
        wap_state: view
            .wap
            .as_ref()
            .map(|w| w.state.clone())
            .unwrap_or_default(),
        wap_subscriptions: view.wap.as_ref().and_then(|w| w.subscription_count),
        disagreements: view.disagreements.iter().map(describe).collect(),
    }
}

/// The plans only WAP knows (reported by `stamp`'s WAP when given), with the stamps that
/// reported them.
fn wap_only(wap: &Reconciler, stamp: Option<&str>) -> Vec<WapOnlyRow> {
    wap.wap_only(stamp)
        .into_iter()
        .map(|p| {
            let mut stamps: Vec<String> =
                p.wap.reported_by.iter().map(|r| r.stamp.clone()).collect();
            stamps.dedup();
            WapOnlyRow {
                wap_plan_id: p.wap_plan_id,
                display_name: p.wap.display_name,
                state: p.wap.state,
                subscriptions: p.wap.subscription_count,
                stamps: stamps.join(", "),
            }
        })
        .collect()
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
