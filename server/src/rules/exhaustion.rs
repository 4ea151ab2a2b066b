//! `capacity.exhaustion_soon`: a resource of the stamp is forecast (see [`super::forecast`]) to
//! cross its limit within the stamp's `exhaustion_warning_days` (warning) or
//! `exhaustion_critical_days` (critical). The earliest plausible crossing (`days_low`) decides:
//! a planner needs the warning while there is still time to add a scale unit.
//!
//! Only resources whose forecast follows *use* are judged ([`JUDGED`]: vCPUs and memory the
//! VMs take). Hosts do not report storage in use, so the storage forecast follows what plans
//! allocate (quotas × subscriptions), and thin provisioning makes allocation above physical
//! storage normal: that forecast is shown (API, stamp page), never a problem.

use serde_json::json;

use super::describe::stamp_finding;
use super::forecast::{Outlook, ResourceForecast};
use super::model::{Finding, Severity, StampContext};

pub const EXHAUSTION_SOON: &str = "capacity.exhaustion_soon";

/// The resources the rule judges: those whose forecast follows use.
pub const JUDGED: [&str; 2] = ["vcpus", "memory_gb"];

/// One finding per resource forecast to cross its limit within the warning threshold.
pub fn evaluate(ctx: &StampContext, forecasts: &[ResourceForecast]) -> Vec<Finding> {
    let t = &ctx.thresholds;
    forecasts
        .iter()
        .filter_map(|f| {
            if !JUDGED.contains(&f.resource.as_str())
                || !matches!(f.outlook, Outlook::Growing | Outlook::OverLimit)
            {
                return None;
            }
            let days = f.days_low?;
            let severity = if days < f64::from(t.exhaustion_critical_days) {
                Severity::Critical
            } else if days < f64::from(t.exhaustion_warning_days) {
                Severity::Warning
            } else {
                return None;
            };
            let message = format!(
                "{} on {}: {}; add capacity or stop selling plans there",
                f.resource, ctx.name, f.summary
            );
            Some(stamp_finding(
                EXHAUSTION_SOON,
                severity,
                f.resource.clone(),
                message,
                json!({
                    "forecast": f,
                    "exhaustion_warning_days": t.exhaustion_warning_days,
                    "exhaustion_critical_days": t.exhaustion_critical_days,
                }),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::super::forecast::forecast;
    use super::super::testkit::stamp;
    use super::*;

    /// A resource at 0 growing `per_day` for 60 days against a limit of 1000.
    fn growing(per_day: f64) -> ResourceForecast {
        let start = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let s: Vec<_> = (0..60)
            .map(|d| (start + TimeDelta::days(d), per_day * d as f64))
            .collect();
        forecast("vcpus", &s, Some(1000.0))
    }

    #[test]
    fn crossing_within_thirty_days_is_critical() {
        // 708 on day 59 at 12 a day: 24 days left
        let findings = evaluate(&stamp(), &[growing(12.0)]);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(
            (f.rule, f.severity, f.subject.as_str()),
            (EXHAUSTION_SOON, Severity::Critical, "vcpus")
        );
        assert!(f.message.contains("ams-01"), "{}", f.message);
    }

    #[test]
    fn crossing_within_ninety_days_is_a_warning_and_later_is_nothing() {
        // 295 on day 59 at 5 a day: 141 days; at 8 a day: 472 on day 59, 66 days
        assert!(evaluate(&stamp(), &[growing(5.0)]).is_empty());
        let findings = evaluate(&stamp(), &[growing(8.0)]);
        assert_eq!(findings[0].severity, Severity::Warning);
    }

    #[test]
    fn thresholds_come_from_the_stamp() {
        let mut ctx = stamp();
        ctx.thresholds.exhaustion_warning_days = 200;
        ctx.thresholds.exhaustion_critical_days = 150;
        assert_eq!(
            evaluate(&ctx, &[growing(5.0)])[0].severity,
            Severity::Critical
        );
    }

    #[test]
    fn storage_allocation_over_physical_is_shown_not_judged() {
        let start = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let s: Vec<_> = (0..30)
            .map(|d| (start + TimeDelta::days(d), 5000.0 + d as f64))
            .collect();
        let over = forecast("storage_gb", &s, Some(1000.0));
        assert_eq!(over.outlook, Outlook::OverLimit);
        assert!(evaluate(&stamp(), &[over]).is_empty());
    }

    #[test]
    fn flat_use_and_short_history_do_not_fire() {
        assert!(evaluate(&stamp(), &[growing(0.0)]).is_empty());
        assert!(evaluate(&stamp(), &[forecast("vcpus", &[], Some(10.0))]).is_empty());
    }
}
