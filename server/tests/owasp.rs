//! The OWASP API Security Top 10 (2023), item by item: each test sends what an attacker would
//! and asserts the refusal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use chrono::Utc;
use common::{TestApp, assert_error, spawn, spawn_with, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_server::api;
use stampbook_server::config::{ReportLimits, ServeArgs};
use stampbook_server::state::AppState;
use stampbook_server::webhooks::deliver;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn report(fqdn: &str, stamp: &str) -> Value {
    json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": Utc::now(),
        "host": {"fqdn": fqdn, "stamp": stamp, "roles": ["hyperv_host"]},
        "routes": [{"destination": "0.0.0.0/0", "next_hop": "10.0.0.1", "metric": 10}]
    })
}

async fn fleet(pool: PgPool, settings: ServeArgs) -> TestApp {
    let app = spawn_with(pool, settings).await;
    assert_eq!(app.put_inventory(&spec_document()).await.status(), 200);
    app
}

async fn post_report(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.send_json(Method::POST, "/api/v1/reports", token, body)
        .await
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn api1_object_level_authorisation_a_stamp_scoped_token_reaches_only_its_stamp(pool: PgPool) {
    let app = fleet(pool, ServeArgs::for_tests()).await;
    let ams = app.token("ams", "collector", Some("ams-01")).await;
    let any = app.token("any", "collector", None).await;
    // reports for another stamp, and a host of another stamp under its own stamp's name
    let r = post_report(&app, &ams, &report("hv01.example.net", "fra-01")).await;
    assert_error(r, 403, "forbidden", Some("host.stamp")).await;
    post_report(&app, &any, &report("hv01.example.net", "fra-01")).await;
    let r = post_report(&app, &ams, &report("HV01.example.net", "ams-01")).await;
    assert_error(r, 403, "host_of_another_stamp", Some("host.fqdn")).await;
    // and no stamp route answers a collector token
    for path in [
        "/api/v1/stamps/fra-01",
        "/api/v1/stamps/fra-01/health",
        "/api/v1/stamps/fra-01/networks",
        "/api/v1/stamps/fra-01/scale-units",
        "/api/v1/hosts/hv01.example.net",
        "/api/v1/hosts/hv01.example.net/history",
        "/api/v1/hosts?stamp=fra-01",
    ] {
        assert_eq!(app.get(path, &ams).await.status(), 403, "{path}");
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn api2_authentication_wrong_tokens_are_throttled_and_revoked_ones_refused(pool: PgPool) {
    let app = fleet(
        pool,
        ServeArgs {
            auth_failures_per_min: 5,
            ..ServeArgs::for_tests()
        },
    )
    .await;
    let reader = app.token("reader", "read", None).await;
    assert_eq!(app.get("/api/v1/stamps", &reader).await.status(), 200);
    // through the API: refused by the very next request (`token_cache.rs` covers the others)
    let r = app.delete("/api/v1/tokens/reader", &app.admin).await;
    assert_eq!(r.status(), 200);
    assert_error(
        app.get("/api/v1/stamps", &reader).await,
        401,
        "unauthorized",
        None,
    )
    .await;
    for _ in 0..4 {
        let r = app.get("/api/v1/stamps", "sbk_guessed").await;
        assert_eq!(r.status(), 401);
    }
    let r = app.get("/api/v1/stamps", "sbk_guessed").await;
    assert!(r.headers().contains_key("retry-after"));
    assert_error(r, 429, "too_many_failures", None).await;
    // even the right token waits: the address is guessing
    let r = app.get("/api/v1/stamps", &app.admin).await;
    assert_eq!(r.status(), 429);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn api3_property_level_no_token_hash_or_secret_is_ever_answered(pool: PgPool) {
    let app = fleet(pool, ServeArgs::for_tests()).await;
    let created: Value = app
        .send_json(
            Method::POST,
            "/api/v1/tokens",
            &app.admin,
            &json!({"name": "billing", "scope": "read"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let hook: Value = app
        .send_json(
            Method::POST,
            "/api/v1/webhooks",
            &app.admin,
            &json!({"url": "https://hooks.example.net/in", "events": ["problem.opened"], "secret": "0123456789abcdef-secret"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let hash: String =
        sqlx::query_scalar("select encode(token_hash, 'hex') from tokens where name = 'billing'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    for path in ["/api/v1/tokens", "/api/v1/webhooks", "/api/v1/audit"] {
        let text = app.get(path, &app.admin).await.text().await.unwrap();
        for secret in [
            token.as_str(),
            hash.as_str(),
            "0123456789abcdef-secret",
            "token_hash",
        ] {
            assert!(!text.contains(secret), "{path} shows {secret}");
        }
    }
    assert!(hook["id"].is_i64());
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn api4_resources_bodies_sections_and_pages_are_bounded(pool: PgPool) {
    let app = fleet(
        pool,
        ServeArgs {
            max_report_bytes: 64 * 1024,
            limits: ReportLimits {
                max_services: 3,
                ..ReportLimits::default()
            },
            ..ServeArgs::for_tests()
        },
    )
    .await;
    let mut big = report("hv02.example.net", "ams-01");
    big["padding"] = json!("x".repeat(70 * 1024));
    assert_error(
        post_report(&app, &app.admin, &big).await,
        413,
        "payload_too_large",
        None,
    )
    .await;
    let mut many = report("hv02.example.net", "ams-01");
    many["services"] = json!(
        (0..4)
            .map(|i| json!({"name": format!("s{i}"), "state": "running"}))
            .collect::<Vec<_>>()
    );
    assert_error(
        post_report(&app, &app.admin, &many).await,
        422,
        "too_many",
        Some("services"),
    )
    .await;
    let r = app.get("/api/v1/hosts?limit=100000", &app.admin).await;
    assert_eq!(r.status(), 400);
    let long = format!("/api/v1/stamps?region={}", "x".repeat(9000));
    assert_error(app.get(&long, &app.admin).await, 414, "uri_too_long", None).await;
    let r = app
        .http
        .get(app.url("/api/v1/stamps"))
        .bearer_auth(&app.admin)
        .header("x-padding", "y".repeat(17 * 1024))
        .send()
        .await
        .unwrap();
    assert_error(r, 431, "headers_too_large", None).await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn api5_function_level_a_collector_cannot_use_admin_functions(pool: PgPool) {
    let app = fleet(pool, ServeArgs::for_tests()).await;
    let c = app.token("c", "collector", None).await;
    let reader = app.token("r", "read", None).await;
    for (method, path, body) in [
        (Method::PUT, "/api/v1/inventory", json!({"stamps": []})),
        (
            Method::POST,
            "/api/v1/tokens",
            json!({"name": "x", "scope": "admin"}),
        ),
        (
            Method::POST,
            "/api/v1/webhooks",
            json!({"url": "https://a.example.net", "events": ["problem.opened"]}),
        ),
        (Method::POST, "/api/v1/quarantine/1/replay", json!({})),
        (Method::DELETE, "/api/v1/stamps/ams-01", json!({})),
    ] {
        for token in [&c, &reader] {
            let r = app.send_json(method.clone(), path, token, &body).await;
            assert_eq!(r.status(), 403, "{method} {path}");
        }
    }
    assert_eq!(app.get("/api/v1/tokens", &c).await.status(), 403);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn api6_business_flows_a_flood_of_refused_reports_keeps_a_bounded_quarantine(pool: PgPool) {
    let app = fleet(
        pool,
        ServeArgs {
            quarantine_max: 3,
            ..ServeArgs::for_tests()
        },
    )
    .await;
    let c = app.token("c", "collector", None).await;
    for i in 0..6 {
        let r = post_report(
            &app,
            &c,
            &report(&format!("h{i}.example.net"), "nowhere-01"),
        )
        .await;
        assert_eq!(r.status(), 422);
    }
    let kept: i64 = sqlx::query_scalar("select count(*) from quarantined_reports")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept, 3);
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("stampbook_quarantined_reports{state=\"pending\"} 3"),
        "{metrics}"
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn api7_ssrf_webhooks_to_internal_addresses_are_refused(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[fd00:ec2::254]/",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
    ] {
        let r = app
            .send_json(
                Method::POST,
                "/api/v1/webhooks",
                &app.admin,
                &json!({"url": url, "events": ["problem.opened"]}),
            )
            .await;
        assert_error(r, 422, "webhook_target_not_allowed", Some("url")).await;
    }
    // registered before loopback was refused (or while it was allowed), delivered now: refused
    // at connection
    let id: i64 = sqlx::query_scalar(
        "insert into webhooks (url, events, secret, description, created_by)
         values ('http://127.0.0.1:9/hook', '{problem.opened}', 'whsec_0123456789abcdef', '', 'test') returning id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    app.put_inventory(&spec_document()).await;
    app.send_json(
        Method::DELETE,
        "/api/v1/stamps/ams-01",
        &app.admin,
        &json!({}),
    )
    .await;
    stampbook_server::rules::engine::evaluate_queued(&pool)
        .await
        .unwrap();
    let state = AppState::new(pool.clone(), ServeArgs::for_tests());
    let policy = deliver::Policy::from_settings(&state.settings);
    let client = deliver::client(&policy).unwrap();
    assert_eq!(
        deliver::deliver_due(&state.pool, &state.metrics, &client, &policy).await,
        1
    );
    let log = app
        .get_json(&format!("/api/v1/webhooks/{id}/deliveries"))
        .await;
    let error = log["items"][0]["attempts"][0]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(error.contains("not allowed"), "{error}");
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn api8_misconfiguration_security_headers_and_no_internals_in_errors(pool: PgPool) {
    let app = spawn(pool).await;
    for path in ["/", "/login", "/api/v1/stamps", "/api/nowhere"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("content-security-policy"), "{path}");
        assert!(!h.contains_key("server"), "{path} names its server");
    }
    let r = app
        .http
        .post(app.url("/api/v1/reports"))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .body("{\"schema\": 1,")
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    for leak in ["panicked", "src/", "sqlx", "backtrace", "stack"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn api9_inventory_no_route_is_served_that_the_document_does_not_describe(pool: PgPool) {
    let app = spawn(pool).await;
    let doc: Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(|m| (m.clone(), p.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let served: BTreeSet<(String, String)> = api::route_table()
        .into_iter()
        .map(|(m, p)| (m.as_str().to_ascii_lowercase(), p))
        .collect();
    assert_eq!(served, documented);
    for path in ["/api/v2/stamps", "/api/v1/debug", "/api/v1/admin", "/.env"] {
        let r = app.get(path, &app.admin).await;
        assert_eq!(r.status(), 404, "{path}");
    }
}

/// A receiver that answers 500 with a body an attacker controls, once.
async fn hostile_receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 65536];
            let _ = sock.read(&mut buf).await;
            let body = "<script>alert(1)</script> INJECTED-REPLY \u{0}";
            let reply = format!(
                "HTTP/1.1 500 X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    url
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn api10_unsafe_consumption_a_receivers_reply_is_neither_trusted_nor_kept(pool: PgPool) {
    let settings = ServeArgs {
        webhook_allow_cidrs: vec!["127.0.0.0/8".parse().unwrap()],
        ..ServeArgs::for_tests()
    };
    let app = fleet(pool.clone(), settings.clone()).await;
    let url = hostile_receiver().await;
    let hook: Value = app
        .send_json(
            Method::POST,
            "/api/v1/webhooks",
            &app.admin,
            &json!({"url": url, "events": ["problem.opened"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    app.send_json(
        Method::DELETE,
        "/api/v1/stamps/ams-01",
        &app.admin,
        &json!({}),
    )
    .await;
    stampbook_server::rules::engine::evaluate_queued(&pool)
        .await
        .unwrap();
    let state = AppState::new(pool.clone(), settings);
    let policy = deliver::Policy::from_settings(&state.settings);
    let client = deliver::client(&policy).unwrap();
    assert_eq!(
        deliver::deliver_due(&state.pool, &state.metrics, &client, &policy).await,
        1
    );
    let log = app
        .get_json(&format!("/api/v1/webhooks/{}/deliveries", hook["id"]))
        .await;
    let attempt = &log["items"][0]["attempts"][0];
    assert_eq!(attempt["status"], 500);
    assert!(attempt["duration_ms"].is_i64());
    let text = log.to_string();
    assert!(!text.contains("INJECTED-REPLY"), "{text}");
    assert!(!text.contains("script"), "{text}");
}
