//! The API's paginated lists run on the list pool (`db::list_pool`): half the request pool, its
//! sessions set to keep one generic plan per statement (`db::LIST_SETTINGS`), so a list is
//! planned once per connection instead of on every request; `/metrics` shows it. The request
//! pool keeps PostgreSQL's own choice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use sqlx::PgPool;
use stampbook_server::auth::tokens;
use stampbook_server::config::ServeArgs;
use stampbook_server::startup::Application;

/// How often PostgreSQL planned the prepared statements of one session whose text contains
/// `needle`: (generic plans, custom plans).
async fn plans_of(conn: &mut sqlx::PgConnection, needle: &str) -> (i64, i64) {
    sqlx::query_as(
        "select coalesce(sum(generic_plans), 0)::bigint, coalesce(sum(custom_plans), 0)::bigint
         from pg_prepared_statements where statement like '%' || $1 || '%'",
    )
    .bind(needle)
    .fetch_one(conn)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_lists_run_on_their_own_pool_and_keep_one_generic_plan(pool: PgPool) {
    common::install_crypto();
    let requests = stampbook_server::db::pool_with(pool.connect_options().as_ref().clone(), 8);
    let app = Application::build(ServeArgs::for_tests(), requests.clone()).unwrap();
    let state = app.state();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let admin = tokens::create(&pool, "admin", "admin", None, "test")
        .await
        .unwrap()
        .token;
    let http = reqwest::Client::new();
    let put = http
        .put(format!("{base}/api/v1/inventory"))
        .bearer_auth(&admin)
        .json(&common::spec_document())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);

    let lists = state.reads.lists();
    assert_eq!(lists.options().get_max_connections(), 4, "half of 8");
    // one request at a time: the list pool opens one connection and runs every list on it, more
    // than the five runs after which PostgreSQL's default would consider a generic plan
    for _ in 0..7 {
        for path in [
            "/api/v1/hosts?limit=5",
            "/api/v1/problems?stamp=ams-01&limit=5",
        ] {
            let r = http
                .get(format!("{base}{path}"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
        }
    }
    // every connection the list pool opened (a request may find the previous one's connection
    // not returned yet): their sessions' settings, and how their statements were planned
    // (a connection goes back to its pool after the response is sent: wait until all are back,
    // or acquiring them below could open a new one instead)
    let started = std::time::Instant::now();
    while lists.num_idle() < lists.size() as usize
        && started.elapsed() < std::time::Duration::from_secs(5)
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let opened = lists.size();
    assert!((1..=4).contains(&opened), "the lists ran on the list pool");
    let mut held = Vec::new();
    for _ in 0..opened {
        held.push(lists.acquire().await.unwrap());
    }
    let mut plans = [(0, 0), (0, 0)];
    for conn in &mut held {
        let mode: String = sqlx::query_scalar("show plan_cache_mode")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(mode, "force_generic_plan");
        let workers: String = sqlx::query_scalar("show max_parallel_workers_per_gather")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(workers, "0");
        for (i, needle) in ["order by h.fqdn", "order by p.stamp_id, p.id desc"]
            .iter()
            .enumerate()
        {
            let (generic, custom) = plans_of(conn, needle).await;
            plans[i].0 += generic;
            plans[i].1 += custom;
        }
    }
    // planned once a connection, then kept: never a custom plan
    for (generic, custom) in plans {
        assert_eq!(custom, 0, "custom plans on the list pool: {plans:?}");
        assert_eq!(
            generic, 7,
            "a generic plan for each of the 7 runs: {plans:?}"
        );
    }
    drop(held);

    // the request pool keeps PostgreSQL's own choice
    let mut conn = state.reads.pool().acquire().await.unwrap();
    let mode: String = sqlx::query_scalar("show plan_cache_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(mode, "auto");
    drop(conn);

    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // the list pool's connections, idle or (just given back) busy
    let gauge = |state: &str| -> u32 {
        let prefix = format!("stampbook_db_list_pool_connections{{state=\"{state}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {prefix}in {metrics}"))
            .parse()
            .unwrap()
    };
    assert_eq!(gauge("idle") + gauge("busy"), opened, "{metrics}");
}
