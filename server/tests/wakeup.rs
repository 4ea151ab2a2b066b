//! Evaluation is woken by the database, not by the caller: a change made through one replica is
//! evaluated by another replica's evaluator promptly, not at its next timer tick.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use stampbook_server::config::ServeArgs;
use stampbook_server::startup::Application;

/// Polls `GET /api/v1/problems?rule=…` until an open one exists or `deadline` passes.
async fn wait_for_open(app: &common::TestApp, rule: &str, deadline: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < deadline {
        let page = app
            .get_json(&format!("/api/v1/problems?rule={rule}&state=open"))
            .await;
        if page["items"].as_array().is_some_and(|i| !i.is_empty()) {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[sqlx::test(migrations = "../migrations")]
async fn a_change_through_one_replica_is_evaluated_by_another_within_a_second(pool: PgPool) {
    // replica A serves requests only; replica B evaluates, with a timer far away (an hour)
    let a = common::spawn(pool.clone()).await;
    let b_pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .unwrap();
    let mut b_settings = ServeArgs::for_tests();
    b_settings.no_workers = false;
    b_settings.evaluation_interval_s = 3600;
    common::install_crypto();
    let b = Application::build(b_settings, b_pool).expect("replica B builds");
    tokio::spawn(b.run_until_stopped());

    let r = a.put_inventory(&common::spec_document()).await;
    assert!(r.status().is_success(), "inventory applied: {}", r.status());
    // B's evaluator takes what the inventory queued (the queue empties) without being told by A
    let start = Instant::now();
    loop {
        let queued: i64 = sqlx::query_scalar("select count(*) from evaluation_queue")
            .fetch_one(&pool)
            .await
            .unwrap();
        if queued == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "queue never drained"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // retiring the stamp through A leaves its plan on a retired stamp: B must notice now
    let r = a
        .http
        .delete(a.url("/api/v1/stamps/ams-01"))
        .bearer_auth(&a.admin)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "stamp retired: {}", r.status());
    let took = wait_for_open(&a, "plan.stamp_missing", Duration::from_secs(5))
        .await
        .expect("plan.stamp_missing opened by the other replica's evaluator");
    println!(
        "re-evaluated by the other replica {} ms after the change",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(1), "took {took:?}");
}
