//! Prometheus counters of the server itself (served by `api::metrics`): reports ingested by outcome, ingest
//! latency, rule runs, problems open by severity and stamp, the database pool. Counters live in
//! memory (per replica); gauges are read from the database at scrape time.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS_S: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
use crate::domain::ReportOutcome;

const OUTCOMES: [ReportOutcome; 7] = ReportOutcome::ALL;

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS_S.len()],
    count: u64,
    sum_s: f64,
}

impl Histogram {
    fn observe(&mut self, s: f64) {
        for (i, b) in BUCKETS_S.iter().enumerate() {
            if s <= *b {
                self.buckets[i] += 1;
            }
        }
        self.count += 1;
        self.sum_s += s;
    }

    fn render(&self, out: &mut String, name: &str) {
        for (i, b) in BUCKETS_S.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {}", self.buckets[i]);
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum {}", self.sum_s);
        let _ = writeln!(out, "{name}_count {}", self.count);
    }
}

#[derive(Default)]
pub struct Metrics {
    reports: [AtomicU64; OUTCOMES.len()],
    ingest: Mutex<Histogram>,
    rule_runs: AtomicU64,
    rule_run: Mutex<Histogram>,
    webhook_deliveries: AtomicU64,
    webhook_failures: AtomicU64,
    alertmanager_sent: AtomicU64,
    alertmanager_failed: AtomicU64,
    /// Reports agents said their spool dropped (each accepted report says how many since the
    /// agent's last successful push, so the sum counts every lost report once).
    spool_dropped: AtomicU64,
    spool_rejected: AtomicU64,
    /// HTTP requests being answered now, by [`RequestKind`] (the evaluator gives way while any
    /// other is: reports are its own input, and it must keep up with them; probes are not
    /// people waiting).
    reports_in_flight: AtomicU64,
    probes_in_flight: AtomicU64,
    others_in_flight: AtomicU64,
    /// When the last request other than a report was answered: microseconds since [`EPOCH`],
    /// plus one (0: none yet).
    others_answered_at: AtomicU64,
    /// Time the evaluator rested to give way to requests.
    evaluation_rest_us: AtomicU64,
}

/// What a request is, for [`Metrics::request_begun`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// An agent's report (`POST /api/v1/reports`).
    Report,
    /// A health probe or a metrics scrape (`/healthz`, `/readyz`, `/metrics`).
    Probe,
    /// Everything else: people's pages, integrations' API calls.
    Other,
}

/// The clock of [`Metrics::others_answered_at`]'s readings.
static EPOCH: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);

fn micros_since_epoch() -> u64 {
    u64::try_from(EPOCH.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// A request being answered: counted in flight until dropped, when the time it was answered
/// is kept (requests other than reports).
pub struct InFlight<'a> {
    count: &'a AtomicU64,
    answered_at: Option<&'a AtomicU64>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(at) = self.answered_at {
            at.store(micros_since_epoch().saturating_add(1), Ordering::Relaxed);
        }
        self.count.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// One report's outcome and how long it took, whatever became of it (refused ones too).
    pub fn report_ingested(&self, outcome: ReportOutcome, took: Duration) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.reports[i].fetch_add(1, Ordering::Relaxed);
        }
        self.ingest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .observe(took.as_secs_f64());
    }

    pub fn spool_dropped(&self, reports: i64) {
        if let Ok(n) = u64::try_from(reports) {
            self.spool_dropped.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn spool_rejected(&self, reports: i64) {
        if let Ok(n) = u64::try_from(reports) {
            self.spool_rejected.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A request of `kind` begins; it is in flight until the answer is dropped.
    pub fn request_begun(&self, kind: RequestKind) -> InFlight<'_> {
        let (count, answered_at) = match kind {
            RequestKind::Report => (&self.reports_in_flight, None),
            RequestKind::Probe => (&self.probes_in_flight, None),
            RequestKind::Other => (&self.others_in_flight, Some(&self.others_answered_at)),
        };
        count.fetch_add(1, Ordering::Relaxed);
        InFlight { count, answered_at }
    }

    /// Requests being answered now other than agents' reports and probes.
    pub fn others_in_flight(&self) -> u64 {
        self.others_in_flight.load(Ordering::Relaxed)
    }

    /// Whether a request other than an agent's report or a probe is being answered, or was
    /// answered less than `window` ago.
    pub fn others_lately(&self, window: Duration) -> bool {
        if self.others_in_flight() > 0 {
            return true;
        }
        let at = self.others_answered_at.load(Ordering::Relaxed);
        let window = u64::try_from(window.as_micros()).unwrap_or(u64::MAX);
        at > 0 && micros_since_epoch().saturating_sub(at - 1) < window
    }

    /// The evaluator rested this long to give way to requests.
    pub fn evaluation_rested(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.evaluation_rest_us.fetch_add(us, Ordering::Relaxed);
    }

    pub fn rule_run(&self, took: Duration) {
        self.rule_runs.fetch_add(1, Ordering::Relaxed);
        self.rule_run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .observe(took.as_secs_f64());
    }

    pub fn webhook_delivery(&self, ok: bool) {
        if ok {
            self.webhook_deliveries.fetch_add(1, Ordering::Relaxed);
        } else {
            self.webhook_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One post of `alerts` alerts to one Alertmanager, taken or not.
    pub fn alertmanager_post(&self, ok: bool, alerts: usize) {
        let n = u64::try_from(alerts).unwrap_or(u64::MAX);
        if ok {
            self.alertmanager_sent.fetch_add(n, Ordering::Relaxed);
        } else {
            self.alertmanager_failed.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn render_counters(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP stampbook_reports_ingested_total Reports received, by outcome (stored, unchanged, late, duplicate; quarantined, refused, failed)."
        );
        let _ = writeln!(out, "# TYPE stampbook_reports_ingested_total counter");
        for (i, o) in OUTCOMES.iter().enumerate() {
            let _ = writeln!(
                out,
                "stampbook_reports_ingested_total{{outcome=\"{o}\"}} {}",
                self.reports[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP stampbook_ingest_duration_seconds Time to validate and store one report."
        );
        let _ = writeln!(out, "# TYPE stampbook_ingest_duration_seconds histogram");
        self.ingest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .render(out, "stampbook_ingest_duration_seconds");
        let _ = writeln!(
            out,
            "# HELP stampbook_http_requests_in_flight HTTP requests being answered now: agents' reports, health probes and metrics scrapes, and the others."
        );
        let _ = writeln!(out, "# TYPE stampbook_http_requests_in_flight gauge");
        for (kind, n) in [
            ("report", &self.reports_in_flight),
            ("probe", &self.probes_in_flight),
            ("other", &self.others_in_flight),
        ] {
            let _ = writeln!(
                out,
                "stampbook_http_requests_in_flight{{kind=\"{kind}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP stampbook_evaluation_rest_seconds_total Time the rule evaluator rested to give way to requests (STAMPBOOK_EVALUATION_REST)."
        );
        let _ = writeln!(
            out,
            "# TYPE stampbook_evaluation_rest_seconds_total counter"
        );
        let _ = writeln!(
            out,
            "stampbook_evaluation_rest_seconds_total {}",
            self.evaluation_rest_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "# HELP stampbook_rule_run_duration_seconds Time of one stamp's rule evaluation."
        );
        let _ = writeln!(out, "# TYPE stampbook_rule_run_duration_seconds histogram");
        self.rule_run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .render(out, "stampbook_rule_run_duration_seconds");
        let _ = writeln!(
            out,
            "# HELP stampbook_webhook_deliveries_total Webhook delivery attempts, by result."
        );
        let _ = writeln!(out, "# TYPE stampbook_webhook_deliveries_total counter");
        let _ = writeln!(
            out,
            "stampbook_webhook_deliveries_total{{result=\"ok\"}} {}",
            self.webhook_deliveries.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "stampbook_webhook_deliveries_total{{result=\"failed\"}} {}",
            self.webhook_failures.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP stampbook_alertmanager_alerts_total Alerts posted to Alertmanager instances, by result (each instance counts)."
        );
        let _ = writeln!(out, "# TYPE stampbook_alertmanager_alerts_total counter");
        let _ = writeln!(
            out,
            "stampbook_alertmanager_alerts_total{{result=\"sent\"}} {}",
            self.alertmanager_sent.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "stampbook_alertmanager_alerts_total{{result=\"failed\"}} {}",
            self.alertmanager_failed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP stampbook_agent_reports_dropped_total Reports agents said their spool dropped before they could be sent, as reports arrived here."
        );
        let _ = writeln!(out, "# TYPE stampbook_agent_reports_dropped_total counter");
        let _ = writeln!(
            out,
            "stampbook_agent_reports_dropped_total {}",
            self.spool_dropped.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP stampbook_agent_reports_rejected_total Reports agents said they set aside in rejected/ (refused for good, or failing every time), as reports arrived here."
        );
        let _ = writeln!(out, "# TYPE stampbook_agent_reports_rejected_total counter");
        let _ = writeln!(
            out,
            "stampbook_agent_reports_rejected_total {}",
            self.spool_rejected.load(Ordering::Relaxed)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.report_ingested(ReportOutcome::Stored, Duration::from_millis(3));
        m.report_ingested(ReportOutcome::Unchanged, Duration::from_millis(30));
        let mut out = String::new();
        m.render_counters(&mut out);
        assert!(out.contains("stampbook_reports_ingested_total{outcome=\"stored\"} 1"));
        assert!(out.contains("stampbook_ingest_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(out.contains("stampbook_ingest_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(out.contains("stampbook_ingest_duration_seconds_count 2"));
    }
}
