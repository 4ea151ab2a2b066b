//! Inventory through the real HTTP API: round trip, idempotent apply, validation errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_error, spawn, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;

async fn audit_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from audit_log")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn inventory_document_round_trips(pool: PgPool) {
    let app = spawn(pool).await;
    let resp = app.put_inventory(&spec_document()).await;
    assert_eq!(resp.status(), 200);
    let summary: Value = resp.json().await.unwrap();
    assert!(
        summary["created"]
            .as_array()
            .unwrap()
            .contains(&json!("stamp/ams-01"))
    );
    assert!(
        summary["created"]
            .as_array()
            .unwrap()
            .contains(&json!("plan/gold-ams"))
    );

    let stamp = app.get_json("/api/v1/stamps/ams-01").await;
    assert_eq!(stamp["display_name"], "Amsterdam 1");
    assert_eq!(stamp["rd_gateway_fqdn"], "console.ams-01.example.net");
    assert_eq!(stamp["thresholds"]["cert_critical_days"], 7);
    assert_eq!(stamp["target_versions"]["vmm_server"], "3.2.7620.0");
    assert_eq!(stamp["networks"][0]["name"], "frontend");
    assert_eq!(stamp["networks"][1]["cidr"], "10.0.0.0/24");
    assert_eq!(stamp["networks"][1]["gateway"], "10.0.0.1");
    assert_eq!(
        stamp["networks"][1]["required_prefixes"],
        json!(["10.0.0.0/16"])
    );
    assert_eq!(stamp["scale_units"][0]["rack"], "R1");
    assert_eq!(stamp["health"]["health"], "ok");

    let list = app.get_json("/api/v1/stamps").await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ams-01", "fra-01"]);
    assert!(list["next_cursor"].is_null());

    let plan = app.get_json("/api/v1/plans/gold-ams").await;
    assert_eq!(plan["stamp"], "ams-01");
    assert_eq!(plan["quota"]["vcpus"], 2000);
    assert_eq!(plan["remote_console"], true);
    assert_eq!(plan["stamp_health"]["health"], "ok");
    // no VMM server reported yet: nothing is known to be broken, and nothing is known to work
    assert_eq!(plan["stamp_health"]["remote_console"]["state"], "unknown");
    assert_eq!(plan["stamp_health"]["remote_console"]["ready"], false);
    assert_eq!(
        plan["stamp_health"]["remote_console"]["vmm_reported"], false,
        "no VMM server reported yet"
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn applying_twice_changes_nothing_and_writes_no_audit_rows(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    assert_eq!(app.put_inventory(&spec_document()).await.status(), 200);
    let rows = audit_rows(&pool).await;
    assert!(rows > 0, "the first apply is audited");
    let before = app.get_json("/api/v1/stamps/ams-01").await;

    let resp = app.put_inventory(&spec_document()).await;
    let summary: Value = resp.json().await.unwrap();
    assert_eq!(summary["created"], json!([]));
    assert_eq!(summary["updated"], json!([]));
    assert_eq!(summary["deleted"], json!([]));
    assert_eq!(audit_rows(&pool).await, rows);
    let after = app.get_json("/api/v1/stamps/ams-01").await;
    assert_eq!(before["updated_at"], after["updated_at"]);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_change_is_audited_with_before_and_after(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let mut doc = spec_document();
    doc["stamps"][0]["networks"][0]["gateway"] = json!("10.0.0.254");
    doc["stamps"][0]["scale_units"] = json!([]);
    let summary: Value = app.put_inventory(&doc).await.json().await.unwrap();
    assert_eq!(summary["updated"], json!(["network/ams-01/mgmt"]));
    assert_eq!(summary["deleted"], json!(["scale_unit/ams-01/compute-r1"]));
    let audit = app.get_json("/api/v1/audit?entity=network").await;
    let last = &audit["items"][0];
    assert_eq!(last["action"], "update");
    assert_eq!(last["actor"], "test-admin");
    assert_eq!(last["before"]["gateway"], "10.0.0.1");
    assert_eq!(last["after"]["gateway"], "10.0.0.254");
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_stamp_left_out_of_the_document_is_not_deleted(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let doc = json!({"stamps": [{"name": "lon-01"}]});
    assert_eq!(app.put_inventory(&doc).await.status(), 200);
    let list = app.get_json("/api/v1/stamps").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn yaml_documents_apply_like_json(pool: PgPool) {
    let app = spawn(pool).await;
    let yaml = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/inventory.yaml"
    ))
    .unwrap();
    let resp = app
        .http
        .put(app.url("/api/v1/inventory"))
        .bearer_auth(&app.admin)
        .header("content-type", "application/yaml")
        .body(yaml)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let stamp = app.get_json("/api/v1/stamps/ams-01").await;
    assert_eq!(stamp["target_versions"]["vmm_server"], "3.2.7620.0");
    // the same document as JSON is then unchanged
    let summary: Value = app
        .put_inventory(&spec_document())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        summary["updated"],
        json!([]),
        "the YAML and JSON forms declare the same ams-01"
    );
    assert_eq!(summary["created"], json!(["stamp/fra-01"]));
}

/// Schemathesis (seed 4242) found `null` accepted as a YAML document: it applied nothing and
/// answered 200, where JSON's `null` is refused.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_yaml_document_that_is_not_a_mapping_is_refused(pool: PgPool) {
    let app = spawn(pool).await;
    for body in ["null\n", "", "~", "- ams-01\n", "ams-01\n"] {
        let resp = app
            .http
            .put(app.url("/api/v1/inventory"))
            .bearer_auth(&app.admin)
            .header("content-type", "application/yaml")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error(resp, 400, "malformed", None).await;
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn validation_errors_name_the_field(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"stamps": [{"name": "ams-01", "networks": [{"name": "m", "role": "management", "cidr": "10.0.0.300/24"}]}]}),
            422,
            "invalid_cidr",
            "stamps[0].networks[0].cidr",
        ),
        (
            json!({"stamps": [{"name": "ams-01", "networks": [{"name": "m", "role": "management", "cidr": "10.0.0.0/24", "gateway": "10.9.0.1"}]}]}),
            422,
            "gateway_outside_network",
            "stamps[0].networks[0].gateway",
        ),
        (
            json!({"stamps": [{"name": "ams-01", "networks": [
                {"name": "a", "role": "management", "cidr": "10.0.0.0/16"},
                {"name": "b", "role": "front_end", "cidr": "10.0.1.0/24"}]}]}),
            422,
            "overlapping_networks",
            "stamps[0].networks[1].cidr",
        ),
        (
            json!({"plans": [{"wap_plan_id": "p1", "name": "P", "stamp": "nowhere-01"}]}),
            422,
            "unknown_stamp",
            "plans[0].stamp",
        ),
        (
            json!({"stamps": [{"name": "Bad Name!"}]}),
            422,
            "invalid_name",
            "stamps[0].name",
        ),
        (
            json!({"stamps": [{"name": "ams-01", "purpose": "secret"}]}),
            422,
            "invalid_value",
            "stamps[0].purpose",
        ),
        (
            json!({"stamps": [{"name": "ams-01", "report_interval_s": "often"}]}),
            400,
            "malformed",
            "stamps[0].report_interval_s",
        ),
        (
            json!({"stamps": [{"name": "ams-01"}, {"name": "ams-01"}]}),
            409,
            "duplicate_stamp",
            "stamps[1].name",
        ),
    ];
    for (doc, status, code, field) in cases {
        let resp = app.put_inventory(&doc).await;
        assert_error(resp, status, code, Some(field)).await;
    }
    // nothing of the refused documents was stored
    let n: i64 = sqlx::query_scalar("select count(*) from stamps")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_refused_document_leaves_nothing_half_written(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let doc = json!({
        "stamps": [{"name": "ams-01"}],
        "plans": [{"wap_plan_id": "p1", "name": "P", "stamp": "ams-01"}, {"wap_plan_id": "p2", "name": "P", "stamp": "ghost-01"}]
    });
    assert_error(
        app.put_inventory(&doc).await,
        422,
        "unknown_stamp",
        Some("plans[1].stamp"),
    )
    .await;
    let n: i64 = sqlx::query_scalar("select count(*) from stamps")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "the stamp of the refused document was rolled back");
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn single_object_routes_create_conflict_and_retire(pool: PgPool) {
    let app = spawn(pool).await;
    let admin = app.admin.clone();
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/stamps",
            &admin,
            &json!({"name": "ams-01", "region": "eu-west"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], "/api/v1/stamps/ams-01");
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/stamps",
            &admin,
            &json!({"name": "ams-01"}),
        )
        .await;
    assert_error(r, 409, "stamp_exists", Some("name")).await;

    let net =
        json!({"name": "mgmt", "role": "management", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1"});
    let r = app
        .send_json(Method::POST, "/api/v1/stamps/ams-01/networks", &admin, &net)
        .await;
    assert_eq!(r.status(), 201);
    let r = app
        .send_json(Method::POST, "/api/v1/stamps/ams-01/networks", &admin, &net)
        .await;
    assert_error(r, 409, "network_exists", Some("name")).await;
    let over = json!({"name": "other", "role": "storage", "cidr": "10.0.0.128/25"});
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/stamps/ams-01/networks",
            &admin,
            &over,
        )
        .await;
    assert_error(r, 422, "overlapping_networks", Some("cidr")).await;

    let r = app
        .send_json(
            Method::PATCH,
            "/api/v1/stamps/ams-01",
            &admin,
            &json!({"display_name": "Amsterdam One"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["display_name"], "Amsterdam One");
    assert_eq!(
        body["region"], "eu-west",
        "PATCH keeps what it does not name"
    );

    let plan =
        json!({"wap_plan_id": "gold", "name": "Gold", "stamp": "ams-01", "quota": {"vcpus": 10}});
    assert_eq!(
        app.send_json(Method::POST, "/api/v1/plans", &admin, &plan)
            .await
            .status(),
        201
    );
    assert_error(
        app.send_json(Method::POST, "/api/v1/plans", &admin, &plan)
            .await,
        409,
        "plan_exists",
        Some("wap_plan_id"),
    )
    .await;

    let r = app
        .http
        .delete(app.url("/api/v1/stamps/ams-01"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body["retired_at"].is_string());
    let list = app.get_json("/api/v1/stamps").await;
    assert_eq!(
        list["items"],
        json!([]),
        "retired stamps are hidden by default"
    );
    let list = app.get_json("/api/v1/stamps?include_retired=true").await;
    assert_eq!(list["items"][0]["name"], "ams-01");
    // the plan stays
    assert_eq!(app.get_json("/api/v1/plans/gold").await["stamp"], "ams-01");
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn lists_paginate_with_an_opaque_cursor(pool: PgPool) {
    let app = spawn(pool).await;
    let stamps: Vec<Value> = (1..=5)
        .map(|i| json!({"name": format!("s-{i:02}")}))
        .collect();
    app.put_inventory(&json!({"stamps": stamps})).await;
    let mut seen = vec![];
    let mut path = "/api/v1/stamps?limit=2".to_owned();
    loop {
        let page = app.get_json(&path).await;
        for s in page["items"].as_array().unwrap() {
            seen.push(s["name"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/stamps?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["s-01", "s-02", "s-03", "s-04", "s-05"]);
    let r = app.get("/api/v1/stamps?limit=0", &app.admin).await;
    assert_error(r, 400, "invalid_limit", Some("limit")).await;
    let r = app.get("/api/v1/stamps?cursor=garbage", &app.admin).await;
    assert_error(r, 400, "invalid_cursor", Some("cursor")).await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn wrong_content_type_and_bad_json_are_refused(pool: PgPool) {
    let app = spawn(pool).await;
    let r = app
        .http
        .post(app.url("/api/v1/stamps"))
        .bearer_auth(&app.admin)
        .header("content-type", "text/plain")
        .body("name: x")
        .send()
        .await
        .unwrap();
    assert_error(r, 415, "unsupported_media_type", None).await;
    let r = app
        .http
        .post(app.url("/api/v1/stamps"))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "malformed", None).await;
    let r = app
        .http
        .patch(app.url("/api/v1/plans"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_error(r, 405, "method_not_allowed", None).await;
    let r = app.get("/api/v1/nothing-here", &app.admin).await;
    assert_error(r, 404, "not_found", None).await;
}

/// The defaults of a stamp's thresholds live in `Thresholds::default()`; the columns' defaults
/// (for rows written before a threshold existed) must say the same.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_thresholds_columns_default_to_what_the_code_defaults_to(pool: PgPool) {
    let d = stampbook_server::inventory::model::Thresholds::default();
    let expected = serde_json::to_value(&d).unwrap();
    let columns: Vec<(String, Option<String>)> = sqlx::query_as(
        "select column_name::text, column_default::text from information_schema.columns
         where table_name = 'stamps' and column_name = any($1)",
    )
    .bind(
        expected
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<String>>(),
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(columns.len(), expected.as_object().unwrap().len());
    for (name, default) in columns {
        let default: f64 = default
            .unwrap_or_default()
            .trim_end_matches("::double precision")
            .parse()
            .unwrap();
        assert_eq!(
            Some(default),
            expected[&name].as_f64(),
            "stamps.{name} defaults to {default}"
        );
    }
}
