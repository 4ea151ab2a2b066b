//! Reads on a real PostgreSQL hot standby. `deploy/replica` makes a primary and a standby
//! streaming from it (`pg_basebackup -R`) in a temporary directory, on ports from
//! STAMPBOOK_REPLICA_TEST_PORT (primary; the standby takes the next) or free ones. The server runs
//! with `DATABASE_URL` on the primary and `STAMPBOOK_READ_DATABASE_URL` on the standby, and the
//! test shows: a report ingested over HTTP is listed by the standby; every read route answers from
//! it (a hot standby refuses writes, so none of them writes); a standby that stops replaying is
//! left for the primary once it lags beyond the bound, and used again once it caught up; a
//! standby that stops is left for the primary, the read it failed answered from the primary; a
//! promoted standby is left too. The pair is removed when the test ends, failed or not (a drop
//! guard). About 20 s; every wait is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::TestApp;
use reqwest::Method;
use serde_json::{Value, json};
use stampbook_server::config::{Secret, ServeArgs};

/// A primary and its standby, removed on drop.
struct Pair {
    dir: PathBuf,
    /// Deleted after the clusters are (fields drop after `drop`).
    _tmp: Option<tempfile::TempDir>,
    primary_url: String,
    standby_url: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/replica")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Pair {
    /// Makes the pair; when a port is taken meanwhile (a client's ephemeral port can be any of
    /// them), tries again on free ports, at most three times.
    fn start() -> Pair {
        let tmp = tempfile::tempdir().unwrap();
        // the clusters run as `postgres` when the test runs as root: it must enter the directory
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let given = std::env::var("STAMPBOOK_REPLICA_TEST_PORT").ok().map(|p| {
            p.parse::<u16>()
                .expect("STAMPBOOK_REPLICA_TEST_PORT is a port")
        });
        let mut failures = String::new();
        for attempt in 0..3 {
            let (primary, standby) = match given {
                Some(p) if attempt == 0 => (p, p + 1),
                _ => (free_port(), free_port()),
            };
            let mut pair = Pair {
                dir: tmp.path().join(format!("pair-{attempt}")),
                _tmp: None,
                primary_url: String::new(),
                standby_url: String::new(),
            };
            let out = Command::new(script())
                .arg("--dir")
                .arg(&pair.dir)
                .arg("start")
                .env("STAMPBOOK_REPLICA_PRIMARY_PORT", primary.to_string())
                .env("STAMPBOOK_REPLICA_STANDBY_PORT", standby.to_string())
                .env("STAMPBOOK_PG_DATABASE", "stampbook")
                .output()
                .unwrap();
            if !out.status.success() {
                failures.push_str(&String::from_utf8_lossy(&out.stderr));
                continue; // dropping `pair` removes what was made
            }
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some(u) = line.strip_prefix("DATABASE_URL=") {
                    pair.primary_url = u.to_owned();
                } else if let Some(u) = line.strip_prefix("STAMPBOOK_READ_DATABASE_URL=") {
                    pair.standby_url = u.to_owned();
                }
            }
            assert!(!pair.primary_url.is_empty() && !pair.standby_url.is_empty());
            pair._tmp = Some(tmp);
            return pair;
        }
        panic!("deploy/replica start failed three times:\n{failures}");
    }

    fn run(&self, cmd: &str) {
        let out = Command::new(script())
            .arg("--dir")
            .arg(&self.dir)
            .arg(cmd)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "deploy/replica {cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .arg("--dir")
            .arg(&self.dir)
            .arg("remove")
            .output();
    }
}

fn report(fqdn: &str) -> Value {
    json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": Utc::now(),
        "host": {"fqdn": fqdn, "stamp": "ams-01", "roles": ["hyperv_host"],
                 "vitals": {"cpu_cores": 8, "memory_mb": 16384}},
        "routes": [{"destination": "0.0.0.0/0", "next_hop": "10.0.0.1", "metric": 10}],
        "services": [{"name": "vmms", "state": "running"}]
    })
}

async fn metrics(app: &TestApp) -> String {
    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// The value of one sample (`name` with its labels, as printed).
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {name} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

const ON_STANDBY: &str = "stampbook_read_requests_total{database=\"standby\"}";
const ON_PRIMARY: &str = "stampbook_read_requests_total{database=\"primary\"}";

/// Reads served by (the standby, the primary) so far.
async fn served(app: &TestApp) -> (f64, f64) {
    let m = metrics(app).await;
    (sample(&m, ON_STANDBY), sample(&m, ON_PRIMARY))
}

/// Waits, at most `within`, for `/metrics` to satisfy `ok`; returns that text.
async fn metrics_until(
    app: &TestApp,
    within: Duration,
    what: &str,
    ok: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + within;
    loop {
        let m = metrics(app).await;
        if ok(&m) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "not within {within:?}: {what}\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn hosts(app: &TestApp) -> Vec<String> {
    let r = app.get("/api/v1/hosts", &app.admin).await;
    assert_eq!(r.status(), 200, "GET /api/v1/hosts");
    let body: Value = r.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["fqdn"].as_str().unwrap().to_owned())
        .collect()
}

async fn standby_sql(pair: &Pair, sql: &'static str) {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(&pair.standby_url)
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
}

const BOUND_S: u64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_a_streaming_standby_and_fall_back_to_the_primary() {
    let started = Instant::now();
    let pair = Pair::start();
    eprintln!("primary and standby made in {:?}", started.elapsed());
    let primary = stampbook_server::db::pool(&pair.primary_url, 8).unwrap();
    stampbook_server::db::migrate(&primary).await.unwrap();
    let mut settings = ServeArgs::for_tests();
    settings.open_dashboard = true;
    settings.reads.read_database_url = Some(Secret::new(pair.standby_url.clone()));
    settings.reads.read_max_lag_s = BOUND_S;
    settings.reads.read_probe_interval_s = 1;
    let app = common::spawn_with(primary.clone(), settings).await;
    assert_eq!(
        app.put_inventory(&common::spec_document()).await.status(),
        200
    );
    let collector = app.token("collector", "collector", None).await;
    eprintln!("migrated and serving after {:?}", started.elapsed());

    // 1. the standby serves reads once the probe found it caught up
    let m = metrics_until(&app, Duration::from_secs(20), "the standby in use", |m| {
        sample(m, "stampbook_read_replica_in_use") == 1.0
    })
    .await;
    assert_eq!(sample(&m, "stampbook_read_replica_up"), 1.0);
    assert_eq!(
        sample(&m, "stampbook_read_replica_max_lag_seconds"),
        BOUND_S as f64
    );
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/reports",
            &collector,
            &report("hv01.ams-01.example.net"),
        )
        .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    // the report is on the primary; the list shows it once the standby replayed it
    let deadline = Instant::now() + Duration::from_secs(20);
    while !hosts(&app)
        .await
        .contains(&"hv01.ams-01.example.net".to_owned())
    {
        assert!(
            Instant::now() < deadline,
            "the standby never listed the ingested host"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = served(&app).await;
    assert_eq!(hosts(&app).await, ["hv01.ams-01.example.net"]);
    let after = served(&app).await;
    assert_eq!(
        after,
        (before.0 + 1.0, before.1),
        "the standby served the list"
    );

    // 2. every read route answers from the standby (which refuses any write)
    evaluate_on_primary(&app).await;
    every_read_route_answers_from_the_standby(&app).await;

    // 3. a standby that stops replaying: what it serves is visibly behind, until it lags more
    //    than the bound and reads go to the primary, which has everything
    standby_sql(&pair, "select pg_wal_replay_pause()").await;
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/reports",
            &collector,
            &report("hv02.ams-01.example.net"),
        )
        .await;
    assert_eq!(r.status(), 202);
    let before = served(&app).await;
    let listed = hosts(&app).await;
    let after = served(&app).await;
    // the probe found it caught up less than a second before the pause: within the bound yet
    assert_eq!(
        after,
        (before.0 + 1.0, before.1),
        "the paused standby, still within the bound, served it"
    );
    assert_eq!(
        listed,
        ["hv01.ams-01.example.net"],
        "the paused standby does not have hv02 yet"
    );
    let m = metrics_until(
        &app,
        Duration::from_secs(BOUND_S + 15),
        "reads back on the primary",
        |m| sample(m, "stampbook_read_replica_in_use") == 0.0,
    )
    .await;
    assert_eq!(
        sample(&m, "stampbook_read_replica_up"),
        1.0,
        "a lagging standby is still up"
    );
    assert!(
        sample(&m, "stampbook_read_replica_lag_seconds") > BOUND_S as f64,
        "{m}"
    );
    let before = served(&app).await;
    assert_eq!(
        hosts(&app).await,
        ["hv01.ams-01.example.net", "hv02.ams-01.example.net"],
        "the primary has hv02"
    );
    assert_eq!(served(&app).await, (before.0, before.1 + 1.0));

    // 4. replaying again, it catches up and serves again
    standby_sql(&pair, "select pg_wal_replay_resume()").await;
    let m = metrics_until(
        &app,
        Duration::from_secs(20),
        "the standby in use again",
        |m| sample(m, "stampbook_read_replica_in_use") == 1.0,
    )
    .await;
    assert!(
        sample(&m, "stampbook_read_replica_lag_seconds") <= BOUND_S as f64,
        "{m}"
    );
    let before = served(&app).await;
    assert_eq!(hosts(&app).await.len(), 2);
    assert_eq!(served(&app).await, (before.0 + 1.0, before.1));

    // 5. the standby goes away: within the probe interval reads are the primary's, and answer
    pair.run("stop-standby");
    let stopped = Instant::now();
    // a read sent to it before its next check fails there and is answered from the primary
    let before = served(&app).await;
    assert_eq!(
        hosts(&app).await.len(),
        2,
        "answered while the standby is away"
    );
    let after = served(&app).await;
    assert_eq!(
        after,
        (before.0 + 1.0, before.1 + 1.0),
        "tried on the standby, answered by the primary"
    );
    eprintln!(
        "the first read after the standby stopped took {:?}",
        stopped.elapsed()
    );
    let m = metrics_until(&app, Duration::from_secs(20), "the standby down", |m| {
        sample(m, "stampbook_read_replica_up") == 0.0
    })
    .await;
    eprintln!(
        "fallback after the standby stopped: {:?}",
        stopped.elapsed()
    );
    assert_eq!(sample(&m, "stampbook_read_replica_in_use"), 0.0);
    assert!(m.contains("stampbook_read_replica_lag_seconds NaN"), "{m}");
    check_metrics(&m);
    let before = served(&app).await;
    assert_eq!(hosts(&app).await.len(), 2);
    for path in ["/api/v1/stamps", "/api/v1/problems", "/api/v1/certificates"] {
        assert_eq!(app.get(path, &app.admin).await.status(), 200, "{path}");
    }
    let page = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200, "the overview page");
    assert_eq!(served(&app).await, (before.0, before.1 + 5.0));
    // writes never depended on the standby
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/reports",
            &collector,
            &report("hv03.ams-01.example.net"),
        )
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(hosts(&app).await.len(), 3);

    // 6. back: the probe finds it and reads return to it
    pair.run("start-standby");
    metrics_until(
        &app,
        Duration::from_secs(25),
        "the standby in use after its restart",
        |m| sample(m, "stampbook_read_replica_in_use") == 1.0,
    )
    .await;
    let before = served(&app).await;
    assert_eq!(
        hosts(&app).await.len(),
        3,
        "the restarted standby caught up"
    );
    assert_eq!(served(&app).await, (before.0 + 1.0, before.1));

    // 7. the standby is promoted (a failover done elsewhere): it no longer follows this primary,
    //    so reads leave it
    standby_sql(&pair, "select pg_promote()").await;
    let m = metrics_until(
        &app,
        Duration::from_secs(20),
        "the promoted standby left",
        |m| sample(m, "stampbook_read_replica_in_use") == 0.0,
    )
    .await;
    assert_eq!(sample(&m, "stampbook_read_replica_up"), 0.0, "{m}");
    let before = served(&app).await;
    assert_eq!(hosts(&app).await.len(), 3);
    assert_eq!(served(&app).await, (before.0, before.1 + 1.0));
    eprintln!("the whole test took {:?}", started.elapsed());
}

/// Opens problems (the evaluator writes, on the primary) so that problem routes have rows.
async fn evaluate_on_primary(app: &TestApp) {
    stampbook_server::rules::engine::evaluate_all(&app.pool)
        .await
        .unwrap();
}

async fn every_read_route_answers_from_the_standby(app: &TestApp) {
    // the evaluator's problems reach the standby before the routes are asked
    let problem: Option<i64> = sqlx::query_scalar("select max(id) from problems")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let problem = problem.expect("the evaluation opened a problem");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = app
            .get(&format!("/api/v1/problems/{problem}"), &app.admin)
            .await;
        if r.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "problem {problem} never reached the standby"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let host = "hv01.ams-01.example.net";
    let api = [
        "/api/v1/stamps".to_owned(),
        "/api/v1/stamps/ams-01".into(),
        "/api/v1/stamps/ams-01/health".into(),
        "/api/v1/stamps/ams-01/networks".into(),
        "/api/v1/stamps/ams-01/networks/mgmt".into(),
        "/api/v1/stamps/ams-01/scale-units".into(),
        "/api/v1/plans".into(),
        "/api/v1/plans/gold-ams".into(),
        "/api/v1/capacity".into(),
        "/api/v1/capacity/history?stamp=ams-01&step=hour".into(),
        "/api/v1/capacity/forecast?stamp=ams-01".into(),
        "/api/v1/placement?vcpus=4&memory_gb=8&storage_gb=100".into(),
        "/api/v1/quarantine".into(),
        "/api/v1/hosts".into(),
        format!("/api/v1/hosts/{host}"),
        format!("/api/v1/hosts/{host}/history"),
        "/api/v1/certificates".into(),
        "/api/v1/problems".into(),
        format!("/api/v1/problems/{problem}"),
        "/api/v1/audit".into(),
        "/api/v1/webhooks".into(),
    ];
    let pages = [
        "/".to_owned(),
        "/stamps/ams-01".into(),
        format!("/hosts/{host}"),
        "/plans".into(),
        "/capacity".into(),
        "/capacity.csv".into(),
        "/certificates".into(),
        "/quarantine".into(),
        "/problems".into(),
    ];
    let before = served(app).await;
    for path in &api {
        let r = app.get(path, &app.admin).await;
        assert_eq!(r.status(), 200, "GET {path}: {}", r.text().await.unwrap());
    }
    let csv = app
        .http
        .get(app.url("/api/v1/hosts"))
        .bearer_auth(&app.admin)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200, "the hosts export");
    for path in &pages {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
    }
    let after = served(app).await;
    assert_eq!(
        after,
        (before.0 + (api.len() + 1 + pages.len()) as f64, before.1),
        "every read was the standby's"
    );
    // the page a dashboard form redirects to after its write reads the primary
    let r = app
        .http
        .get(app.url(&format!("/problems?acked={problem}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        served(app).await,
        (after.0, after.1 + 1.0),
        "read on the primary"
    );
}

fn check_metrics(text: &str) {
    let promtool = common::debian_tool("STAMPBOOK_PROMTOOL", "promtool", "deploy/promtool");
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
