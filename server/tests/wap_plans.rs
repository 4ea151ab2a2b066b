//! Plans as WAP knows them, end to end: a `wap_server` pushes `wap`, the plans API carries WAP's
//! view beside the declared one, each `plan.*` WAP rule opens and resolves, and hostile `wap`
//! bodies are refused with the field (never a 500).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Utc;
use common::{TestApp, assert_error, spawn, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_server::rules::engine;

const WAP: &str = "wap01.ams-01.example.net";

fn gold_settings(cores: &str, clouds: &str) -> Value {
    json!({"Clouds": clouds, "VmCount": "500", "CoreCount": cores, "RamInMB": "8388608",
           "StorageInGB": "100000", "Actions": "<Actions><Stop /></Actions>"})
}

/// A report of the WAP server of ams-01; `wap` as given (`Value::Null`: not collected).
fn wap_report(wap: Value) -> Value {
    let mut r = json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": Utc::now(),
        "host": {"fqdn": WAP, "stamp": "ams-01", "roles": ["wap_server"]},
        "services": []
    });
    if !wap.is_null() {
        r["wap"] = wap;
    }
    r
}

fn plan(id: &str, state: &str, subscriptions: u64, settings: Value) -> Value {
    json!({"id": id, "display_name": format!("{id} plan"), "state": state,
           "subscription_count": subscriptions,
           "quotas": [{"service_name": "systemcenter", "instance_id": "5a8c1a3e", "settings": settings}]})
}

async fn push(app: &TestApp, report: &Value) {
    let r = app
        .send_json(Method::POST, "/api/v1/reports", &app.admin, report)
        .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    engine::evaluate_queued(&app.pool).await.unwrap();
}

async fn open(app: &TestApp, rule: &str) -> Vec<Value> {
    app.get_json(&format!("/api/v1/problems?rule={rule}&state=open"))
        .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn declare(app: &TestApp, body: Value) {
    let r = app
        .send_json(Method::POST, "/api/v1/plans", &app.admin, &body)
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    engine::evaluate_queued(&app.pool).await.unwrap();
}

/// ams-01 declares gold-ams (Gold Cloud) and dev-ams; fra-01 declares silver-fra on its own cloud.
async fn fleet(app: &TestApp) {
    assert_eq!(app.put_inventory(&spec_document()).await.status(), 200);
    declare(
        app,
        json!({"wap_plan_id": "dev-ams", "name": "Dev", "public": false, "stamp": "ams-01",
                        "cloud": "Gold Cloud"}),
    )
    .await;
    declare(
        app,
        json!({"wap_plan_id": "silver-fra", "name": "Silver", "stamp": "fra-01",
                        "cloud": "Frankfurt Cloud"}),
    )
    .await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn each_wap_rule_opens_from_a_report_and_resolves_when_wap_and_inventory_agree(pool: PgPool) {
    let app = spawn(pool).await;
    fleet(&app).await;

    // before ams-01's WAP said anything, absence from WAP is unknown
    let gold = app.get_json("/api/v1/plans/gold-ams").await;
    assert_eq!(gold["source"], "declared");
    assert_eq!(gold["wap_status"], "unknown");
    assert!(gold["wap"].is_null());
    assert!(open(&app, "plan.not_in_wap").await.is_empty());

    // WAP sells gold (id in other case) with fewer cores on Frankfurt's cloud, and an undeclared
    // public plan; dev-ams is not in WAP
    let clouds = r#"<Clouds><Cloud Id="c1" Name="Frankfurt Cloud" StampId="9f2e" /></Clouds>"#;
    push(
        &app,
        &wap_report(json!({"plans": [
            plan("GOLD-AMS", "public", 42, gold_settings("1800", clouds)),
            plan("Bronze9x", "public", 7, json!({})),
            plan("Trial1", "private", 0, json!({})),
        ]})),
    )
    .await;

    let undeclared = open(&app, "plan.undeclared").await;
    assert_eq!(undeclared.len(), 1, "only the public one: {undeclared:?}");
    assert_eq!(undeclared[0]["subject"], "Bronze9x");
    assert_eq!(undeclared[0]["severity"], "warning");
    assert_eq!(undeclared[0]["evidence"]["subscription_count"], 7);

    let missing = open(&app, "plan.not_in_wap").await;
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["plan"], "dev-ams");

    let quota = open(&app, "plan.quota_mismatch").await;
    assert_eq!(quota.len(), 1);
    assert_eq!(quota[0]["plan"], "gold-ams");
    let diff = &quota[0]["evidence"]["differences"][0];
    assert_eq!(
        (&diff["quota"], &diff["declared"], &diff["wap"]),
        (&json!("vcpus"), &json!(2000), &json!(1800))
    );

    let cloud = open(&app, "plan.cloud_mismatch").await;
    assert_eq!(cloud.len(), 1);
    assert_eq!(cloud[0]["severity"], "critical");
    assert_eq!(
        cloud[0]["evidence"]["clouds"][0]["wap_cloud"],
        "Frankfurt Cloud"
    );
    assert_eq!(
        cloud[0]["evidence"]["clouds"][0]["wap_cloud_stamps"],
        json!(["fra-01"])
    );
    assert_eq!(cloud[0]["evidence"]["declared_stamp"], "ams-01");

    // the plans API carries WAP's view and the disagreements
    let gold = app.get_json("/api/v1/plans/gold-ams").await;
    assert_eq!(gold["wap_status"], "disagrees");
    assert_eq!(gold["wap"]["id"], "GOLD-AMS");
    assert_eq!(gold["wap"]["state"], "public");
    assert_eq!(gold["wap"]["subscription_count"], 42);
    assert_eq!(gold["wap"]["reported_by"][0]["host"], WAP);
    assert!(gold["wap"]["last_seen_at"].is_string());
    let kinds: Vec<&str> = gold["disagreements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["quota", "cloud"]);
    assert_eq!(
        app.get_json("/api/v1/plans/dev-ams").await["wap_status"],
        "not_in_wap"
    );
    let wap_only = app.get_json("/api/v1/plans?source=wap").await;
    let ids: Vec<&str> = wap_only["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["wap_plan_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["Bronze9x", "Trial1"]);
    let all = app.get_json("/api/v1/plans?source=all&limit=2").await;
    assert_eq!(all["items"][0]["wap_plan_id"], "Bronze9x");
    // by id in byte order, as cursors compare them
    assert_eq!(all["items"][1]["wap_plan_id"], "Trial1");
    let next = all["next_cursor"].as_str().unwrap();
    let rest = app
        .get_json(&format!("/api/v1/plans?source=all&cursor={next}"))
        .await;
    let ids: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["wap_plan_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["dev-ams", "gold-ams", "silver-fra"]);
    let declared_only = app.get_json("/api/v1/plans").await;
    assert_eq!(declared_only["items"].as_array().unwrap().len(), 3);
    let bronze = app.get_json("/api/v1/plans/bronze9x").await;
    assert_eq!(
        (&bronze["source"], &bronze["wap_status"]),
        (&json!("wap"), &json!("wap_only"))
    );

    // declaring the undeclared plan resolves plan.undeclared at once (its WAP's stamp is queued)
    declare(
        &app,
        json!({"wap_plan_id": "Bronze9x", "name": "Bronze", "stamp": "ams-01",
                         "cloud": "Gold Cloud"}),
    )
    .await;
    assert!(open(&app, "plan.undeclared").await.is_empty());

    // WAP fixed: gold's quota and cloud agree, dev-ams exists
    push(
        &app,
        &wap_report(json!({"plans": [
            plan("GOLD-AMS", "public", 43, gold_settings("2000", "Gold Cloud")),
            plan("Bronze9x", "public", 7, json!({})),
            plan("dev-ams", "private", 1, json!({})),
        ]})),
    )
    .await;
    for rule in [
        "plan.not_in_wap",
        "plan.quota_mismatch",
        "plan.cloud_mismatch",
    ] {
        assert!(open(&app, rule).await.is_empty(), "{rule} resolved");
    }
    let gold = app.get_json("/api/v1/plans/gold-ams").await;
    assert_eq!(gold["wap_status"], "matched");
    assert_eq!(gold["wap"]["subscription_count"], 43);

    // a report that did not collect wap keeps what WAP said
    push(&app, &wap_report(Value::Null)).await;
    let gold = app.get_json("/api/v1/plans/gold-ams").await;
    assert_eq!(gold["wap_status"], "matched");

    // WAP that has no plans: every declared plan of the stamp is absent from it
    push(&app, &wap_report(json!({"plans": []}))).await;
    let missing = open(&app, "plan.not_in_wap").await;
    let mut plans: Vec<&str> = missing
        .iter()
        .map(|p| p["plan"].as_str().unwrap())
        .collect();
    plans.sort_unstable();
    assert_eq!(plans, ["Bronze9x", "dev-ams", "gold-ams"]);
    // fra-01 has no WAP data: its plan is unknown, not absent
    assert_eq!(
        app.get_json("/api/v1/plans/silver-fra").await["wap_status"],
        "unknown"
    );

    // the WAP server's history says what changed
    let history = app
        .get_json(&format!("/api/v1/hosts/{WAP}/history?limit=100"))
        .await;
    let text = history.to_string();
    assert!(text.contains("wap_plan"), "{text}");
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn subscription_counts_from_wap_are_kept_per_stamp_for_capacity(pool: PgPool) {
    let app = spawn(pool).await;
    fleet(&app).await;
    push(
        &app,
        &wap_report(json!({"plans": [
            plan("Gold-AMS", "public", 42, json!({})),
            json!({"id": "nocount", "state": "public"}),
        ]})),
    )
    .await;
    let stamp_id: i64 = sqlx::query_scalar("select id from stamps where name = 'ams-01'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let subs = stampbook_server::facts::wap::subscriptions(&mut conn, stamp_id)
        .await
        .unwrap();
    assert_eq!(
        subs.into_iter().collect::<Vec<_>>(),
        [("gold-ams".to_owned(), 42)]
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn hostile_wap_sections_are_refused_with_the_field(pool: PgPool) {
    let app = spawn(pool).await;
    fleet(&app).await;
    let post = |body: Value| {
        let app = &app;
        async move {
            app.send_json(Method::POST, "/api/v1/reports", &app.admin, &body)
                .await
        }
    };
    let many: serde_json::Map<String, Value> =
        (0..100).map(|i| (format!("K{i}"), json!("1"))).collect();
    assert_error(
        post(wap_report(
            json!({"plans": [plan("p1", "public", 1, Value::Object(many))]}),
        ))
        .await,
        422,
        "too_many",
        Some("wap.plans[0].quotas[0].settings"),
    )
    .await;
    assert_error(
        post(wap_report(
            json!({"plans": [plan("p1", "public", 1, json!({"Clouds": "a\u{0}b"}))]}),
        ))
        .await,
        422,
        "invalid_text",
        Some("wap.plans[0].quotas[0].settings.Clouds"),
    )
    .await;
    assert_error(
        post(wap_report(
            json!({"plans": [plan("p1", "public", 1, json!({"Clouds": "x".repeat(20_000)}))]}),
        ))
        .await,
        422,
        "invalid_value",
        Some("wap.plans[0].quotas[0].settings.Clouds"),
    )
    .await;
    assert_error(
        post(wap_report(json!({"plans": [{"id": "x".repeat(300)}]}))).await,
        422,
        "invalid_plan_id",
        Some("wap.plans[0].id"),
    )
    .await;
    assert_error(
        post(wap_report(
            json!({"plans": [{"id": "Gold"}, {"id": "GOLD"}]}),
        ))
        .await,
        422,
        "duplicate_plan",
        Some("wap.plans[1].id"),
    )
    .await;
    assert_error(
        post(wap_report(
            json!({"plans": [{"id": "Gold", "state": "on sale"}]}),
        ))
        .await,
        422,
        "invalid_value",
        Some("wap.plans[0].state"),
    )
    .await;
    assert_error(
        post(wap_report(
            json!({"plans": [{"id": "Gold", "display_name": "d".repeat(300)}]}),
        ))
        .await,
        422,
        "invalid_value",
        Some("wap.plans[0].display_name"),
    )
    .await;
    let r = post(wap_report(
        json!({"plans": [{"id": "Gold", "quotas": "lots"}]}),
    ))
    .await;
    assert_eq!(r.status(), 400, "a quota list that is no list is malformed");
    // nothing of the refused reports was kept
    let stored: i64 = sqlx::query_scalar("select count(*) from host_wap_plans")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}
