//! Prometheus metrics of the server itself (`GET /metrics`): reports ingested by outcome, ingest
//! latency, rule runs, problems open by severity and stamp, the database pool. Counters live in
//! memory (per replica); gauges are read from the database at scrape time.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::{HttpResponse, web};

use crate::startup::AppState;

const BUCKETS_S: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
const OUTCOMES: [&str; 4] = ["stored", "unchanged", "late", "duplicate"];

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
    /// Reports agents said their spool dropped (each accepted report says how many since the
    /// agent's last successful push, so the sum counts every lost report once).
    spool_dropped: AtomicU64,
}

impl Metrics {
    pub fn report_ingested(&self, outcome: &str, took: Duration) {
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

    fn render_counters(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP stampbook_reports_ingested_total Reports accepted, by outcome."
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
            "# HELP stampbook_agent_reports_dropped_total Reports agents said their spool dropped before they could be sent, as reports arrived here."
        );
        let _ = writeln!(out, "# TYPE stampbook_agent_reports_dropped_total counter");
        let _ = writeln!(
            out,
            "stampbook_agent_reports_dropped_total {}",
            self.spool_dropped.load(Ordering::Relaxed)
        );
    }
}

/// Per stamp, the reports dropped as the newest report of each host says (hosts whose newest
/// report says none are not visited: a partial index holds the others).
async fn spool_gauge(pool: &sqlx::PgPool, out: &mut String) {
    let rows = sqlx::query!(
        r#"select s.name, sum(h.agent_spool_dropped)::bigint as "n!"
           from hosts h join stamps s on s.id = h.stamp_id
           where h.agent_spool_dropped > 0
           group by 1 order by 1"#
    )
    .fetch_all(pool)
    .await;
    let Ok(rows) = rows else {
        return;
    };
    let _ = writeln!(
        out,
        "# HELP stampbook_agent_spool_dropped Reports dropped from agents' spools, as each host's newest report says, by stamp."
    );
    let _ = writeln!(out, "# TYPE stampbook_agent_spool_dropped gauge");
    for r in rows {
        let _ = writeln!(
            out,
            "stampbook_agent_spool_dropped{{stamp=\"{}\"}} {}",
            label(&r.name),
            r.n
        );
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`: the Prometheus text format. Unauthenticated, like `/healthz`: it carries
/// counts, never names of hosts or tokens (stamp names are labels).
#[utoipa::path(get, path = "/metrics", tag = "system", operation_id = "metrics",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain; version=0.0.4; charset=utf-8")))]
pub async fn handler(state: web::Data<AppState>) -> HttpResponse {
    let mut out = String::with_capacity(4096);
    state.metrics.render_counters(&mut out);
    let _ = writeln!(
        out,
        "# HELP stampbook_db_pool_connections Connections of the database pool, by state."
    );
    let _ = writeln!(out, "# TYPE stampbook_db_pool_connections gauge");
    let size = state.pool.size();
    let idle = state.pool.num_idle() as u32;
    let _ = writeln!(
        out,
        "stampbook_db_pool_connections{{state=\"idle\"}} {idle}"
    );
    let _ = writeln!(
        out,
        "stampbook_db_pool_connections{{state=\"busy\"}} {}",
        size.saturating_sub(idle)
    );
    let open = sqlx::query!(
        // the kept per-stamp counts (see `health::refresh_counts`), not a scan of every open problem
        r#"select s.name, c.severity, sum(c.n)::bigint as "n!"
           from stamp_problem_counts c join stamps s on s.id = c.stamp_id
           group by 1, 2 order by 1, 2"#
    )
    .fetch_all(&state.pool)
    .await;
    match open {
        Ok(rows) => {
            let _ = writeln!(
                out,
                "# HELP stampbook_problems_open Open problems, by stamp and severity."
            );
            let _ = writeln!(out, "# TYPE stampbook_problems_open gauge");
            for r in rows {
                let _ = writeln!(
                    out,
                    "stampbook_problems_open{{stamp=\"{}\",severity=\"{}\"}} {}",
                    label(&r.name),
                    r.severity,
                    r.n
                );
            }
            spool_gauge(&state.pool, &mut out).await;
            render_queue(&state.pool, &mut out).await;
            render_up(&mut out, true);
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: database unreachable");
            render_up(&mut out, false);
        }
    }
    if let Ok((all, pending)) = crate::ingest::quarantine::counts(&state.pool).await {
        let _ = writeln!(
            out,
            "# HELP stampbook_quarantined_reports Refused reports kept in quarantine, by state."
        );
        let _ = writeln!(out, "# TYPE stampbook_quarantined_reports gauge");
        let _ = writeln!(
            out,
            "stampbook_quarantined_reports{{state=\"pending\"}} {pending}"
        );
        let _ = writeln!(
            out,
            "stampbook_quarantined_reports{{state=\"replayed\"}} {}",
            all - pending
        );
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}

fn render_up(out: &mut String, up: bool) {
    let _ = writeln!(
        out,
        "# HELP stampbook_up Whether this replica reached its database while being scraped."
    );
    let _ = writeln!(out, "# TYPE stampbook_up gauge");
    let _ = writeln!(out, "stampbook_up {}", u8::from(up));
}

/// How far the evaluators are behind: stamps waiting and the age of the oldest request (an
/// evaluator that stopped, or cannot keep up, shows here before problems go stale).
async fn render_queue(pool: &sqlx::PgPool, out: &mut String) {
    let queue = sqlx::query!(
        r#"select count(*) as "stamps!",
                  coalesce(extract(epoch from now() - min(requested_at)), 0)::float8 as "oldest_s!"
           from evaluation_queue"#
    )
    .fetch_one(pool)
    .await;
    let Ok(q) = queue else { return };
    let _ = writeln!(
        out,
        "# HELP stampbook_evaluation_queue_stamps Stamps waiting for rule evaluation."
    );
    let _ = writeln!(out, "# TYPE stampbook_evaluation_queue_stamps gauge");
    let _ = writeln!(out, "stampbook_evaluation_queue_stamps {}", q.stamps);
    let _ = writeln!(
        out,
        "# HELP stampbook_evaluation_queue_oldest_seconds Age of the oldest waiting evaluation request."
    );
    let _ = writeln!(
        out,
        "# TYPE stampbook_evaluation_queue_oldest_seconds gauge"
    );
    let _ = writeln!(
        out,
        "stampbook_evaluation_queue_oldest_seconds {:.3}",
        q.oldest_s.max(0.0)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.report_ingested("stored", Duration::from_millis(3));
        m.report_ingested("unchanged", Duration::from_millis(30));
        let mut out = String::new();
        m.render_counters(&mut out);
        assert!(out.contains("stampbook_reports_ingested_total{outcome=\"stored\"} 1"));
        assert!(out.contains("stampbook_ingest_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(out.contains("stampbook_ingest_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(out.contains("stampbook_ingest_duration_seconds_count 2"));
    }
}
