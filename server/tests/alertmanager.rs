//! Alertmanager as a sink, against a real Prometheus Alertmanager (Debian's
//! `prometheus-alertmanager`, fetched by `deploy/alertmanager`; set STAMPBOOK_ALERTMANAGER to its
//! path, as ./deploy/test does) started here on 127.0.0.1 with a temporary configuration and
//! storage: open problems appear as alerts with their labels, resolve there, come back after
//! Alertmanager restarts, and the replica's own loop sends them without being asked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestApp, spawn_with, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_server::alertmanager::sink::{self, Sink};
use stampbook_server::config::ServeArgs;
use stampbook_server::metrics::Metrics;
use stampbook_server::rules::engine;
use stampbook_server::startup::Application;

fn alertmanager_bin() -> PathBuf {
    common::debian_tool(
        "STAMPBOOK_ALERTMANAGER",
        "prometheus-alertmanager",
        "deploy/alertmanager",
    )
}

/// A real Alertmanager on 127.0.0.1, stopped when dropped.
struct Alertmanager {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Alertmanager {
    async fn start() -> Alertmanager {
        common::install_crypto();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("alertmanager.yml"),
            "route:\n  receiver: noc\n  group_wait: 1s\nreceivers:\n  - name: noc\n",
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut am = Alertmanager {
            dir,
            port,
            child: None,
        };
        am.run().await;
        am
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the process (same port, same storage) and waits until it answers ready.
    async fn run(&mut self) {
        let d = self.dir.path();
        let child = Command::new(alertmanager_bin())
            .arg(format!(
                "--config.file={}",
                d.join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", d.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            // no cluster: nothing listens beyond the web port
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("alertmanager.log")).unwrap())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let ready = format!("{}/-/ready", self.url());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if reqwest::get(&ready)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "alertmanager did not get ready (deploy/alertmanager puts what it needs in place):\n{}",
                std::fs::read_to_string(d.join("alertmanager.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The alerts it shows as active (what a NOC's Alertmanager UI lists).
    async fn alerts(&self) -> Vec<Value> {
        let r = reqwest::get(format!("{}/api/v2/alerts", self.url()))
            .await
            .unwrap();
        assert!(r.status().is_success());
        r.json().await.unwrap()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        self.stop();
    }
}

fn settings(am: &Alertmanager) -> ServeArgs {
    ServeArgs {
        alertmanager_urls: vec![am.url().parse().unwrap()],
        // Alertmanager listens on loopback here, which stampbook may not reach by default
        webhook_allow_cidrs: vec!["127.0.0.0/8".parse().unwrap()],
        public_url: Some("https://stampbook.example.net".parse().unwrap()),
        ..ServeArgs::for_tests()
    }
}

/// Retiring ams-01 makes its plan raise `plan.stamp_missing`.
async fn retire_ams01(app: &TestApp) {
    let r = app
        .send_json(
            Method::DELETE,
            "/api/v1/stamps/ams-01",
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
}

async fn sent_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from alertmanager_alerts")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn open_problems_appear_in_alertmanager_resolve_there_and_survive_its_restart(pool: PgPool) {
    let mut am = Alertmanager::start().await;
    let settings = settings(&am);
    let app = spawn_with(pool.clone(), settings.clone()).await;
    app.put_inventory(&spec_document()).await;
    retire_ams01(&app).await;
    engine::evaluate_queued(&pool).await.unwrap();
    let sink = Sink::from_settings(&settings).unwrap().unwrap();
    let metrics = Metrics::default();

    let round = sink::sync_once(&pool, &sink, &metrics).await.unwrap();
    assert_eq!(
        (round.ran, round.firing, round.resolved, round.taken),
        (true, 1, 0, true)
    );
    let alerts = am.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["labels"]["alertname"], "plan.stamp_missing");
    assert_eq!(a["labels"]["rule"], "plan.stamp_missing");
    assert_eq!(a["labels"]["severity"], "critical");
    assert_eq!(a["labels"]["stamp"], "ams-01");
    assert!(a["labels"]["plan"].is_string(), "{a}");
    assert!(a["labels"].get("host").is_none());
    assert!(!a["annotations"]["summary"].as_str().unwrap().is_empty());
    assert!(a["annotations"]["description"].is_string());
    let id: i64 = sqlx::query_scalar("select id from problems where resolved_at is null")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        a["generatorURL"],
        format!("https://stampbook.example.net/problems?stamp=ams-01&state=all#p{id}")
    );
    assert_eq!(a["status"]["state"], "active");
    let ends = chrono::DateTime::parse_from_rfc3339(a["endsAt"].as_str().unwrap()).unwrap();
    let ahead = ends.signed_duration_since(chrono::Utc::now()).num_seconds();
    assert!(
        (200..=240).contains(&ahead),
        "endsAt four 60 s intervals ahead: {ahead} s"
    );

    // sent within the interval: nothing is due
    let round = sink::sync_once(&pool, &sink, &metrics).await.unwrap();
    assert_eq!((round.firing, round.resolved), (0, 0));

    // Alertmanager keeps alerts in memory: after a restart it has none until stampbook sends
    // again, which it does once the interval has passed (aged here instead of waited for);
    // while it is down the round fails, counts the failure, and keeps the alert due
    am.stop();
    sqlx::query("update alertmanager_alerts set sent_at = sent_at - interval '61 seconds'")
        .execute(&pool)
        .await
        .unwrap();
    let round = sink::sync_once(&pool, &sink, &metrics).await.unwrap();
    assert_eq!((round.firing, round.taken), (1, false));
    am.run().await;
    assert!(
        am.alerts().await.is_empty(),
        "a restarted Alertmanager forgot the alert"
    );
    let round = sink::sync_once(&pool, &sink, &metrics).await.unwrap();
    assert_eq!((round.firing, round.taken), (1, true));
    let alerts = am.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["labels"]["alertname"], "plan.stamp_missing");
    let mut text = String::new();
    metrics.render_counters(&mut text);
    assert!(
        text.contains("stampbook_alertmanager_alerts_total{result=\"sent\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("stampbook_alertmanager_alerts_total{result=\"failed\"} 1"),
        "{text}"
    );

    // deleting the plan resolves the problem: the alert is sent ended with the labels it fired
    // with (the plan among them, though the problem no longer names it), and leaves the list
    let plan = alerts[0]["labels"]["plan"].as_str().unwrap();
    let r = app
        .send_json(
            Method::DELETE,
            &format!("/api/v1/plans/{plan}"),
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    engine::evaluate_queued(&pool).await.unwrap();
    let open: i64 = sqlx::query_scalar("select count(*) from problems where resolved_at is null")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(open, 0);
    let round = sink::sync_once(&pool, &sink, &metrics).await.unwrap();
    assert_eq!((round.firing, round.resolved, round.taken), (0, 1, true));
    assert!(am.alerts().await.is_empty(), "resolved in Alertmanager");
    assert_eq!(sent_rows(&pool).await, 0, "nothing left to end");
    let round = sink::sync_once(&pool, &sink, &metrics).await.unwrap();
    assert_eq!((round.firing, round.resolved), (0, 0));
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_replica_sends_open_problems_to_alertmanager_on_its_own(pool: PgPool) {
    let am = Alertmanager::start().await;
    let settings = ServeArgs {
        no_workers: false,
        ..settings(&am)
    };
    let app = spawn_with(pool.clone(), settings).await;
    app.put_inventory(&spec_document()).await;
    retire_ams01(&app).await;
    // the replica's evaluator and sink loop do the rest
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let alerts = am.alerts().await;
        if let Some(a) = alerts.first() {
            assert_eq!(a["labels"]["alertname"], "plan.stamp_missing");
            break;
        }
        assert!(Instant::now() < deadline, "no alert reached Alertmanager");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    let text = metrics.text().await.unwrap();
    assert!(
        !text.contains("stampbook_alertmanager_alerts_total{result=\"sent\"} 0"),
        "{text}"
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_alertmanager_outside_the_allow_list_stops_the_start(pool: PgPool) {
    let settings = ServeArgs {
        alertmanager_urls: vec!["http://127.0.0.1:9093".parse().unwrap()],
        ..ServeArgs::for_tests()
    };
    let refused = Sink::from_settings(&settings).unwrap_err().to_string();
    assert!(
        refused.contains("STAMPBOOK_WEBHOOK_ALLOW_CIDRS"),
        "{refused}"
    );
    assert!(Application::build(settings, pool).is_err());
    let metadata = ServeArgs {
        alertmanager_urls: vec!["http://169.254.169.254/".parse().unwrap()],
        webhook_allow_cidrs: vec!["169.254.0.0/16".parse().unwrap()],
        ..ServeArgs::for_tests()
    };
    assert!(
        Sink::from_settings(&metadata).is_err(),
        "metadata stays refused"
    );
}
