//! What Prometheus reads from stampbook passes Prometheus's own checker: `/metrics` after real
//! traffic (`promtool check metrics`), and the shipped alert rules with their unit tests
//! (`promtool check rules`, `promtool test rules`). `deploy/promtool` fetches the checker; set
//! STAMPBOOK_PROMTOOL to its path (./deploy/test does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sqlx::PgPool;

fn promtool() -> PathBuf {
    common::debian_tool("STAMPBOOK_PROMTOOL", "promtool", "deploy/promtool")
}

fn run(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new(promtool())
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn metrics_after_real_traffic_pass_promtool_check_metrics(pool: PgPool) {
    let app = common::spawn(pool).await;
    common::simulate_fleet(&app, 1, 10).await;
    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    for family in [
        "stampbook_reports_ingested_total",
        "stampbook_problems_open",
        "stampbook_evaluation_queue_oldest_seconds",
        "stampbook_up 1",
        // the scrape itself is being answered, as a probe (the evaluator does not give way to it)
        "stampbook_http_requests_in_flight{kind=\"probe\"} 1",
        "stampbook_http_requests_in_flight{kind=\"other\"} 0",
        "stampbook_http_requests_in_flight{kind=\"report\"} 0",
        "stampbook_evaluation_rest_seconds_total",
    ] {
        assert!(text.contains(family), "{family} in /metrics:\n{text}");
    }
    let (ok, lint) = run(&["check", "metrics"], Some(&text));
    assert!(
        ok && lint.trim().is_empty(),
        "promtool check metrics:\n{lint}\n---\n{text}"
    );
}

#[test]
fn shipped_alert_rules_are_valid_and_their_unit_tests_pass() {
    let (ok, out) = run(&["check", "rules", "alerts.yml"], None);
    assert!(ok, "promtool check rules:\n{out}");
    let (ok, out) = run(&["test", "rules", "alerts_test.yml"], None);
    assert!(ok, "promtool test rules:\n{out}");
}

#[test]
fn grafana_dashboard_is_json_and_asks_only_for_metrics_the_server_exports() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/stampbook.json");
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let exported = [
        "stampbook_up",
        "stampbook_reports_ingested_total",
        "stampbook_ingest_duration_seconds_bucket",
        "stampbook_rule_run_duration_seconds_bucket",
        "stampbook_evaluation_queue_stamps",
        "stampbook_evaluation_queue_oldest_seconds",
        "stampbook_problems_open",
        "stampbook_webhook_deliveries_total",
        "stampbook_db_pool_connections",
    ];
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 8);
    for target in panels.iter().flat_map(|p| p["targets"].as_array().unwrap()) {
        let expr = target["expr"].as_str().unwrap();
        let names: Vec<&str> = expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("stampbook_"))
            .collect();
        assert!(!names.is_empty(), "{expr}");
        for n in names {
            assert!(exported.contains(&n), "{n} is not exported by /metrics");
        }
    }
}
