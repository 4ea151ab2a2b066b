//! Background work (the rule evaluator, deliveries, retention) has its own database pool: a
//! server whose background pool is all taken still answers requests at once, and the evaluator
//! still evaluates while every request connection is taken.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPoolOptions, Postgres};
use stampbook_server::auth::tokens;
use stampbook_server::config::ServeArgs;
use stampbook_server::startup::Application;

/// Takes every connection `pool` will give within half a second (what long evaluations do).
async fn hold_all(pool: &PgPool) -> Vec<PoolConnection<Postgres>> {
    let mut held = Vec::new();
    while let Ok(Ok(c)) = tokio::time::timeout(Duration::from_millis(500), pool.acquire()).await {
        held.push(c);
    }
    held
}

async fn queued(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from evaluation_queue")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Waits (at most 20 s) until the evaluator has drained the queue.
async fn drained(pool: &PgPool) {
    let started = Instant::now();
    while queued(pool).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the evaluator never drained the queue"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Test settings with the background workers on, the evaluator's timer at an hour (only what
/// a test queues is evaluated).
fn with_workers() -> ServeArgs {
    let mut settings = ServeArgs::for_tests();
    settings.no_workers = false;
    settings.evaluation_interval_s = 3600;
    settings
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn requests_and_the_evaluator_do_not_wait_for_each_others_connections(pool: PgPool) {
    let requests = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .unwrap();
    let mut settings = with_workers();
    settings.db_background_pool_size = Some(2);
    common::install_crypto();
    let app = Application::build(settings, requests.clone()).expect("application builds");
    let state = app.state();
    assert_eq!(state.background_pool.options().get_max_connections(), 2);
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let admin = tokens::create(&pool, "admin", "admin", None, "test")
        .await
        .unwrap()
        .token;
    let http = reqwest::Client::new();

    // the evaluator's first (timer) run over the empty database is done
    tokio::time::sleep(Duration::from_secs(1)).await;
    // every background connection taken (the evaluator's LISTEN holds one of them already)
    let held = hold_all(&state.background_pool).await;
    assert_eq!(state.background_pool.size(), 2);
    assert_eq!(state.background_pool.num_idle(), 0);
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("stampbook_db_background_pool_connections{state=\"busy\"} 2"),
        "{metrics}"
    );
    // requests are answered at once, a change that queues an evaluation included
    let started = Instant::now();
    let r = http
        .put(format!("{base}/api/v1/inventory"))
        .bearer_auth(&admin)
        .json(&common::spec_document())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "inventory applied: {}", r.status());
    let answers = futures_util::future::join_all((0..16).map(|_| {
        http.get(format!("{base}/api/v1/hosts?limit=50"))
            .bearer_auth(&admin)
            .send()
    }))
    .await;
    for a in answers {
        assert_eq!(a.unwrap().status(), 200);
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "requests waited for background connections: {took:?}"
    );
    // nothing was evaluated: the evaluator has no connection
    assert!(queued(&pool).await > 0, "the inventory queued its stamps");

    // the other way round: every request connection taken, the background ones given back;
    // the evaluator drains the queue on its own pool
    let held_requests = hold_all(&requests).await;
    assert_eq!(requests.num_idle(), 0);
    drop(held);
    drained(&pool).await;
    let evaluated: i64 = sqlx::query_scalar("select count(*) from stamp_status")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(evaluated > 0, "the stamps were evaluated");
    drop(held_requests);
}

/// The threads of this process whose name starts with `prefix` (Linux: `/proc/self/task`).
#[cfg(target_os = "linux")]
fn threads(prefix: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .map(|t| t.path())
        .filter(|t| std::fs::read_to_string(t.join("comm")).is_ok_and(|c| c.starts_with(prefix)))
        .collect()
}

/// Each such thread's nice value (`stat`, field 19).
#[cfg(target_os = "linux")]
fn nice_of_threads(prefix: &str) -> Vec<i32> {
    threads(prefix)
        .iter()
        .map(|t| {
            let stat = std::fs::read_to_string(t.join("stat")).unwrap();
            // fields after the command's closing parenthesis start at field 3 (state)
            let after = &stat[stat.rfind(')').unwrap() + 2..];
            after.split(' ').nth(19 - 3).unwrap().parse().unwrap()
        })
        .collect()
}

/// How often such threads have woken from a wait, together (`status`,
/// `voluntary_ctxt_switches`): an idle runtime's threads stay parked, a runtime that runs
/// tasks talking to the database wakes at every answer.
#[cfg(target_os = "linux")]
fn wakeups_of_threads(prefix: &str) -> u64 {
    threads(prefix)
        .iter()
        .filter_map(|t| {
            let status = std::fs::read_to_string(t.join("status")).ok()?;
            status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|n| n.trim().parse::<u64>().ok())
        })
        .sum()
}

#[cfg(target_os = "linux")]
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn background_work_runs_on_threads_of_lower_priority_than_requests(pool: PgPool) {
    let mut settings = with_workers();
    settings.background_nice = 7;
    let app = common::spawn_with(pool.clone(), settings).await;
    // the evaluator's first (timer) run over the empty database is done, its LISTEN waits
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = wakeups_of_threads("stampbook-backg");
    let r = app
        .http
        .put(app.url("/api/v1/inventory"))
        .bearer_auth(&app.admin)
        .json(&common::spec_document())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    // the evaluator, woken by what the inventory queued, evaluates it on the background threads
    drained(&pool).await;
    let woken = wakeups_of_threads("stampbook-backg") - before;
    assert!(
        woken >= 3,
        "the background threads woke {woken} times while the stamps were evaluated: the workers run elsewhere"
    );
    let background = nice_of_threads("stampbook-backg");
    assert!(!background.is_empty(), "no background threads");
    let requests = nice_of_threads("actix-server wo");
    assert!(!requests.is_empty(), "no HTTP worker threads");
    let base_nice = requests[0];
    assert!(requests.iter().all(|&n| n == base_nice), "{requests:?}");
    assert!(
        background.iter().all(|&n| n == (base_nice + 7).min(19)),
        "background {background:?}, requests {requests:?}"
    );
}

/// CPU time such threads have had, together (`schedstat`, first field, nanoseconds).
#[cfg(target_os = "linux")]
fn cpu_of_threads(prefix: &str) -> Duration {
    Duration::from_nanos(
        threads(prefix)
            .iter()
            .filter_map(|t| {
                let stat = std::fs::read_to_string(t.join("schedstat")).ok()?;
                stat.split(' ').next()?.parse::<u64>().ok()
            })
            .sum(),
    )
}

/// A report of `routes` routes: parsing, checking and storing it is the work, the body is read
/// in a moment.
fn report_with_routes(fqdn: &str, routes: usize) -> serde_json::Value {
    let routes: Vec<_> = (0..routes)
        .map(|i| {
            serde_json::json!({"destination": format!("10.{}.{}.0/24", i / 256, i % 256),
                               "next_hop": "10.0.0.1", "interface": "Management", "metric": 10 + i})
        })
        .collect();
    serde_json::json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": chrono::Utc::now(),
        "host": {"fqdn": fqdn, "stamp": "ams-01", "roles": ["hyperv_host"]},
        "routes": routes,
    })
}

#[cfg(target_os = "linux")]
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn reports_are_parsed_and_stored_on_the_background_threads(pool: PgPool) {
    reports_parse_on_background_threads(pool, with_workers()).await;
}

/// A replica without background workers (an API-only replica beside a worker one) still
/// parses reports at the background priority.
#[cfg(target_os = "linux")]
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn without_workers_reports_are_still_parsed_on_the_background_threads(pool: PgPool) {
    reports_parse_on_background_threads(pool, ServeArgs::for_tests()).await;
}

/// Posts 12 reports of 4,000 routes to a server made with `settings` and checks the
/// background threads did the parsing and storing, not the HTTP workers.
#[cfg(target_os = "linux")]
async fn reports_parse_on_background_threads(pool: PgPool, settings: ServeArgs) {
    let workers = !settings.no_workers;
    let app = common::spawn_with(pool.clone(), settings).await;
    let r = app.put_inventory(&common::spec_document()).await;
    assert!(r.status().is_success());
    if workers {
        drained(&pool).await;
    }
    let reports: Vec<_> = (0..12)
        .map(|i| report_with_routes(&format!("hv{i:02}.ams-01.example.net"), 4_000))
        .collect();
    let (background, requests) = (
        cpu_of_threads("stampbook-backg"),
        cpu_of_threads("actix-server wo"),
    );
    for report in &reports {
        let r = app
            .send_json(reqwest::Method::POST, "/api/v1/reports", &app.admin, report)
            .await;
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    }
    let background = cpu_of_threads("stampbook-backg") - background;
    let requests = cpu_of_threads("actix-server wo") - requests;
    let stored: i64 = sqlx::query_scalar("select count(*) from host_routes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 12 * 4_000, "every route stored");
    // the HTTP workers read each body and hand it over; the background threads parse, check
    // and store it (and evaluate what it changed)
    assert!(
        background > requests * 2,
        "background threads {background:?}, HTTP workers {requests:?}: reports are parsed on the HTTP workers"
    );
}

/// The server's pools skip sqlx's ping before every acquire (a round trip per statement), but a
/// connection that sat idle is still pinged first: one PostgreSQL closed meanwhile (a restart,
/// an administrator's `pg_terminate_backend`) is replaced, never handed to a request.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_connection_closed_while_idle_is_replaced_before_a_request_gets_it(pool: PgPool) {
    let server = stampbook_server::db::pool_with(pool.connect_options().as_ref().clone(), 2);
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&server)
        .await
        .unwrap();
    // the only connection the pool has, closed by the database while idle
    assert_eq!(server.size(), 1);
    let killed: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(killed);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let again: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&server)
        .await
        .expect("the dead connection was pinged, dropped and replaced");
    assert_ne!(again, pid);
}
