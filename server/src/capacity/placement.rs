//! Where a new plan fits best (`GET /api/v1/placement`): every stamp ranked by the headroom it
//! would keep after taking a plan of the given size, with the forecast growth of the next
//! `within_days` added, and the reasons a stamp is left out.
//!
//! Decisions where the SPEC is silent:
//! - A plan's size is its per-subscription quota × `subscriptions` (as allocation is counted).
//! - Headroom is judged against the stamp's limits (physical × overcommit) minus what is in
//!   use today (the newest daily value of the history) minus the growth the forecast expects
//!   (the 90-day trend, or the 30-day one when 90 days are not kept; never negative). Storage
//!   follows allocation, as its forecast does. VMs have no limit and are not judged.
//! - The score is the smallest share of a limit left over any resource: the stamp whose
//!   tightest resource keeps the most room ranks first. Stamps left out follow, by name.
//! - Left out: retired; an open unacknowledged critical problem; Remote Console not `ready`
//!   (unless the caller says the plan does not offer it); no capacity history yet; or a
//!   resource (vCPUs, memory) that would exceed its limit within `within_days`.

use serde::Serialize;

use crate::health::Readiness;
use crate::rules::exhaustion::JUDGED;
use crate::rules::forecast::ResourceForecast;

/// What the new plan adds, in total.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanSize {
    pub vcpus: f64,
    pub memory_gb: f64,
    pub storage_gb: f64,
}

impl PlanSize {
    fn of(&self, resource: &str) -> f64 {
        match resource {
            "vcpus" => self.vcpus,
            "memory_gb" => self.memory_gb,
            "storage_gb" => self.storage_gb,
            _ => 0.0,
        }
    }
}

/// What placement knows of one stamp.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub stamp: String,
    pub display_name: String,
    pub retired: bool,
    pub critical_open: i64,
    pub remote_console: Readiness,
    pub forecasts: Vec<ResourceForecast>,
}

/// Why a stamp is left out.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Exclusion {
    /// `retired`, `critical_problems`, `remote_console_not_ready`, `capacity_unknown` or
    /// `exceeds_limit`.
    pub code: &'static str,
    pub message: String,
}

/// One resource of one stamp after taking the plan.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ResourceHeadroom {
    pub resource: String,
    pub limit: f64,
    pub in_use: f64,
    /// Growth the forecast expects within `within_days`.
    pub growth: f64,
    pub plan: f64,
    /// limit − in use − growth − plan; negative when it would not fit.
    pub headroom: f64,
    /// headroom ÷ limit.
    pub headroom_share: f64,
}

/// One stamp's answer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Placement {
    /// 1 for the best stamp; null for a stamp left out.
    pub rank: Option<usize>,
    pub stamp: String,
    pub display_name: String,
    pub eligible: bool,
    /// The smallest `headroom_share` of its resources.
    pub score: Option<f64>,
    pub excluded: Vec<Exclusion>,
    pub resources: Vec<ResourceHeadroom>,
}

/// Growth per day the forecast expects: the longest sufficient window's trend, never negative.
fn growth_per_day(f: &ResourceForecast) -> f64 {
    f.windows
        .iter()
        .rev()
        .find(|w| w.sufficient)
        .and_then(|w| w.slope_per_day)
        .unwrap_or(0.0)
        .max(0.0)
}

fn judge(
    c: &Candidate,
    size: PlanSize,
    within_days: f64,
    require_remote_console: bool,
) -> Placement {
    let mut excluded = Vec::new();
    if c.retired {
        excluded.push(Exclusion {
            code: "retired",
            message: format!("{} is retired", c.stamp),
        });
    }
    if c.critical_open > 0 {
        excluded.push(Exclusion {
            code: "critical_problems",
            message: format!(
                "{} has {} open unacknowledged critical problem(s)",
                c.stamp, c.critical_open
            ),
        });
    }
    if require_remote_console && c.remote_console != Readiness::Ready {
        excluded.push(Exclusion {
            code: "remote_console_not_ready",
            message: format!(
                "Remote Console on {} is {}",
                c.stamp,
                c.remote_console.as_str()
            ),
        });
    }
    let resources: Vec<ResourceHeadroom> = c
        .forecasts
        .iter()
        .filter_map(|f| {
            let limit = f.limit.filter(|l| *l > 0.0)?;
            let in_use = f.current?;
            let growth = growth_per_day(f) * within_days;
            let plan = size.of(&f.resource);
            let headroom = limit - in_use - growth - plan;
            Some(ResourceHeadroom {
                resource: f.resource.clone(),
                limit,
                in_use,
                growth: (growth * 10.0).round() / 10.0,
                plan,
                headroom: (headroom * 10.0).round() / 10.0,
                headroom_share: headroom / limit,
            })
        })
        .collect();
    if resources.is_empty() {
        excluded.push(Exclusion {
            code: "capacity_unknown",
            message: format!(
                "{} has no capacity history with limits yet (no Hyper-V host reported, or no snapshot taken)",
                c.stamp
            ),
        });
    }
    // storage follows allocation, which thin provisioning lets exceed physical storage: shown,
    // never a reason to leave a stamp out nor part of its score (as for exhaustion_soon)
    let judged = |r: &&ResourceHeadroom| JUDGED.contains(&r.resource.as_str());
    for r in resources.iter().filter(judged).filter(|r| r.headroom < 0.0) {
        excluded.push(Exclusion {
            code: "exceeds_limit",
            message: format!(
                "{} on {} would exceed its limit of {:.0} within {within_days:.0} days \
                 ({:.0} in use + {:.0} growth + {:.0} for the plan)",
                r.resource, c.stamp, r.limit, r.in_use, r.growth, r.plan
            ),
        });
    }
    let score = resources
        .iter()
        .filter(judged)
        .map(|r| r.headroom_share)
        .reduce(f64::min)
        .map(|s| (s * 10_000.0).round() / 10_000.0);
    Placement {
        rank: None,
        stamp: c.stamp.clone(),
        display_name: c.display_name.clone(),
        eligible: excluded.is_empty(),
        score,
        excluded,
        resources,
    }
}

/// Every candidate judged and ranked: eligible stamps by score, best first; then the others
/// by name.
pub fn rank(
    candidates: &[Candidate],
    size: PlanSize,
    within_days: f64,
    require_remote_console: bool,
) -> Vec<Placement> {
    let mut out: Vec<Placement> = candidates
        .iter()
        .map(|c| judge(c, size, within_days, require_remote_console))
        .collect();
    out.sort_by(|a, b| {
        b.eligible
            .cmp(&a.eligible)
            .then_with(|| match (a.eligible, b.eligible) {
                (true, true) => b
                    .score
                    .unwrap_or(f64::MIN)
                    .total_cmp(&a.score.unwrap_or(f64::MIN)),
                _ => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.stamp.cmp(&b.stamp))
    });
    for (i, p) in out.iter_mut().filter(|p| p.eligible).enumerate() {
        p.rank = Some(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::*;
    use crate::rules::forecast::forecast;

    /// A stamp using `used` vCPUs of `limit`, growing `per_day`, with 60 days of history.
    fn stamp(name: &str, used: f64, per_day: f64, limit: f64) -> Candidate {
        let start = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let series: Vec<_> = (0..60)
            .map(|d| (start + TimeDelta::days(d), used - per_day * (59 - d) as f64))
            .collect();
        Candidate {
            stamp: name.into(),
            display_name: name.to_uppercase(),
            retired: false,
            critical_open: 0,
            remote_console: Readiness::Ready,
            forecasts: vec![forecast("vcpus", &series, Some(limit))],
        }
    }

    const SIZE: PlanSize = PlanSize {
        vcpus: 100.0,
        memory_gb: 0.0,
        storage_gb: 0.0,
    };

    #[test]
    fn the_stamp_keeping_the_most_room_after_growth_ranks_first() {
        // same room today; b grows faster, so a keeps more after 90 days
        let ranked = rank(
            &[
                stamp("b", 400.0, 2.0, 1000.0),
                stamp("a", 400.0, 1.0, 1000.0),
            ],
            SIZE,
            90.0,
            true,
        );
        assert_eq!(
            ranked
                .iter()
                .map(|p| (p.stamp.as_str(), p.rank))
                .collect::<Vec<_>>(),
            [("a", Some(1)), ("b", Some(2))]
        );
        let a = &ranked[0].resources[0];
        assert_eq!((a.in_use, a.plan), (400.0, 100.0));
        assert!((a.growth - 90.0).abs() < 0.5, "{a:?}");
    }

    #[test]
    fn every_reason_to_leave_a_stamp_out_is_named() {
        let mut retired = stamp("r", 100.0, 0.0, 1000.0);
        retired.retired = true;
        let mut broken = stamp("c", 100.0, 0.0, 1000.0);
        broken.critical_open = 2;
        broken.remote_console = Readiness::Broken;
        let full = stamp("f", 850.0, 1.0, 1000.0);
        let mut unknown = stamp("u", 0.0, 0.0, 0.0);
        unknown.forecasts.clear();
        let ranked = rank(&[retired, broken, full, unknown], SIZE, 90.0, true);
        let codes = |name: &str| -> Vec<&str> {
            let p = ranked.iter().find(|p| p.stamp == name).unwrap();
            assert!(!p.eligible && p.rank.is_none());
            p.excluded.iter().map(|e| e.code).collect()
        };
        assert_eq!(codes("r"), ["retired"]);
        assert_eq!(
            codes("c"),
            ["critical_problems", "remote_console_not_ready"]
        );
        assert_eq!(codes("f"), ["exceeds_limit"]);
        assert_eq!(codes("u"), ["capacity_unknown"]);
    }

    #[test]
    fn storage_allocated_over_physical_is_shown_but_does_not_exclude() {
        let mut s = stamp("a", 100.0, 0.0, 1000.0);
        let start = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let series: Vec<_> = (0..60)
            .map(|d| (start + TimeDelta::days(d), 50_000.0))
            .collect();
        s.forecasts
            .push(forecast("storage_gb", &series, Some(10_000.0)));
        let p = &rank(&[s], SIZE, 90.0, true)[0];
        assert!(p.eligible, "{p:?}");
        assert_eq!(p.resources.len(), 2);
        assert!(p.resources[1].headroom < 0.0);
        assert!(p.score.unwrap() > 0.0);
    }

    #[test]
    fn remote_console_may_be_waived_for_a_plan_without_it() {
        let mut s = stamp("a", 100.0, 0.0, 1000.0);
        s.remote_console = Readiness::Unknown;
        assert!(!rank(&[s.clone()], SIZE, 90.0, true)[0].eligible);
        assert!(rank(&[s], SIZE, 90.0, false)[0].eligible);
    }
}
