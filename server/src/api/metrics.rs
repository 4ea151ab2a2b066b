//! `GET /metrics`: the Prometheus text format of this replica's counters (kept in
//! [`crate::metrics`]) and of the gauges read from the database at scrape time.

use std::fmt::Write;

use actix_web::{HttpResponse, web};

use crate::state::AppState;

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

/// A pool's connections as a gauge by state (idle, busy).
fn pool_gauge(out: &mut String, name: &str, help: &str, pool: &sqlx::PgPool) {
    let size = pool.size();
    let idle = pool.num_idle() as u32;
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    let _ = writeln!(out, "{name}{{state=\"idle\"}} {idle}");
    let _ = writeln!(
        out,
        "{name}{{state=\"busy\"}} {}",
        size.saturating_sub(idle)
    );
}

/// `GET /metrics`: the Prometheus text format. Unauthenticated, like `/healthz`: it carries
/// counts, never names of hosts or tokens (stamp names are labels).
#[utoipa::path(get, path = "/metrics", tag = "system", operation_id = "metrics",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain; version=0.0.4; charset=utf-8")))]
pub async fn handler(state: web::Data<AppState>) -> HttpResponse {
    let mut out = String::with_capacity(4096);
    state.metrics.render_counters(&mut out);
    state.reads.render(&mut out);
    state.token_cache.render(&mut out);
    pool_gauge(
        &mut out,
        "stampbook_db_pool_connections",
        "Connections of the database pool, by state.",
        &state.pool,
    );
    pool_gauge(
        &mut out,
        "stampbook_db_list_pool_connections",
        "Connections of the pool the API's paginated lists run on (one generic plan per statement), by state.",
        state.reads.primary_list_pool(),
    );
    pool_gauge(
        &mut out,
        "stampbook_db_background_pool_connections",
        "Connections of the background workers' pool (evaluator, deliveries, retention), by state.",
        &state.background_pool,
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
