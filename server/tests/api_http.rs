//! The HTTP behaviour every API resource shares: ETag and 304, content negotiation (406, CSV),
//! 405 with Allow, 415, the per-token rate limit; and the capacity comparison.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Utc;
use common::{TestApp, assert_error, spawn, spawn_with, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_server::config::ServeArgs;

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.http.get(app.url(path)).bearer_auth(&app.admin);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn every_get_has_an_etag_and_if_none_match_gives_304(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let r = get_with(&app, "/api/v1/stamps", &[]).await;
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() == 66, "{etag}");
    let body = r.bytes().await.unwrap();
    assert_eq!(
        etag,
        stampbook_server::api::etag::tag(&body),
        "a hash of the body"
    );

    let r = get_with(&app, "/api/v1/stamps", &[("If-None-Match", &etag)]).await;
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
    assert!(r.bytes().await.unwrap().is_empty(), "no body");

    // a change gives a new tag, and the old one no longer matches
    app.send_json(
        Method::PATCH,
        "/api/v1/stamps/fra-01",
        &app.admin,
        &json!({"display_name": "Frankfurt One"}),
    )
    .await;
    let r = get_with(&app, "/api/v1/stamps", &[("If-None-Match", &etag)]).await;
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()["etag"].to_str().unwrap(), etag);
    // errors and writes carry none
    let r = get_with(&app, "/api/v1/stamps/nope", &[]).await;
    assert!(!r.headers().contains_key("etag"));
    let r = get_with(&app, "/healthz", &[]).await;
    assert!(r.headers().contains_key("etag"));
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn accept_picks_json_or_csv_and_406_otherwise(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let r = get_with(&app, "/api/v1/stamps", &[("Accept", "text/html")]).await;
    assert_error(r, 406, "not_acceptable", None).await;
    let r = get_with(&app, "/api/v1/stamps", &[("Accept", "text/csv")]).await;
    assert_error(r, 406, "not_acceptable", None).await;
    let r = get_with(
        &app,
        "/api/v1/stamps",
        &[("Accept", "text/html, */*;q=0.1")],
    )
    .await;
    assert_eq!(r.status(), 200);
    // probes and metrics are never refused
    let r = get_with(
        &app,
        "/metrics",
        &[("Accept", "application/openmetrics-text")],
    )
    .await;
    assert_eq!(r.status(), 200);
    for path in [
        "/api/v1/capacity",
        "/api/v1/hosts",
        "/api/v1/certificates",
        "/api/v1/problems",
        "/api/v1/plans",
    ] {
        let r = get_with(&app, path, &[("Accept", "text/csv")]).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            r.headers()["content-type"],
            "text/csv; charset=utf-8",
            "{path}"
        );
        assert!(r.headers()["vary"].to_str().unwrap().contains("Accept"));
        let text = r.text().await.unwrap();
        assert!(
            text.ends_with("\r\n") && text.lines().count() >= 1,
            "{path}"
        );
        let r = get_with(&app, path, &[("Accept", "application/xml")]).await;
        assert_error(r, 406, "not_acceptable", None).await;
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn csv_quotes_as_rfc_4180_and_pages_with_a_next_link(pool: PgPool) {
    let app = spawn(pool).await;
    let mut doc = spec_document();
    doc["plans"].as_array_mut().unwrap().push(
        json!({"wap_plan_id": "silver-ams", "name": "Silver, \"small\"", "stamp": "ams-01",
                     "quota": {"vms": 10, "vcpus": 20, "memory_gb": 40, "storage_gb": 500}}),
    );
    app.put_inventory(&doc).await;
    let r = get_with(&app, "/api/v1/plans?limit=1", &[("Accept", "text/csv")]).await;
    let next = r.headers()["x-next-cursor"].to_str().unwrap().to_owned();
    assert_eq!(
        r.headers()["link"].to_str().unwrap(),
        format!("</api/v1/plans?limit=1&cursor={next}>; rel=\"next\"")
    );
    let text = r.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert!(lines[0].starts_with("wap_plan_id,name,public,stamp,cloud,remote_console,"));
    assert!(lines[1].starts_with("gold-ams,Gold IaaS,true,ams-01,Gold Cloud,true,500,2000,"));
    let r = get_with(
        &app,
        &format!("/api/v1/plans?limit=1&cursor={next}"),
        &[("Accept", "text/csv")],
    )
    .await;
    assert!(!r.headers().contains_key("link"), "last page");
    let text = r.text().await.unwrap();
    assert!(
        text.contains("\r\nsilver-ams,\"Silver, \"\"small\"\"\",true,ams-01,,false,10,20,40,500,"),
        "{text}"
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn other_methods_are_405_with_allow_and_bodies_need_json(pool: PgPool) {
    let app = spawn(pool).await;
    let r = app
        .http
        .patch(app.url("/api/v1/plans"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "GET, POST");
    assert_error(r, 405, "method_not_allowed", None).await;
    let r = app.http.post(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "GET");
    assert_eq!(r.status(), 405);
    let r = app
        .http
        .post(app.url("/api/v1/stamps"))
        .bearer_auth(&app.admin)
        .header("Content-Type", "text/plain")
        .body("name: x")
        .send()
        .await
        .unwrap();
    assert_error(r, 415, "unsupported_media_type", None).await;
    let r = get_with(&app, "/api/v1/hosts?q=a%00b", &[]).await;
    assert_error(r, 400, "invalid_text", None).await;
}

/// Every (method, path) of the route table reaches its handler (whatever the handler then says
/// of placeholder values), and paths beside them are the API's 404 of the path: the table is
/// registered as one scope per first segment (`api::configure`), and a path that enters a scope
/// without matching a resource there must still get the API's answer.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn every_route_of_the_table_is_served_and_paths_beside_them_are_404s(pool: PgPool) {
    let app = spawn(pool).await;
    for (method, path) in stampbook_server::api::route_table() {
        let path = path.replace("{id}", "1").replace(['{', '}'], "");
        let method = Method::from_bytes(method.as_str().as_bytes()).unwrap();
        let r = app
            .http
            .request(method.clone(), app.url(&path))
            .bearer_auth(&app.admin)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert_ne!(status, 405, "{method} {path}");
        if status == 404 {
            let body: Value = r.json().await.unwrap();
            assert_ne!(
                body["error"]["message"], "path not found",
                "{method} {path}: {body}"
            );
        }
    }
    for path in [
        "/api/v1/hosts/",
        "/api/v1/hostsx",
        "/api/v1/hosts/a/history/more",
        "/api/v1/stamps/a/b",
        "/api/v1/",
        "/api/v1",
        "/api/v1/nothing",
    ] {
        let r = get_with(&app, path, &[]).await;
        let body = assert_error(r, 404, "not_found", None).await;
        assert_eq!(body["error"]["message"], "path not found", "{path}");
    }
    let r = app
        .http
        .post(app.url("/api/v1/hosts/a/history"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "GET");
    assert_error(r, 405, "method_not_allowed", None).await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_token_over_its_rate_gets_429_with_retry_after(pool: PgPool) {
    let settings = ServeArgs {
        rate_limit_per_min: 2,
        ..ServeArgs::for_tests()
    };
    let app = spawn_with(pool, settings).await;
    let reader = app.token("reader", "read", None).await;
    for _ in 0..2 {
        assert_eq!(app.get("/api/v1/stamps", &reader).await.status(), 200);
    }
    let r = app.get("/api/v1/stamps", &reader).await;
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    assert_error(r, 429, "rate_limited", None).await;
    // another token has its own budget
    assert_eq!(app.get("/api/v1/stamps", &app.admin).await.status(), 200);
}

fn hyperv(fqdn: &str, stamp: &str, cores: u32) -> Value {
    json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": Utc::now(),
        "host": {"fqdn": fqdn, "stamp": stamp, "roles": ["hyperv_host"],
                 "vitals": {"cpu_cores": cores, "memory_mb": 262144, "storage_gb": 4000,
                            "vm_count": 10, "vm_vcpus": 40, "vm_memory_mb": 131072}}
    })
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn capacity_compares_the_stamps_asked_for_side_by_side(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    for (fqdn, cores) in [
        ("hv01.ams-01.example.net", 32),
        ("hv02.ams-01.example.net", 32),
    ] {
        let r = app
            .send_json(
                Method::POST,
                "/api/v1/reports",
                &app.admin,
                &hyperv(fqdn, "ams-01", cores),
            )
            .await;
        assert_eq!(r.status(), 202);
    }
    let page = app
        .get_json("/api/v1/capacity?stamp=fra-01&stamp=ams-01")
        .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (items[0]["stamp"].as_str(), items[1]["stamp"].as_str()),
        (Some("fra-01"), Some("ams-01")),
        "in the order asked"
    );
    let ams = &items[1];
    assert_eq!(ams["hyperv_hosts"], 2);
    assert_eq!(ams["physical"]["cpus"], 64);
    assert_eq!(ams["physical"]["memory_gb"], 512.0);
    assert_eq!(ams["used"]["cpus"], 80);
    assert_eq!(ams["allocated"]["cpus"], 2000);
    assert_eq!(ams["vcpu_limit"], 256.0);
    assert_eq!(ams["vcpu_headroom"], 256.0 - 2000.0);
    assert_eq!(ams["vcpu_ratio"], 2000.0 / 64.0);
    assert_eq!(
        items[0]["physical"]["cpus"],
        Value::Null,
        "no hosts: unknown"
    );
    assert_eq!(page["next_cursor"], Value::Null);

    // every stamp not retired when none is named
    let all = app.get_json("/api/v1/capacity").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let r = app
        .get("/api/v1/capacity?stamp=ams-01&stamp=lon-09", &app.admin)
        .await;
    let body = assert_error(r, 404, "not_found", Some("stamp")).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lon-09")
    );
    let r = get_with(
        &app,
        "/api/v1/capacity?stamp=ams-01",
        &[("Accept", "text/csv")],
    )
    .await;
    let text = r.text().await.unwrap();
    let mut lines = text.split("\r\n");
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        (col("stamp"), col("physical_cores"), col("vcpu_headroom")),
        ("ams-01", "64", "-1744")
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_audited_change_names_the_request_that_made_it(pool: PgPool) {
    let app = common::spawn(pool.clone()).await;
    let r = app
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/stamps/ams-01",
            &app.admin,
            &serde_json::json!({}),
        )
        .await;
    assert!(r.status().is_success());
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let audited: Option<String> =
        sqlx::query_scalar("select request_id from audit_log where entity = 'stamp'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audited.as_deref(), Some(request_id.as_str()));
    let listed = app.get_json("/api/v1/audit?entity=stamp").await;
    assert_eq!(listed["items"][0]["request_id"], request_id.as_str());
}
