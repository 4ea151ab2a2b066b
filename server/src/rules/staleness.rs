//! Hosts that stopped reporting (`host.stale`): every other fact about them is getting old.
//!
//! Decisions where the SPEC is silent:
//! - "older than" is strict: a report exactly 3 × `report_interval_s` old is not stale yet.
//! - The rule fires only once the 3 × interval grace has passed; it is then critical when the
//!   report is also more than 24 h old. A stamp reporting every 12 h is therefore not stale at
//!   30 h (its 36 h grace has not passed), and is critical as soon as it is.
//! - A non-positive `report_interval_s` (never valid in the inventory) falls back to the
//!   SPEC's default of 300 s rather than flagging every host.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::describe::{host_finding, human_duration};
use super::model::{Finding, HostFacts, Severity, StampContext};

pub const STALE: &str = "host.stale";

const DEFAULT_INTERVAL_S: i64 = 300;
/// Reports missed before a host counts as stale.
const MISSED_REPORTS: i64 = 3;
const CRITICAL_AFTER: TimeDelta = TimeDelta::hours(24);

pub fn evaluate(ctx: &StampContext, host: &HostFacts, now: DateTime<Utc>) -> Option<Finding> {
    let interval_s = if ctx.report_interval_s > 0 {
        ctx.report_interval_s
    } else {
        DEFAULT_INTERVAL_S
    };
    let grace = TimeDelta::seconds(interval_s.saturating_mul(MISSED_REPORTS));
    let age = now - host.last_collected_at;
    if age <= grace {
        return None;
    }
    let severity = if age > CRITICAL_AFTER {
        Severity::Critical
    } else {
        Severity::Warning
    };
    // words and evidence stay the same while the host stays silent (they name when it last
    // reported, not how long ago), so a re-evaluation does not rewrite every stale problem
    let message = format!(
        "{} has not reported since {} (expected every {}, stale after {}): check that \
         stampbook-agent runs on {} and can reach the server",
        host.fqdn,
        host.last_collected_at.format("%Y-%m-%d %H:%M UTC"),
        human_duration(TimeDelta::seconds(interval_s)),
        human_duration(grace),
        host.fqdn
    );
    let evidence = json!({
        "last_collected_at": host.last_collected_at,
        "report_interval_s": interval_s,
        "stale_after_s": grace.num_seconds(),
        "critical_after_s": CRITICAL_AFTER.num_seconds(),
    });
    Some(host_finding(
        STALE,
        severity,
        host,
        "last_report",
        message,
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{host, stamp};
    use super::*;

    fn aged(age: TimeDelta) -> Option<Finding> {
        let h = host(3, "hv03.ams-01.example.net", &[]);
        let now = h.last_collected_at + age;
        evaluate(&stamp(), &h, now)
    }

    #[test]
    fn report_within_three_intervals_is_fresh() {
        assert!(aged(TimeDelta::seconds(900)).is_none());
    }

    #[test]
    fn report_older_than_three_intervals_is_a_warning_naming_the_host() {
        let f = aged(TimeDelta::seconds(901)).unwrap();
        assert_eq!(
            (f.rule, f.severity, f.host_id),
            (STALE, Severity::Warning, Some(3))
        );
        assert_eq!(f.subject, "last_report");
        assert!(
            f.message
                .starts_with("hv03.ams-01.example.net has not reported since 2024-02-24 10:00 UTC")
        );
    }

    #[test]
    fn report_older_than_a_day_is_critical() {
        let f = aged(TimeDelta::hours(24)).unwrap();
        assert_eq!(f.severity, Severity::Warning);
        let f = aged(TimeDelta::hours(24) + TimeDelta::seconds(1)).unwrap();
        assert_eq!(f.severity, Severity::Critical);
    }

    #[test]
    fn a_long_report_interval_keeps_its_grace_even_past_a_day() {
        let mut ctx = stamp();
        ctx.report_interval_s = 12 * 3600;
        let h = host(3, "hv03", &[]);
        assert!(evaluate(&ctx, &h, h.last_collected_at + TimeDelta::hours(30)).is_none());
        let f = evaluate(&ctx, &h, h.last_collected_at + TimeDelta::hours(37)).unwrap();
        assert_eq!(f.severity, Severity::Critical);
    }
}
