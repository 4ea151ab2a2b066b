//! Reports in through the real HTTP API: stored, unchanged, late, duplicate, quarantined, refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;

use chrono::{Duration, Utc};
use common::{assert_error, spawn, spawn_with, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_agent::certgen::{self, CertSpec};
use stampbook_server::config::ServeArgs;

fn cert_b64(cn: &str, days: i64) -> (String, String) {
    let spec = CertSpec {
        not_before: Utc::now() - Duration::days(10),
        not_after: Utc::now() + Duration::days(days),
        dns_names: vec![cn.to_owned()],
        ..CertSpec::new(cn)
    };
    let c = certgen::self_signed(&spec).unwrap();
    (c.der_base64(), c.thumbprint)
}

fn report(fqdn: &str, stamp: &str, cert: &str) -> Value {
    json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": Utc::now(),
        "agent": {"name": "stampbook-agent", "version": "0.1.0"},
        "host": {"fqdn": fqdn, "stamp": stamp, "scale_unit": "compute-r1", "roles": ["nvgre_gateway"],
                 "os": {"name": "Windows Server 2012 R2 Datacenter", "version": "6.3.9600"},
                 "vitals": {"cpu_cores": 8, "memory_mb": 16384, "vm_count": 0}},
        "certificates": [{"store": "LocalMachine\\My", "der": cert, "has_private_key": true}],
        "interfaces": [
            {"name": "Management", "addresses": ["10.0.0.21/24"], "gateway": "10.0.0.1"},
            {"name": "Front-end", "addresses": ["77.233.248.21/24"], "gateway": "77.233.248.1"}
        ],
        "routes": [
            {"destination": "0.0.0.0/0", "next_hop": "10.0.0.1", "interface": "Management", "metric": 300, "persistent": true},
            {"destination": "0.0.0.0/0", "next_hop": "77.233.248.1", "interface": "Front-end", "metric": 200, "persistent": true},
            {"destination": "10.0.0.0/24", "next_hop": "on-link", "interface": "Management", "metric": 261}
        ],
        "services": [{"name": "vmms", "state": "running", "started_at": "2014-02-06T08:00:00Z"}],
        "settings": {"components": [{"name": "vmm_agent", "version": "3.2.8169.0"}]}
    })
}

/// Makes `rep` the host's next report: a new id, collected now (its facts as they are).
fn next_report(rep: &mut Value) {
    rep["report_id"] = json!(uuid::Uuid::new_v4());
    rep["collected_at"] = json!(Utc::now());
}

async fn post(app: &common::TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.send_json(Method::POST, "/api/v1/reports", token, body)
        .await
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_first_report_is_stored_and_read_back_with_parsed_certificates(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let collector = app.token("c", "collector", Some("ams-01")).await;
    let (der, thumb) = cert_b64("gw01.ams-01.example.net", 200);
    let r = post(
        &app,
        &collector,
        &report("GW01.ams-01.example.net", "ams-01", &der),
    )
    .await;
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["host"], "gw01.ams-01.example.net");
    assert_eq!(body["duplicate"], false);
    assert_eq!(body["outcome"], "stored");

    let host = app.get_json("/api/v1/hosts/gw01.AMS-01.example.net").await;
    assert_eq!(host["stamp"], "ams-01");
    assert_eq!(host["roles"], json!(["nvgre_gateway"]));
    assert_eq!(host["vitals"]["cpu_cores"], 8);
    let cert = &host["certificates"][0];
    assert_eq!(cert["thumbprint"], thumb);
    assert_eq!(cert["subject"], "CN=gw01.ams-01.example.net");
    assert_eq!(cert["key_algorithm"], "rsa");
    assert_eq!(cert["key_bits"], 2048);
    assert_eq!(cert["san_dns"], json!(["gw01.ams-01.example.net"]));
    assert!(cert["days_left"].as_i64().unwrap() >= 199);
    let routes = host["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 3);
    let effective: Vec<&Value> = routes
        .iter()
        .filter(|r| r["effective_default"] == true)
        .collect();
    assert_eq!(effective.len(), 1);
    assert_eq!(effective[0]["next_hop"], "77.233.248.1");
    assert_eq!(routes[2]["next_hop"], Value::Null, "on-link");
    assert_eq!(
        host["interfaces"][0]["addresses"],
        json!(["77.233.248.21/24"])
    );
    assert_eq!(host["services"][0]["name"], "vmms");
    assert_eq!(host["components"][0]["version"], "3.2.8169.0");
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_same_report_id_twice_stores_once(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let rep = report("gw01.ams-01.example.net", "ams-01", &der);
    assert_eq!(post(&app, &app.admin, &rep).await.status(), 202);
    let changes = count(&pool, "select count(*) from fact_changes").await;
    let r = post(&app, &app.admin, &rep).await;
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["duplicate"], true);
    assert_eq!(body["host"], "gw01.ams-01.example.net");
    assert_eq!(count(&pool, "select count(*) from reports").await, 1);
    assert_eq!(
        count(&pool, "select count(*) from fact_changes").await,
        changes
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn identical_facts_only_advance_the_last_report_time(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    post(&app, &app.admin, &rep).await;
    let before = app.get_json("/api/v1/hosts/gw01.ams-01.example.net").await;
    let changes = count(&pool, "select count(*) from fact_changes").await;
    next_report(&mut rep);
    let body: Value = post(&app, &app.admin, &rep).await.json().await.unwrap();
    assert_eq!(body["outcome"], "unchanged");
    let after = app.get_json("/api/v1/hosts/gw01.ams-01.example.net").await;
    assert_ne!(before["last_report_at"], after["last_report_at"]);
    assert_eq!(
        count(&pool, "select count(*) from fact_changes").await,
        changes
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from reports where outcome = 'unchanged'"
        )
        .await,
        1
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn changed_facts_are_stored_with_history(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let (der, old_thumb) = cert_b64("gw01.ams-01.example.net", 200);
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    post(&app, &app.admin, &rep).await;
    let (der2, new_thumb) = cert_b64("gw01.ams-01.example.net", 400);
    next_report(&mut rep);
    rep["certificates"][0]["der"] = json!(der2);
    rep["routes"][0]["metric"] = json!(100);
    rep["services"][0]["state"] = json!("stopped");
    let body: Value = post(&app, &app.admin, &rep).await.json().await.unwrap();
    assert_eq!(body["outcome"], "stored");
    let history = app
        .get_json("/api/v1/hosts/gw01.ams-01.example.net/history")
        .await;
    let items = history["items"].as_array().unwrap();
    let has = |kind: &str, change: &str, needle: &str| {
        items.iter().any(|i| {
            i["kind"] == kind
                && i["change"] == change
                && i["key"].as_str().unwrap().contains(needle)
        })
    };
    assert!(has("certificate", "appeared", &new_thumb), "{history}");
    assert!(has("certificate", "disappeared", &old_thumb));
    assert!(has("service", "changed", "vmms"));
    assert!(
        has("route", "changed", "0.0.0.0/0 via 10.0.0.1"),
        "a metric change is a change of the same route"
    );
    assert!(has("host", "appeared", "gw01"));
    let host = app.get_json("/api/v1/hosts/gw01.ams-01.example.net").await;
    assert_eq!(host["services"][0]["state"], "stopped");
    assert_eq!(host["certificates"].as_array().unwrap().len(), 1);
}

/// The history page finds its host in the statement that reads the page: an unknown host is
/// still 404, a known one past its oldest change an empty page, and the FQDN is matched in any
/// case.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_hosts_history_tells_an_unknown_host_from_an_empty_page(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    post(
        &app,
        &app.admin,
        &report("gw01.ams-01.example.net", "ams-01", &der),
    )
    .await;
    let first = app
        .get_json("/api/v1/hosts/GW01.ams-01.example.net/history?limit=1")
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1, "{first}");
    let oldest = app
        .get_json("/api/v1/hosts/gw01.ams-01.example.net/history?limit=1000")
        .await;
    let last_id = oldest["items"].as_array().unwrap().last().unwrap()["id"]
        .as_i64()
        .unwrap();
    let cursor = stampbook_server::api::pagination::encode(&last_id.to_string());
    let past = app
        .get(
            &format!("/api/v1/hosts/gw01.ams-01.example.net/history?cursor={cursor}"),
            &app.admin,
        )
        .await;
    assert_eq!(past.status(), 200);
    let past: Value = past.json().await.unwrap();
    assert_eq!(past["items"], json!([]), "{past}");
    for path in [
        "/api/v1/hosts/nowhere.example.net/history",
        "/api/v1/hosts/nowhere.example.net/history?kind=route",
    ] {
        let unknown = app.get(path, &app.admin).await;
        assert_eq!(unknown.status(), 404, "{path}");
        let body: Value = unknown.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{body}");
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_section_not_collected_keeps_what_was_stored(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    post(&app, &app.admin, &rep).await;
    let obj = rep.as_object_mut().unwrap();
    obj.remove("routes");
    obj.insert("services".into(), json!([]));
    obj.insert("report_id".into(), json!(uuid::Uuid::new_v4()));
    post(&app, &app.admin, &rep).await;
    let host = app.get_json("/api/v1/hosts/gw01.ams-01.example.net").await;
    assert_eq!(
        host["routes"].as_array().unwrap().len(),
        3,
        "routes not collected: kept"
    );
    assert_eq!(
        host["services"],
        json!([]),
        "services collected, none: removed"
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_older_report_never_overwrites_newer_facts(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let rep = report("gw01.ams-01.example.net", "ams-01", &der);
    post(&app, &app.admin, &rep).await;
    let mut old = rep.clone();
    old["report_id"] = json!(uuid::Uuid::new_v4());
    old["collected_at"] = json!(Utc::now() - Duration::hours(2));
    old["services"][0]["state"] = json!("stopped");
    let body: Value = post(&app, &app.admin, &old).await.json().await.unwrap();
    assert_eq!(body["outcome"], "late");
    let host = app.get_json("/api/v1/hosts/gw01.ams-01.example.net").await;
    assert_eq!(host["services"][0]["state"], "running");
    let history = app
        .get_json("/api/v1/hosts/gw01.ams-01.example.net/history?kind=report")
        .await;
    assert_eq!(history["items"][0]["change"], "late");
    assert_eq!(
        count(
            &pool,
            "select count(*) from reports where outcome = 'late' and payload is not null"
        )
        .await,
        1
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn report_for_unknown_stamp_is_quarantined_and_replayable(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let (der, _) = cert_b64("hv01.new-01.example.net", 200);
    let rep = report("hv01.new-01.example.net", "new-01", &der);
    let r = post(&app, &app.admin, &rep).await;
    assert_error(r, 422, "unknown_stamp", Some("host.stamp")).await;
    // sending it again does not duplicate the quarantine entry
    post(&app, &app.admin, &rep).await;
    let q = app.get_json("/api/v1/quarantine").await;
    assert_eq!(q["items"].as_array().unwrap().len(), 1);
    let id = q["items"][0]["id"].as_i64().unwrap();
    assert_eq!(q["items"][0]["code"], "unknown_stamp");
    assert_eq!(count(&pool, "select count(*) from hosts").await, 0);

    let replay = format!("/api/v1/quarantine/{id}/replay");
    let r = app
        .send_json(Method::POST, &replay, &app.admin, &json!({}))
        .await;
    assert_error(r, 422, "unknown_stamp", Some("host.stamp")).await;
    let reader = app.token("r", "read", None).await;
    assert_eq!(
        app.send_json(Method::POST, &replay, &reader, &json!({}))
            .await
            .status(),
        403
    );

    app.send_json(Method::PUT, "/api/v1/stamps/new-01", &app.admin, &json!({}))
        .await;
    let r = app
        .send_json(Method::POST, &replay, &app.admin, &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["outcome"], "stored");
    assert_eq!(
        app.get_json("/api/v1/hosts/hv01.new-01.example.net").await["stamp"],
        "new-01"
    );
    let audited: (String, String, String, Option<Value>) = sqlx::query_as(
        "select actor, action, entity_key, after from audit_log where entity = 'quarantined_report'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (audited.0.as_str(), audited.1.as_str(), audited.2),
        ("test-admin", "replay", id.to_string())
    );
    assert_eq!(audited.3.unwrap()["outcome"], "stored");
    assert_error(
        app.send_json(Method::POST, &replay, &app.admin, &json!({}))
            .await,
        409,
        "already_replayed",
        None,
    )
    .await;
    assert_eq!(app.get_json("/api/v1/quarantine").await["items"], json!([]));
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn report_for_a_retired_stamp_is_quarantined(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    app.http
        .delete(app.url("/api/v1/stamps/fra-01"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    let (der, _) = cert_b64("hv01.fra-01.example.net", 200);
    let r = post(
        &app,
        &app.admin,
        &report("hv01.fra-01.example.net", "fra-01", &der),
    )
    .await;
    assert_error(r, 422, "stamp_retired", Some("host.stamp")).await;
    assert_eq!(
        app.get_json("/api/v1/quarantine").await["items"][0]["code"],
        "stamp_retired"
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_collector_may_only_report_for_its_stamp(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let fra = app.token("c-fra", "collector", Some("fra-01")).await;
    let reader = app.token("r", "read", None).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let rep = report("gw01.ams-01.example.net", "ams-01", &der);
    assert_error(
        post(&app, &fra, &rep).await,
        403,
        "forbidden",
        Some("host.stamp"),
    )
    .await;
    assert_error(post(&app, &reader, &rep).await, 403, "forbidden", None).await;
    assert_error(post(&app, "", &rep).await, 401, "unauthorized", None).await;
    assert_eq!(count(&pool, "select count(*) from hosts").await, 0);
    assert_eq!(
        count(&pool, "select count(*) from quarantined_reports").await,
        0
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_certificate_that_does_not_parse_refuses_the_whole_report(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    rep["certificates"]
        .as_array_mut()
        .unwrap()
        .push(json!({"store": "LocalMachine\\Root", "der": "bm90IGEgY2VydGlmaWNhdGU="}));
    let body = assert_error(
        post(&app, &app.admin, &rep).await,
        422,
        "invalid_certificate",
        Some("certificates[1].der"),
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("certificate 1")
    );
    rep["certificates"][1]["der"] = json!("%%%not base64");
    assert_error(
        post(&app, &app.admin, &rep).await,
        422,
        "invalid_certificate",
        Some("certificates[1].der"),
    )
    .await;
    assert_eq!(
        count(&pool, "select count(*) from hosts").await,
        0,
        "nothing of the report is stored"
    );
    assert_eq!(count(&pool, "select count(*) from reports").await, 0);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn malformed_reports_name_the_field(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    rep["routes"][1]["metric"] = json!("low");
    assert_error(
        post(&app, &app.admin, &rep).await,
        400,
        "malformed",
        Some("routes[1].metric"),
    )
    .await;
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    rep["routes"][0]["next_hop"] = json!("10.0.0.300");
    assert_error(
        post(&app, &app.admin, &rep).await,
        422,
        "invalid_ip",
        Some("routes[0].next_hop"),
    )
    .await;
    // a role the server does not know is not malformed: it is ignored and named in `warnings`
    // (blind_spots.rs)
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    rep["host"]["roles"] = json!([7]);
    assert_error(
        post(&app, &app.admin, &rep).await,
        400,
        "malformed",
        Some("host.roles[0]"),
    )
    .await;
    let mut rep = report("not a host!", "ams-01", &der);
    rep["schema"] = json!("stampbook.report/v1");
    assert_error(
        post(&app, &app.admin, &rep).await,
        422,
        "invalid_fqdn",
        Some("host.fqdn"),
    )
    .await;
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    rep["schema"] = json!("stampbook.report/v9");
    assert_error(
        post(&app, &app.admin, &rep).await,
        422,
        "unsupported_schema",
        Some("schema"),
    )
    .await;
    let r = app
        .http
        .post(app.url("/api/v1/reports"))
        .bearer_auth(&app.admin)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(r, 415, "unsupported_media_type", None).await;
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn gzip_bodies_are_accepted_and_size_is_limited_after_decoding(pool: PgPool) {
    let settings = ServeArgs {
        max_report_bytes: 64 * 1024,
        ..ServeArgs::for_tests()
    };
    let app = spawn_with(pool, settings).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let rep = report("gw01.ams-01.example.net", "ams-01", &der);
    let r = app
        .http
        .post(app.url("/api/v1/reports"))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(rep.to_string().as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // a small gzip that inflates past the limit
    let mut big = rep.clone();
    big["padding"] = json!("x".repeat(200 * 1024));
    let r = app
        .http
        .post(app.url("/api/v1/reports"))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(big.to_string().as_bytes()))
        .send()
        .await
        .unwrap();
    assert_error(r, 413, "payload_too_large", None).await;
    let r = app
        .send_json(Method::POST, "/api/v1/reports", &app.admin, &big)
        .await;
    assert_error(r, 413, "payload_too_large", None).await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn hosts_and_certificates_filter(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (soon, soon_thumb) = cert_b64("gw01.ams-01.example.net", 10);
    let (later, _) = cert_b64("hv01.fra-01.example.net", 300);
    post(
        &app,
        &app.admin,
        &report("gw01.ams-01.example.net", "ams-01", &soon),
    )
    .await;
    let mut hv = report("hv01.fra-01.example.net", "fra-01", &later);
    hv["host"]["roles"] = json!(["hyperv_host"]);
    hv["collected_at"] = json!(Utc::now() - Duration::hours(1));
    post(&app, &app.admin, &hv).await;

    let by_stamp = app.get_json("/api/v1/hosts?stamp=fra-01").await;
    assert_eq!(by_stamp["items"].as_array().unwrap().len(), 1);
    let by_role = app.get_json("/api/v1/hosts?role=nvgre_gateway").await;
    assert_eq!(by_role["items"][0]["fqdn"], "gw01.ams-01.example.net");
    let stale = app.get_json("/api/v1/hosts?stale=true").await;
    assert_eq!(stale["items"][0]["fqdn"], "hv01.fra-01.example.net");
    assert_eq!(stale["items"][0]["stale"], true);
    let q = app.get_json("/api/v1/hosts?q=GW0").await;
    assert_eq!(q["items"].as_array().unwrap().len(), 1);
    assert_error(
        app.get("/api/v1/hosts?role=toaster", &app.admin).await,
        400,
        "invalid_role",
        Some("role"),
    )
    .await;

    let expiring = app
        .get_json("/api/v1/certificates?expires_within_days=30")
        .await;
    let items = expiring["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["thumbprint"], soon_thumb);
    assert_eq!(items[0]["host"], "gw01.ams-01.example.net");
    let all = app
        .get_json("/api/v1/certificates?store=LocalMachine%5CMy&limit=1")
        .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    let next = all["next_cursor"].as_str().unwrap();
    let page2 = app
        .get_json(&format!(
            "/api/v1/certificates?store=LocalMachine%5CMy&limit=1&cursor={next}"
        ))
        .await;
    assert_eq!(page2["items"][0]["host"], "hv01.fra-01.example.net");
    assert!(page2["next_cursor"].is_null());
    assert_eq!(
        app.get("/api/v1/hosts/nope.example.net", &app.admin)
            .await
            .status(),
        404
    );
}

/// `?stamp=` walks the stamp's own expiry index: its pages keep the fleet list's order (expiry,
/// thumbprint, host, store) across cursors, and a host that moves to another stamp takes its
/// installations with it, even when its certificates did not change.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_stamps_certificates_page_in_expiry_order_and_follow_a_host_that_moves(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (soon, soon_thumb) = cert_b64("shared.ams-01.example.net", 10);
    let (later, later_thumb) = cert_b64("gw01.ams-01.example.net", 300);
    let mut gw01 = report("gw01.ams-01.example.net", "ams-01", &later);
    gw01["certificates"]
        .as_array_mut()
        .unwrap()
        .push(json!({"store": "LocalMachine\\My", "der": soon, "has_private_key": true}));
    post(&app, &app.admin, &gw01).await;
    post(
        &app,
        &app.admin,
        &report("gw02.ams-01.example.net", "ams-01", &soon),
    )
    .await;
    post(
        &app,
        &app.admin,
        &report("gw01.fra-01.example.net", "fra-01", &later),
    )
    .await;

    let mut seen = Vec::new();
    let mut path = "/api/v1/certificates?stamp=ams-01&limit=1".to_owned();
    loop {
        let page = app.get_json(&path).await;
        for i in page["items"].as_array().unwrap() {
            assert_eq!(i["stamp"], "ams-01");
            seen.push((
                i["thumbprint"].as_str().unwrap().to_owned(),
                i["host"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/certificates?stamp=ams-01&limit=1&cursor={c}"),
            None => break,
        }
    }
    let want = vec![
        (soon_thumb.clone(), "gw01.ams-01.example.net".to_owned()),
        (soon_thumb.clone(), "gw02.ams-01.example.net".to_owned()),
        (later_thumb.clone(), "gw01.ams-01.example.net".to_owned()),
    ];
    assert_eq!(
        seen, want,
        "one stamp's installations, soonest expiry first"
    );
    let soon_only = app
        .get_json("/api/v1/certificates?stamp=ams-01&expires_within_days=30")
        .await;
    assert_eq!(soon_only["items"].as_array().unwrap().len(), 2);

    // gw02 moves to fra-01 with the same certificates: no certificate is written again
    let mut moved = report("gw02.ams-01.example.net", "fra-01", &soon);
    moved["collected_at"] = json!(Utc::now() + Duration::seconds(1));
    assert_eq!(post(&app, &app.admin, &moved).await.status(), 202);
    let ams = app.get_json("/api/v1/certificates?stamp=ams-01").await;
    let hosts: Vec<&str> = ams["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["host"].as_str().unwrap())
        .collect();
    assert_eq!(
        hosts,
        ["gw01.ams-01.example.net", "gw01.ams-01.example.net"]
    );
    let fra = app
        .get_json("/api/v1/certificates?stamp=fra-01&expires_within_days=30")
        .await;
    assert_eq!(fra["items"].as_array().unwrap().len(), 1);
    assert_eq!(fra["items"][0]["host"], "gw02.ams-01.example.net");
    assert_eq!(fra["items"][0]["stamp"], "fra-01");
    assert_eq!(fra["items"][0]["thumbprint"], soon_thumb);
}

/// Writers other than ingest (the scale fleet loader, the benches, an operator's repair) may
/// leave an installation's stamp and expiry out: the database fills them, and keeps the stamp
/// when the host row moves by hand.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_installation_written_by_hand_gets_its_stamp_and_expiry(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (der, thumb) = cert_b64("gw01.ams-01.example.net", 40);
    post(
        &app,
        &app.admin,
        &report("gw01.ams-01.example.net", "ams-01", &der),
    )
    .await;
    sqlx::query(
        "insert into host_certificates (host_id, store, thumbprint, first_seen_at)
         select id, 'LocalMachine\\Root', $1, now() from hosts where fqdn = 'gw01.ams-01.example.net'",
    )
    .bind(&thumb)
    .execute(&pool)
    .await
    .unwrap();
    let wrong = "select count(*) from host_certificates hc
                 join hosts h on h.id = hc.host_id join certificates c on c.thumbprint = hc.thumbprint
                 where hc.stamp_id <> h.stamp_id or hc.not_after <> c.not_after";
    assert_eq!(
        count(&pool, "select count(*) from host_certificates").await,
        2
    );
    assert_eq!(count(&pool, wrong).await, 0);
    sqlx::query(
        "update hosts set stamp_id = (select id from stamps where name = 'fra-01')
         where fqdn = 'gw01.ams-01.example.net'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(count(&pool, wrong).await, 0);
    let fra = app.get_json("/api/v1/certificates?stamp=fra-01").await;
    assert_eq!(fra["items"].as_array().unwrap().len(), 2);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn report_ids_past_the_retention_window_are_forgotten(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let rep = report("gw01.ams-01.example.net", "ams-01", &der);
    post(&app, &app.admin, &rep).await;
    let mut newer = rep.clone();
    newer["report_id"] = json!(uuid::Uuid::new_v4());
    post(&app, &app.admin, &newer).await;
    sqlx::query("update reports set received_at = now() - interval '20 days' where report_id = $1")
        .bind(
            rep["report_id"]
                .as_str()
                .unwrap()
                .parse::<uuid::Uuid>()
                .unwrap(),
        )
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        stampbook_server::facts::reports::prune(&pool, 14)
            .await
            .unwrap(),
        1
    );
    assert_eq!(count(&pool, "select count(*) from reports").await, 1);
    assert_eq!(
        app.get_json("/api/v1/hosts/gw01.ams-01.example.net").await["fqdn"],
        "gw01.ams-01.example.net"
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn only_changes_the_stamp_rules_read_queue_them(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (cert, _) = cert_b64("gw01.ams-01.example.net", 200);
    let queued = || async {
        sqlx::query_as::<_, (Option<Vec<i64>>, bool)>(
            "select host_ids, stamp_rules from evaluation_queue",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let mut r = report("gw01.ams-01.example.net", "ams-01", &cert);
    assert_eq!(post(&app, &app.admin, &r).await.status(), 202);
    stampbook_server::rules::engine::evaluate_queued(&pool)
        .await
        .unwrap();
    assert!(queued().await.is_empty());
    // VMs come and go: the host's own rules run, the stamp-wide ones wait for the next whole run
    let mut again = |edit: &dyn Fn(&mut Value)| {
        r["report_id"] = json!(uuid::Uuid::new_v4());
        r["collected_at"] = json!(Utc::now());
        edit(&mut r);
        r.clone()
    };
    let body = again(&|r| r["host"]["vitals"]["vm_count"] = json!(7));
    assert_eq!(post(&app, &app.admin, &body).await.status(), 202);
    let q = queued().await;
    assert_eq!(q.len(), 1);
    assert!(q[0].0.as_ref().is_some_and(|h| h.len() == 1));
    assert!(
        !q[0].1,
        "a VM count is not an input of version drift or capacity"
    );
    stampbook_server::rules::engine::evaluate_queued(&pool)
        .await
        .unwrap();
    // physical memory and component versions are
    for edit in [
        &(|r: &mut Value| r["host"]["vitals"]["memory_mb"] = json!(32768)) as &dyn Fn(&mut Value),
        &|r: &mut Value| r["settings"]["components"][0]["version"] = json!("3.2.8224.0"),
    ] {
        let body = again(edit);
        assert_eq!(post(&app, &app.admin, &body).await.status(), 202);
        let q = queued().await;
        assert_eq!(q.len(), 1);
        assert!(q[0].1, "{:?}", body["host"]);
        stampbook_server::rules::engine::evaluate_queued(&pool)
            .await
            .unwrap();
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_root_added_time_from_the_registry_is_stored_as_an_upper_bound(pool: PgPool) {
    let app = common::spawn(pool.clone()).await;
    app.put_inventory(&common::spec_document()).await;
    let (mine, _) = cert_b64("gw01.ams-01.example.net", 300);
    let (root, _) = cert_b64("Contoso Root", 3000);
    let (other, _) = cert_b64("Fabrikam Root", 3000);
    let mut body = report("gw01.ams-01.example.net", "ams-01", &mine);
    body["certificates"] = json!([
        {"store": "LocalMachine\\My", "der": mine, "has_private_key": true},
        {"store": "LocalMachine\\Root", "der": root, "added_at": "2024-02-10T09:00:00Z",
         "added_at_source": "registry_last_write"},
        {"store": "LocalMachine\\Root", "der": other, "added_at": "2024-02-10T09:00:00Z"}
    ]);
    assert_eq!(post(&app, &app.admin, &body).await.status(), 202);
    let flags: Vec<(bool,)> = sqlx::query_as(
        "select added_at_upper_bound from host_certificates where store = 'LocalMachine\\Root'
         order by added_at_upper_bound",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        flags,
        vec![(false,), (true,)],
        "only the registry time is a bound"
    );
}

/// `/metrics` as a map of `stampbook_reports_ingested_total` by outcome.
async fn outcomes(app: &common::TestApp) -> std::collections::BTreeMap<String, u64> {
    let text = app.metrics_text().await;
    text.lines()
        .filter_map(|l| l.strip_prefix("stampbook_reports_ingested_total{outcome=\""))
        .filter_map(|l| l.split_once("\"} "))
        .map(|(o, n)| (o.to_owned(), n.trim().parse().unwrap()))
        .collect()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn every_report_is_counted_by_its_outcome_refused_and_quarantined_ones_too(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let collector = app.token("c", "collector", None).await;
    let reader = app.token("r", "read", None).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let first = report("gw01.ams-01.example.net", "ams-01", &der);
    assert_eq!(post(&app, &collector, &first).await.status(), 202);
    assert_eq!(post(&app, &collector, &first).await.status(), 202);
    let mut again = first.clone();
    again["report_id"] = json!(uuid::Uuid::new_v4());
    again["collected_at"] = json!(Utc::now());
    assert_eq!(post(&app, &collector, &again).await.status(), 202);
    let nowhere = report("gw01.nowhere.example.net", "nowhere-01", &der);
    assert_eq!(post(&app, &collector, &nowhere).await.status(), 422);
    let mut broken = report("gw02.ams-01.example.net", "ams-01", &der);
    broken["routes"][0]["destination"] = json!("10.0.0.1/33");
    assert_eq!(post(&app, &collector, &broken).await.status(), 422);
    assert_eq!(post(&app, &reader, &first).await.status(), 403);

    let counted = outcomes(&app).await;
    let n = |o: &str| counted.get(o).copied().unwrap_or_default();
    assert_eq!(
        (
            n("stored"),
            n("duplicate"),
            n("unchanged"),
            n("quarantined"),
            n("refused")
        ),
        (1, 1, 1, 1, 2),
        "{counted:?}"
    );
    assert_eq!(n("failed"), 0);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_outcomes_a_report_row_records_are_the_ones_the_database_allows(pool: PgPool) {
    use stampbook_server::domain::ReportOutcome;
    let check: String = sqlx::query_scalar(
        "select pg_get_constraintdef(oid) from pg_constraint where conname = 'reports_outcome_check'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let allowed: std::collections::BTreeSet<&str> = check.split('\'').skip(1).step_by(2).collect();
    let recorded: std::collections::BTreeSet<&str> =
        ReportOutcome::RECORDED.iter().map(|o| o.as_str()).collect();
    assert_eq!(allowed, recorded, "{check}");
}

/// FQDNs compare without case (`hosts.fqdn` is citext; DNS names are case-insensitive): a host
/// that reports its name in other letters is the same host, and a changed report of it updates it.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_changed_report_in_other_letters_updates_the_same_host(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    post(&app, &app.admin, &rep).await;
    next_report(&mut rep);
    rep["host"]["fqdn"] = json!("GW01.AMS-01.Example.NET");
    rep["services"][0]["state"] = json!("stopped");
    let res = post(&app, &app.admin, &rep).await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["outcome"], "stored", "{body}");
    assert_eq!(
        count(&pool, "select count(*) from hosts").await,
        1,
        "one host, whatever the letters"
    );
    let host = app.get_json("/api/v1/hosts/gw01.ams-01.example.net").await;
    assert_eq!(host["services"][0]["state"], "stopped", "{host}");
}

/// Windows keeps times in 100-ns ticks (PowerShell 7's `ConvertTo-Json` and the round-trip
/// format write 7 decimals), PostgreSQL in microseconds: a time the database rounded is the same
/// time, so a later report that moves only the VM count changes only the vitals, never the
/// services or certificates it repeats (no history row, no whole-stamp evaluation for a Root
/// certificate that did not change).
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn times_finer_than_a_microsecond_do_not_make_repeated_facts_changes(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    rep["services"][0]["started_at"] = json!("2026-12-02T14:31:19.7410226Z");
    rep["certificates"][0]["added_at"] = json!("2026-04-23T19:24:45.741022601Z");
    rep["certificates"][0]["store"] = json!("LocalMachine\\Root");
    rep["certificates"][0]["has_private_key"] = json!(false);
    post(&app, &app.admin, &rep).await;
    // what the inventory and the first report queued
    stampbook_server::rules::engine::evaluate_queued(&pool)
        .await
        .unwrap();
    next_report(&mut rep);
    rep["host"]["vitals"]["vm_count"] = json!(3);
    let body: Value = post(&app, &app.admin, &rep).await.json().await.unwrap();
    assert_eq!(body["outcome"], "stored", "{body}");
    let history = app
        .get_json("/api/v1/hosts/gw01.ams-01.example.net/history")
        .await;
    let changed: Vec<String> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["change"] == "changed")
        .map(|i| format!("{} {}", i["kind"], i["key"]))
        .collect();
    assert_eq!(changed, ["\"vitals\" \"vitals\""], "{history}");
    let whole = count(
        &pool,
        "select count(*) from evaluation_queue where host_ids is null",
    )
    .await;
    assert_eq!(
        whole, 0,
        "a report that repeats its Root certificate asks for its host only"
    );
}

/// What a report costs the host row: every update of a row is a new version of it (and, when its
/// page is full, an entry in each of the table's indexes). A first report inserts the row and
/// nothing more; a changed report updates it once, whatever it changed (facts, vitals, the
/// machine certificate, collection errors). Counted by a trigger of the test's own database.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_report_writes_its_host_row_once(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    sqlx::raw_sql(
        "create table host_writes (op text not null);
         create function count_host_write() returns trigger language plpgsql as $$
         begin insert into host_writes values (tg_op); return null; end $$;
         create trigger count_host_writes after insert or update on hosts
             for each row execute function count_host_write();",
    )
    .execute(&pool)
    .await
    .unwrap();
    let writes = |pool: PgPool| async move {
        let n: Vec<(String, i64)> =
            sqlx::query_as("select op, count(*) from host_writes group by op order by op")
                .fetch_all(&pool)
                .await
                .unwrap();
        sqlx::query("delete from host_writes")
            .execute(&pool)
            .await
            .unwrap();
        n
    };
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    rep["collection_errors"] = json!([]);
    assert_eq!(post(&app, &app.admin, &rep).await.status(), 202);
    assert_eq!(
        writes(pool.clone()).await,
        [("INSERT".to_owned(), 1)],
        "first report"
    );

    // changed: VM count, a new machine certificate, a section that failed to collect
    let (der2, _) = cert_b64("gw01.ams-01.example.net", 100);
    next_report(&mut rep);
    rep["host"]["vitals"]["vm_count"] = json!(3);
    rep["certificates"][0]["der"] = json!(der2);
    rep["collection_errors"] =
        json!([{"section": "services", "source": "Win32_Service", "message": "Access denied"}]);
    rep.as_object_mut().unwrap().remove("services");
    let r = post(&app, &app.admin, &rep).await;
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["outcome"], "stored", "{body}");
    assert_eq!(
        writes(pool.clone()).await,
        [("UPDATE".to_owned(), 1)],
        "changed report"
    );

    // the row holds what the separate updates wrote
    let row: (
        Option<chrono::DateTime<Utc>>,
        Option<i32>,
        Value,
        Vec<String>,
    ) = sqlx::query_as("select nearest_cert_expiry, vm_count, collection_errors, blind from hosts")
        .fetch_one(&pool)
        .await
        .unwrap();
    let expiry = row.0.unwrap();
    assert!(
        (expiry - (Utc::now() + Duration::days(100)))
            .num_hours()
            .abs()
            < 1,
        "{expiry}"
    );
    assert_eq!(row.1, Some(3));
    assert_eq!(row.2[0]["section"], "services", "{}", row.2);
}

/// A changed report does not read again a section it sent exactly as last time: what the last
/// time stored is still there (only ingest writes the fact tables). Shown by removing the
/// host's routes behind ingest's back: a report that sends the same routes (and another VM
/// count) leaves them removed, where reading and comparing would have put them back.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_section_sent_as_last_time_is_not_read_again(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    assert_eq!(post(&app, &app.admin, &rep).await.status(), 202);
    sqlx::query("delete from host_routes")
        .execute(&pool)
        .await
        .unwrap();
    next_report(&mut rep);
    rep["host"]["vitals"]["vm_count"] = json!(4);
    let body: Value = post(&app, &app.admin, &rep).await.json().await.unwrap();
    assert_eq!(body["outcome"], "stored", "{body}");
    assert_eq!(count(&pool, "select count(*) from host_routes").await, 0);
    assert_eq!(
        count(
            &pool,
            "select count(*) from fact_changes where kind = 'route'"
        )
        .await,
        0
    );
    // a report whose routes differ from the last sent is compared and stored as before
    next_report(&mut rep);
    rep["routes"][0]["metric"] = json!(100);
    post(&app, &app.admin, &rep).await;
    assert_eq!(count(&pool, "select count(*) from host_routes").await, 3);
}

/// Sections that come back to what they were, and settings parts sent, left out and cleared:
/// each report that changes a section against the last one sent records it, whatever the
/// kept digests say.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn sections_that_change_back_and_forth_are_each_recorded(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let (der, _) = cert_b64("gw01.ams-01.example.net", 200);
    let mut rep = report("gw01.ams-01.example.net", "ams-01", &der);
    let vmm = json!({"vmconnect_gateway_certificate_thumbprint": "AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12"});
    rep["settings"]["vmm"] = vmm.clone();
    post(&app, &app.admin, &rep).await;
    let steps: [(&str, Value, Value); 5] = [
        ("/routes/0/metric", json!(100), json!(1)),
        ("/routes/0/metric", json!(300), json!(2)),
        ("/settings/vmm", Value::Null, json!(3)),
        ("/settings/vmm", vmm.clone(), json!(4)),
        ("/routes/0/metric", json!(100), json!(5)),
    ];
    for (at, value, vm_count) in steps {
        next_report(&mut rep);
        *rep.pointer_mut(at).unwrap() = value;
        rep["host"]["vitals"]["vm_count"] = vm_count;
        let body: Value = post(&app, &app.admin, &rep).await.json().await.unwrap();
        assert_eq!(body["outcome"], "stored", "{at}: {body}");
    }
    let changes = |kind: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select change from fact_changes where kind = $1 order by id",
            )
            .bind(kind)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(changes("route").await, ["changed", "changed", "changed"]);
    assert_eq!(changes("setting").await, ["disappeared", "appeared"]);
    let stored: i32 = sqlx::query_scalar(
        "select metric from host_routes where destination = '0.0.0.0/0' and position = 0",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, 100);
}
