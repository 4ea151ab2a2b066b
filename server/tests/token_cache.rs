//! Bearer tokens answered from memory (`auth/token_cache.rs`): never once revoked or changed,
//! whether on this server, by the command line or behind its back in SQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{TestApp, assert_error, spawn};
use sqlx::PgPool;

/// Waits (at most 10 s) until the server hears the tokens' changes, and so may use memory.
async fn listening(app: &TestApp) {
    let started = Instant::now();
    while !app
        .metrics_text()
        .await
        .contains("stampbook_token_cache_listening 1")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the token listener never subscribed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Token lookups answered from memory so far.
async fn from_memory(app: &TestApp) -> u64 {
    let text = app.metrics_text().await;
    text.lines()
        .find_map(|l| l.strip_prefix("stampbook_token_lookups_total{answered=\"memory\"} "))
        .expect("the lookup counter")
        .parse()
        .unwrap()
}

/// Sends `path` with `token` until it answers `status`; how long that took (at most 2 s).
async fn answered_within(app: &TestApp, path: &str, token: &str, status: u16) -> Duration {
    let started = Instant::now();
    loop {
        if app.get(path, token).await.status() == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{path} still did not answer {status} after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn reader_served_from_memory(app: &TestApp) -> String {
    listening(app).await;
    let reader = app.token("reader", "read", None).await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/stamps", &reader).await.status(), 200);
    }
    assert!(from_memory(app).await >= 2, "the reader was not kept");
    reader
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_token_revoked_through_the_api_is_refused_by_the_very_next_request(pool: PgPool) {
    let app = spawn(pool).await;
    let reader = reader_served_from_memory(&app).await;
    // no notification will come: only the revoking server's own forgetting can refuse it
    sqlx::query("drop trigger tokens_notify_change on tokens")
        .execute(&app.pool)
        .await
        .unwrap();
    let r = app.delete("/api/v1/tokens/reader", &app.admin).await;
    assert_eq!(r.status(), 200);
    assert_error(
        app.get("/api/v1/stamps", &reader).await,
        401,
        "unauthorized",
        None,
    )
    .await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_token_revoked_by_another_process_is_refused_once_the_database_says_so(pool: PgPool) {
    let app = spawn(pool).await;
    let reader = reader_served_from_memory(&app).await;
    // what `stampbook-server token revoke` does, from its own process
    stampbook_server::auth::tokens::revoke(&app.pool, "reader", "cli")
        .await
        .unwrap();
    let took = answered_within(&app, "/api/v1/stamps", &reader, 401).await;
    eprintln!(
        "refused {} ms after the revocation committed",
        took.as_millis()
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_token_changed_in_sql_behind_the_servers_back_is_heard_too(pool: PgPool) {
    let app = spawn(pool).await;
    let reader = reader_served_from_memory(&app).await;
    // an administrator demotes the token by hand: reading is no longer allowed
    sqlx::query("update tokens set scope = 'collector' where name = 'reader'")
        .execute(&app.pool)
        .await
        .unwrap();
    answered_within(&app, "/api/v1/stamps", &reader, 403).await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn recording_a_tokens_use_keeps_it_in_memory(pool: PgPool) {
    let app = spawn(pool).await;
    let reader = reader_served_from_memory(&app).await;
    let before = from_memory(&app).await;
    // what `principal::touch_last_used` writes once a minute per token
    sqlx::query("update tokens set last_used_at = now() where name = 'reader'")
        .execute(&app.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.get("/api/v1/stamps", &reader).await.status(), 200);
    let text = app.metrics_text().await;
    assert_eq!(
        from_memory(&app).await,
        before + 1,
        "the token was not answered from memory after its use was recorded:\n{}",
        text.lines()
            .filter(|l| l.starts_with("stampbook_token"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select last_used_at from tokens where name = 'reader'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(used.is_some());
}
