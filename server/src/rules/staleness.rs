//! Hosts that stopped reporting (`host.stale`): every other fact about them is getting old.
//!
//! Decisions where the SPEC is silent:
//! - "older than" is strict: a report exactly 3 × `report_interval_s` old is not stale yet.
//! - The rule fires only once the 3 × interval grace has passed; it is then critical when the
//!   report is also more than 24 h old. A stamp reporting every 12 h is therefore not stale at
//!   30 h (its 36 h grace has not passed), and is critical as soon as it is.
//! - A non-positive `report_interval_s` (never valid in the inventory) falls back to the
//!   SPEC's default of 300 s rather than flagging every host.
//! - The service's own outages (`StampContext::outages`, from the replicas' heartbeats) are not
//!   the hosts' fault: when one began after the host's newest report and before the host would
//!   have been stale, the host is not stale until one report interval after the outage ended
//!   (its agent's next push, with its spool), nor while an outage lasts. A host already stale
//!   when the service went down stays stale (no flapping). The outage's time is not counted
//!   towards the 24 h after which staleness is critical.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::describe::{host_finding, human_duration};
use super::model::{Finding, HostFacts, Outage, Severity, StampContext};

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
    let excused = excused(
        &ctx.outages,
        host.last_collected_at,
        grace,
        TimeDelta::seconds(interval_s),
        now,
    );
    if now <= excused.deadline {
        return None;
    }
    let age = now - host.last_collected_at - excused.silence;
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
    let mut evidence = json!({
        "last_collected_at": host.last_collected_at,
        "report_interval_s": interval_s,
        "stale_after_s": grace.num_seconds(),
        "critical_after_s": CRITICAL_AFTER.num_seconds(),
    });
    if let Some(until) = excused.outage_until {
        evidence["service_outage_until"] = json!(until);
        evidence["service_outage_s"] = json!(excused.silence.num_seconds());
    }
    Some(host_finding(
        STALE,
        severity,
        host,
        "last_report",
        message,
        evidence,
    ))
}

/// What the service's outages excuse for one host.
struct Excused {
    /// The host is not stale until then.
    deadline: DateTime<Utc>,
    /// Silence that fell in outages (not counted towards critical).
    silence: TimeDelta,
    /// The end of the last outage that moved the deadline.
    outage_until: Option<DateTime<Utc>>,
}

fn excused(
    outages: &[Outage],
    last: DateTime<Utc>,
    grace: TimeDelta,
    interval: TimeDelta,
    now: DateTime<Utc>,
) -> Excused {
    let mut out = Excused {
        deadline: last + grace,
        silence: TimeDelta::zero(),
        outage_until: None,
    };
    for o in outages {
        // before the newest report, or after the host was stale already: not an excuse
        if o.to <= last || o.from >= out.deadline || o.from >= now {
            continue;
        }
        out.deadline = out.deadline.max(o.to + interval);
        out.silence += o.to.min(now) - o.from.max(last);
        out.outage_until = Some(o.to);
    }
    out
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

    fn with_outage(from_s: i64, to_s: i64, age_s: i64) -> Option<Finding> {
        let h = host(3, "hv03.ams-01.example.net", &[]);
        let mut ctx = stamp();
        let t = |s: i64| h.last_collected_at + TimeDelta::seconds(s);
        ctx.outages = vec![Outage {
            from: t(from_s),
            to: t(to_s),
        }];
        evaluate(&ctx, &h, t(age_s))
    }

    #[test]
    fn silence_across_the_services_outage_is_excused_until_one_interval_after_it() {
        // reported at 0, the service was down from 60 s to 960 s (3 intervals)
        assert!(with_outage(60, 960, 1000).is_none());
        assert!(with_outage(60, 960, 1260).is_none());
        let f = with_outage(60, 960, 1261).unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.evidence["service_outage_s"], 900);
    }

    #[test]
    fn an_outage_that_lasts_until_now_excuses_everyone() {
        assert!(with_outage(600, 5000, 5000).is_none());
    }

    #[test]
    fn a_host_already_stale_when_the_service_went_down_stays_stale() {
        assert!(with_outage(1000, 2000, 2100).is_some());
    }

    #[test]
    fn outage_time_does_not_count_towards_critical() {
        let day = 24 * 3600;
        let f = with_outage(100, 100 + 2 * 3600, day + 3600).unwrap();
        assert_eq!(f.severity, Severity::Warning);
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
