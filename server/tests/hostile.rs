//! Crafted reports and admin mistakes that must not hurt the server (issue 13): host takeover
//! across stamps, oversized sections, poison text, wrapping numbers, YAML bombs, trailing garbage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, Utc};
use common::{TestApp, assert_error, spawn, spawn_with, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_agent::certgen::{self, CertSpec};
use stampbook_server::config::ServeArgs;

fn cert_b64(cn: &str) -> String {
    let spec = CertSpec {
        not_before: Utc::now() - Duration::days(10),
        not_after: Utc::now() + Duration::days(200),
        ..CertSpec::new(cn)
    };
    certgen::self_signed(&spec).unwrap().der_base64()
}

fn report(fqdn: &str, stamp: &str) -> Value {
    json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": Utc::now(),
        "host": {"fqdn": fqdn, "stamp": stamp, "roles": ["hyperv_host"],
                 "vitals": {"cpu_cores": 8, "memory_mb": 16384}},
        "routes": [{"destination": "0.0.0.0/0", "next_hop": "10.0.0.1", "metric": 10}],
        "services": [{"name": "vmms", "state": "running"}]
    })
}

async fn post(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.send_json(Method::POST, "/api/v1/reports", token, body)
        .await
}

async fn stamp_of(app: &TestApp, fqdn: &str) -> String {
    sqlx::query_scalar(
        "select s.name from hosts h join stamps s on s.id = h.stamp_id where h.fqdn = $1",
    )
    .bind(fqdn)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn fleet(pool: PgPool) -> TestApp {
    let app = spawn(pool).await;
    assert_eq!(app.put_inventory(&spec_document()).await.status(), 200);
    app
}

// ---- 1. host takeover across stamps (OWASP API1) ----

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_stamp_scoped_collector_cannot_take_over_a_host_of_another_stamp(pool: PgPool) {
    let app = fleet(pool).await;
    let fra = app.token("fra", "collector", Some("fra-01")).await;
    let ams = app.token("ams", "collector", Some("ams-01")).await;
    assert_eq!(
        post(&app, &fra, &report("hv01.fra-01.example.net", "fra-01"))
            .await
            .status(),
        202
    );
    let r = post(&app, &ams, &report("hv01.fra-01.example.net", "ams-01")).await;
    assert_error(r, 403, "host_of_another_stamp", Some("host.fqdn")).await;
    assert_eq!(stamp_of(&app, "hv01.fra-01.example.net").await, "fra-01");

    // nor by a late report, which would write into the other stamp's host history
    let mut late = report("hv01.fra-01.example.net", "ams-01");
    late["collected_at"] = json!(Utc::now() - Duration::days(3));
    let r = post(&app, &ams, &late).await;
    assert_error(r, 403, "host_of_another_stamp", Some("host.fqdn")).await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_unscoped_collector_moves_a_host_and_history_and_audit_say_so(pool: PgPool) {
    let app = fleet(pool).await;
    let any = app.token("any", "collector", None).await;
    post(&app, &any, &report("hv02.example.net", "fra-01")).await;
    let r = post(&app, &any, &report("hv02.example.net", "ams-01")).await;
    assert_eq!(r.status(), 202);
    assert_eq!(stamp_of(&app, "hv02.example.net").await, "ams-01");
    let history = app.get_json("/api/v1/hosts/hv02.example.net/history").await;
    assert!(
        history.to_string().contains("fra-01"),
        "history names the old stamp: {history}"
    );
    let audit: (String, Value, Value) = sqlx::query_as(
        "select actor, before, after from audit_log where entity = 'host' and action = 'move'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audit.0, "any");
    assert_eq!(audit.1["stamp"], "fra-01");
    assert_eq!(audit.2["stamp"], "ams-01");
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_quarantined_report_cannot_move_a_host_when_replayed(pool: PgPool) {
    let app = fleet(pool).await;
    let fra = app.token("fra", "collector", Some("fra-01")).await;
    let ams = app.token("ams", "collector", Some("ams-01")).await;
    post(&app, &ams, &report("hv03.ams-01.example.net", "ams-01")).await;
    // fra-01 retired: its collector's reports are quarantined, then the stamp comes back
    let r = app
        .send_json(
            Method::DELETE,
            "/api/v1/stamps/fra-01",
            &app.admin,
            &json!({}),
        )
        .await;
    assert!(r.status().is_success());
    let r = post(&app, &fra, &report("hv03.ams-01.example.net", "fra-01")).await;
    assert_eq!(r.status(), 403, "refused before it is even quarantined");
    let quarantined: i64 = sqlx::query_scalar("select count(*) from quarantined_reports")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(quarantined, 0);
    // a report quarantined by the scoped token for a new host, which then appears in ams-01
    let r = post(&app, &fra, &report("hv04.example.net", "fra-01")).await;
    assert_eq!(r.status(), 422);
    post(&app, &ams, &report("hv04.example.net", "ams-01")).await;
    app.put_inventory(&spec_document()).await; // fra-01 declared again
    sqlx::query("update stamps set retired_at = null where name = 'fra-01'")
        .execute(&app.pool)
        .await
        .unwrap();
    let id: i64 = sqlx::query_scalar("select id from quarantined_reports")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let r = app
        .send_json(
            Method::POST,
            &format!("/api/v1/quarantine/{id}/replay"),
            &app.admin,
            &json!({}),
        )
        .await;
    assert_error(r, 403, "host_of_another_stamp", Some("host.fqdn")).await;
    assert_eq!(stamp_of(&app, "hv04.example.net").await, "ams-01");
}

// ---- 2. bounded sections ----

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_section_beyond_its_limit_is_refused_naming_it(pool: PgPool) {
    let app = spawn_with(
        pool,
        ServeArgs {
            limits: stampbook_server::config::ReportLimits {
                max_routes: 10,
                max_addresses_per_interface: 3,
                ..ServeArgs::for_tests().limits
            },
            ..ServeArgs::for_tests()
        },
    )
    .await;
    app.put_inventory(&spec_document()).await;
    let mut r = report("hv05.example.net", "ams-01");
    r["routes"] = json!(
        (0..11)
            .map(|i| json!({"destination": format!("10.{i}.0.0/16"), "next_hop": "10.0.0.1", "metric": 1}))
            .collect::<Vec<_>>()
    );
    assert_error(
        post(&app, &app.admin, &r).await,
        422,
        "too_many",
        Some("routes"),
    )
    .await;
    let mut r = report("hv05.example.net", "ams-01");
    r["interfaces"] =
        json!([{"name": "a", "addresses": ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]}]);
    assert_error(
        post(&app, &app.admin, &r).await,
        422,
        "too_many",
        Some("interfaces[0].addresses"),
    )
    .await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_mass_change_is_one_summary_row_in_history(pool: PgPool) {
    let app = fleet(pool).await;
    let mut r = report("hv06.example.net", "ams-01");
    post(&app, &app.admin, &r).await;
    r["report_id"] = json!(uuid::Uuid::new_v4());
    r["collected_at"] = json!(Utc::now());
    r["routes"] = json!(
        (0..1500)
            .map(|i| json!({"destination": format!("10.{}.{}.0/24", i / 256, i % 256), "next_hop": "10.0.0.1", "metric": 1}))
            .collect::<Vec<_>>()
    );
    let resp = post(&app, &app.admin, &r).await;
    assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
    let rows: i64 = sqlx::query_scalar("select count(*) from fact_changes where kind = 'route'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1, "one summary row, not 1,501");
    let after: Value = sqlx::query_scalar("select after from fact_changes where kind = 'route'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(after["appeared"], 1500, "{after}");
}

// ---- 3. poison input ----

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_nul_anywhere_in_a_report_is_refused_naming_the_field(pool: PgPool) {
    let app = fleet(pool).await;
    let mut r = report("hv07.example.net", "ams-01");
    r["settings"] = json!({"vmm": {"host_identification_mode": "FQ\u{0}DN"}});
    assert_error(
        post(&app, &app.admin, &r).await,
        422,
        "invalid_text",
        Some("settings.vmm.host_identification_mode"),
    )
    .await;
    let mut r = report("hv07.example.net", "ams-01");
    r["services"][0]["name"] = json!("vm\u{0}ms");
    assert_error(
        post(&app, &app.admin, &r).await,
        422,
        "invalid_text",
        Some("services[0].name"),
    )
    .await;
    // a quarantined report (unknown stamp) and a late one are refused the same way
    let mut r = report("hv07.example.net", "nowhere-01");
    r["agent"] = json!({"name": "a\u{0}", "version": "1"});
    assert_error(
        post(&app, &app.admin, &r).await,
        422,
        "invalid_text",
        Some("agent.name"),
    )
    .await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_certificate_with_a_huge_subject_is_stored(pool: PgPool) {
    let app = fleet(pool).await;
    let mut r = report("hv08.example.net", "ams-01");
    r["certificates"] =
        json!([{"store": "LocalMachine\\Root", "der": cert_b64(&"x".repeat(3000))}]);
    let resp = post(&app, &app.admin, &r).await;
    assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
}

// ---- 4. numbers ----

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn vitals_out_of_range_are_refused_not_wrapped(pool: PgPool) {
    let app = fleet(pool).await;
    for (field, value) in [
        ("cpu_cores", json!(4_294_967_295u64)),
        ("vm_vcpus", json!(3_000_000_000u64)),
        ("vm_count", json!(4_000_000_000u64)),
        ("memory_mb", json!(u64::MAX)),
    ] {
        let mut r = report("hv09.example.net", "ams-01");
        r["host"]["vitals"][field] = value;
        assert_error(
            post(&app, &app.admin, &r).await,
            422,
            "out_of_range",
            Some(&format!("host.vitals.{field}")),
        )
        .await;
    }
    // schemathesis (seed 4242): a subscription count beyond what the document allows was taken
    let mut r = report("hv09.example.net", "ams-01");
    r["wap"] =
        json!({"plans": [{"id": "gold", "subscription_count": 9_300_000_000_000_000_000u64}]});
    assert_error(
        post(&app, &app.admin, &r).await,
        422,
        "out_of_range",
        Some("wap.plans[0].subscription_count"),
    )
    .await;
    // CI's schemathesis run: a VMConnect TTL past the document's int32 was taken
    let mut r = report("hv09.example.net", "ams-01");
    r["settings"] = json!({"vmm": {"vmconnect_ttl_minutes": 4_294_967_295u64}});
    assert_error(
        post(&app, &app.admin, &r).await,
        422,
        "out_of_range",
        Some("settings.vmm.vmconnect_ttl_minutes"),
    )
    .await;
    for counter in ["spool_dropped", "spool_rejected"] {
        let mut r = report("hv09.example.net", "ams-01");
        r["agent"] = json!({"name": "stampbook-agent", "version": "1.0.0", counter: u64::MAX});
        assert_error(
            post(&app, &app.admin, &r).await,
            422,
            "out_of_range",
            Some(&format!("agent.{counter}")),
        )
        .await;
    }
    let mut r = report("hv09.example.net", "ams-01");
    r["routes"][0]["metric"] = json!(4_294_967_295u64);
    assert_error(
        post(&app, &app.admin, &r).await,
        422,
        "out_of_range",
        Some("routes[0].metric"),
    )
    .await;
    let hosts: i64 = sqlx::query_scalar("select count(*) from hosts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(hosts, 0);
}

// ---- 5. YAML inventory bombs ----

async fn put_yaml(app: &TestApp, doc: &str) -> reqwest::Response {
    app.http
        .put(app.url("/api/v1/inventory"))
        .bearer_auth(&app.admin)
        .header("content-type", "application/yaml")
        .body(doc.to_owned())
        .send()
        .await
        .unwrap()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn yaml_aliases_are_refused(pool: PgPool) {
    let app = spawn(pool).await;
    let mut doc = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    for i in 1..9 {
        let prev = if i == 1 {
            "a".to_owned()
        } else {
            format!("a{}", i - 1)
        };
        doc.push_str(&format!("a{i}: &a{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    doc.push_str("stamps: []\n");
    assert_error(put_yaml(&app, &doc).await, 422, "yaml_alias", None).await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn deeply_nested_yaml_is_refused_quickly(pool: PgPool) {
    let app = spawn(pool).await;
    let doc = format!("stamps: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let started = std::time::Instant::now();
    assert_error(put_yaml(&app, &doc).await, 422, "yaml_too_deep", None).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_yaml_boolean_is_not_a_stamp_name(pool: PgPool) {
    let app = spawn(pool).await;
    let r = put_yaml(&app, "stamps:\n  - name: true\n").await;
    assert_error(r, 400, "malformed", Some("stamps[0].name")).await;
    let doc = "stamps:\n  - name: \"true\"\n    scale_units:\n      - name: su1\n        kind: compute\n        notes: |\n          * a list in a note, not an alias\n";
    let r = put_yaml(&app, doc).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

// ---- 8. smaller ----

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn trailing_garbage_after_the_json_body_is_refused(pool: PgPool) {
    let app = fleet(pool).await;
    let body = format!("{} garbage", report("hv10.example.net", "ams-01"));
    let r = app
        .http
        .post(app.url("/api/v1/reports"))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "malformed", None).await;
}

/// CI's schemathesis run: serde reads a struct from a JSON array too, so `"vmm": [null, null]`
/// was stored as empty VMM settings and `[null, null]` applied as an empty inventory document.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_array_where_an_object_belongs_is_refused_naming_it(pool: PgPool) {
    let app = fleet(pool).await;
    for (path, value, field) in [
        ("settings", json!({"vmm": [null, null]}), "settings.vmm"),
        ("host", json!(["hv11.example.net", "ams-01"]), "host"),
        ("agent", json!(["stampbook-agent", "1.0.0"]), "agent"),
    ] {
        let mut r = report("hv11.example.net", "ams-01");
        r[path] = value;
        assert_error(
            post(&app, &app.admin, &r).await,
            400,
            "malformed",
            Some(field),
        )
        .await;
    }
    let mut r = report("hv11.example.net", "ams-01");
    r["routes"] = json!([["0.0.0.0/0", "10.0.0.1", 5]]);
    assert_error(
        post(&app, &app.admin, &r).await,
        400,
        "malformed",
        Some("routes[0]"),
    )
    .await;
    assert_error(
        app.put_inventory(&json!([null, null])).await,
        400,
        "malformed",
        None,
    )
    .await;
    let hosts: i64 = sqlx::query_scalar("select count(*) from hosts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(hosts, 0, "nothing of a refused report is stored");
}

#[tokio::test]
async fn every_answer_is_503_while_the_database_is_unreachable() {
    common::install_crypto();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pool =
        stampbook_server::db::pool(&format!("postgres://postgres@127.0.0.1:{closed}/none"), 2)
            .unwrap();
    let app = stampbook_server::startup::Application::build(ServeArgs::for_tests(), pool).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/stamps"))
        .bearer_auth("sbk_anything")
        .send()
        .await
        .unwrap();
    assert_error(r, 503, "database_unavailable", None).await;
}
