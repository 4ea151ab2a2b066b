//! Plans as WAP knows them, end to end: a `wap_server` pushes `wap`, the plans API and the
//! dashboard's plans pages carry WAP's view beside the declared one, each `plan.*` WAP rule opens
//! and resolves, an admin adopts a plan only WAP knows from its page (others are refused), the
//! simulated demo fleet shows one of each disagreement, and hostile `wap` bodies are refused with
//! the field (never a 500).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod dashboard;

use chrono::Utc;
use common::{TestApp, assert_error, spawn, spec_document};
use dashboard::{Browser, load_fleet};
use reqwest::{Method, StatusCode};
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

/// The page of a plan only WAP knows, and the `/plans` page, for a reader; adoption refused to
/// anyone but an admin's own session with its CSRF token, then done by one.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_plans_pages_show_what_wap_says_and_an_admin_adopts_a_plan_only_wap_knows(
    pool: PgPool,
) {
    let app = spawn(pool).await;
    fleet(&app).await;
    let clouds = r#"<Clouds><Cloud Id="c1" Name="Frankfurt Cloud" StampId="9f2e" /></Clouds>"#;
    let mut bronze = plan(
        "Bronze9x",
        "public",
        7,
        json!({"VmCount": "10", "CoreCount": "20", "RamInMB": "40960", "StorageInGB": "-1",
               "Clouds": "<Clouds><Cloud Id=\"b1\" Name=\"Gold Cloud\" /></Clouds>",
               "Note": "<script>alert(1)</script>"}),
    );
    bronze["display_name"] = json!("Bronze <b>IaaS</b>");
    push(
        &app,
        &wap_report(json!({"plans": [
            plan("GOLD-AMS", "public", 42, gold_settings("1800", clouds)),
            bronze.clone(),
        ]})),
    )
    .await;
    // WAP changes gold's subscriptions: the change is history of the plan
    push(
        &app,
        &wap_report(json!({"plans": [
            plan("GOLD-AMS", "public", 43, gold_settings("1800", clouds)),
            bronze,
        ]})),
    )
    .await;

    let reader = app.token("noc-reader", "read", None).await;
    let mut r = Browser::new(&app.base);
    let reader_csrf = r.logged_in(&reader).await;
    let plans = r.get("/plans").await;
    assert_eq!(plans.status, StatusCode::OK);
    plans.assert_contains(&[
        "In WAP",
        "DIFFERS",
        "vcpus: declared 2000, WAP 1800 (CoreCount=1800)",
        "WAP sells it on cloud Frankfurt Cloud of fra-01, not ams-01",
        "NOT IN WAP",
        "WAP: 43",
        "differ from WAP",
        "In WAP, not declared",
        "href=\"/plans/wap/Bronze9x\"",
        "href=\"/plans/wap/gold-ams\"",
        "Bronze &#60;b&#62;IaaS&#60;/b&#62;",
    ]);
    assert!(!plans.body.contains("<b>IaaS"), "escaped");

    let page = r.get("/plans/wap/bronze9x").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains(&[
        "NOT DECLARED",
        "Bronze9x",
        "Gold Cloud",
        "CoreCount",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
        "quota: {vms: 10, vcpus: 20, memory_gb: 40, storage_gb: 0}",
        "An admin can adopt this plan",
        "plan.undeclared",
    ]);
    assert!(!page.body.contains("<script>alert"), "escaped");
    assert!(
        !page.body.contains("/adopt\""),
        "no adoption form for a reader"
    );

    // refused: no session, a reader, an operator, an admin without or with a foreign token
    let adopt = "/plans/wap/Bronze9x/adopt";
    let fields = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("stamp", "ams-01".to_owned()),
            ("cloud", "Gold Cloud".to_owned()),
        ]
    };
    let mut nobody = Browser::new(&app.base);
    let refused = nobody.post(adopt, &pairs(&fields("x"))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = r.post(adopt, &pairs(&fields(&reader_csrf))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "a reader");
    let operator = app.token("noc-operator", "operator", None).await;
    let mut o = Browser::new(&app.base);
    let operator_csrf = o.logged_in(&operator).await;
    let refused = o.post(adopt, &pairs(&fields(&operator_csrf))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "an operator");
    let admin = app.token("plans-admin", "admin", None).await;
    let mut a = Browser::new(&app.base);
    let admin_csrf = a.logged_in(&admin).await;
    for bad in ["", "00", reader_csrf.as_str()] {
        let refused = a.post(adopt, &pairs(&fields(bad))).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "csrf {bad:?}");
    }
    assert!(
        app.get_json("/api/v1/plans/Bronze9x").await["source"] == "wap",
        "nothing was declared"
    );

    // the admin sees the form; a stamp that does not exist is refused on the page, with the field
    let page = a.get("/plans/wap/Bronze9x").await;
    page.assert_contains(&[
        "action=\"/plans/wap/Bronze9x/adopt\"",
        "name=\"remote_console\"",
    ]);
    let mut wrong = fields(&admin_csrf);
    wrong[1].1 = "nowhere-01".to_owned();
    let refused = a.post(adopt, &pairs(&wrong)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains(&["Not adopted", "nowhere-01", "(stamp)"]);
    let mut long = fields(&admin_csrf);
    long[2].1 = "c".repeat(201);
    let refused = a.post(adopt, &pairs(&long)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains(&["Not adopted", "(cloud)"]);

    // adopted: declared with WAP's name, state and quotas, audited, back to its page with the YAML
    let mut ok = fields(&admin_csrf);
    ok.push(("remote_console", "1".to_owned()));
    let done = a.post(adopt, &pairs(&ok)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/plans/wap/Bronze9x?adopted=1");
    let page = a.get(&done.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains(&[
        "Adopted",
        "AGREES WITH WAP",
        "Its entry in the inventory document",
        "stamp: &#34;ams-01&#34;",
        "remote_console: true",
        "quota: {vms: 10, vcpus: 20, memory_gb: 40, storage_gb: 0}",
    ]);
    let declared = app.get_json("/api/v1/plans/Bronze9x").await;
    assert_eq!(declared["source"], "declared");
    assert_eq!(declared["name"], "Bronze <b>IaaS</b>");
    assert_eq!(declared["public"], true);
    assert_eq!(declared["cloud"], "Gold Cloud");
    assert_eq!(declared["quota"]["vcpus"], 20);
    assert_eq!(declared["wap_status"], "matched");
    let actor: String = sqlx::query_scalar(
        "select actor from audit_log where entity = 'plan' and entity_key = 'Bronze9x' and action = 'create'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actor, "plans-admin");
    engine::evaluate_queued(&app.pool).await.unwrap();
    assert!(open(&app, "plan.undeclared").await.is_empty());
    let again = a.post(adopt, &pairs(&fields(&admin_csrf))).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // a declared plan's page: both sides, the disagreements, WAP's changes
    let gold = r.get("/plans/wap/gold-ams").await;
    assert_eq!(gold.status, StatusCode::OK);
    gold.assert_contains(&[
        "DIFFERS FROM WAP",
        "What the inventory declares",
        "vcpus: declared 2000, WAP 1800",
        "subscription_count: 42 → 43",
        WAP,
        "plan.cloud_mismatch",
    ]);
    let missing = r.get("/plans/wap/no-such-plan").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

fn pairs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The demo fleet (`simulate --faults`): its WAP servers report their stamps' plans, and WAP and
/// the inventory disagree in one place of each kind.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_simulated_fleet_shows_one_of_each_wap_disagreement(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    load_fleet(&app, 4, 10, 11).await;
    dashboard::evaluate(&pool).await;
    for rule in [
        "plan.undeclared",
        "plan.not_in_wap",
        "plan.quota_mismatch",
        "plan.cloud_mismatch",
    ] {
        assert_eq!(open(&app, rule).await.len(), 1, "{rule}");
    }
    let all = app.get_json("/api/v1/plans?source=all&limit=1000").await;
    let items = all["items"].as_array().unwrap();
    let status = |s: &str| items.iter().filter(|p| p["wap_status"] == s).count();
    assert_eq!(status("wap_only"), 1);
    assert_eq!(status("not_in_wap"), 1);
    assert_eq!(status("disagrees"), 2);
    assert_eq!(status("unknown"), 0, "every stamp's WAP reported");
    assert!(status("matched") >= 4, "the rest agree: {all}");
}

/// One plan (its API item, its page) reads only that plan's reports and declarations, and the
/// declared list only its page's: each must still say what the whole fleet's reading says.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_plan_read_alone_says_what_the_fleets_reading_says(pool: PgPool) {
    let app = spawn(pool).await;
    fleet(&app).await;
    // gold-ams in WAP in another case, on a cloud fra-01 declares; a plan only WAP knows, on
    // ams-01's own cloud by id only; dev-ams not in WAP; silver-fra on a stamp whose WAP never
    // reported
    let frankfurt = r#"<Clouds><Cloud Id="c1" Name="Frankfurt Cloud" StampId="9f2e" /></Clouds>"#;
    push(
        &app,
        &wap_report(json!({"plans": [
            plan("GOLD-AMS", "public", 42, gold_settings("1800", frankfurt)),
            plan("Bronze9x", "public", 7, json!({"Clouds": "<Clouds><Cloud Id=\"Gold Cloud\" /></Clouds>"})),
        ]})),
    )
    .await;

    let all = app.get_json("/api/v1/plans?source=all&limit=1000").await;
    let all = all["items"].as_array().unwrap().clone();
    let ids: Vec<&str> = all
        .iter()
        .map(|p| p["wap_plan_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["Bronze9x", "dev-ams", "gold-ams", "silver-fra"],
        "{all:?}"
    );
    let statuses: Vec<&str> = all
        .iter()
        .map(|p| p["wap_status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["wap_only", "not_in_wap", "disagrees", "unknown"]);
    let gold = &all[2];
    let kinds: Vec<&str> = gold["disagreements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["quota", "cloud"], "the cores and the cloud: {gold}");

    for item in &all {
        let id = item["wap_plan_id"].as_str().unwrap();
        assert_eq!(
            &app.get_json(&format!("/api/v1/plans/{id}")).await,
            item,
            "{id}"
        );
    }
    // a plan only WAP knows is found ignoring case, as WAP compares ids
    assert_eq!(app.get_json("/api/v1/plans/BRONZE9X").await, all[0]);
    let declared = app.get_json("/api/v1/plans?limit=1").await;
    assert_eq!(declared["items"][0], all[1]);
    let next = declared["next_cursor"].as_str().unwrap();
    let page = app
        .get_json(&format!("/api/v1/plans?limit=2&cursor={next}"))
        .await;
    assert_eq!(page["items"], json!([all[2], all[3]]));

    // the page of each: the cloud WAP places gold on, and the plan only WAP knows
    let mut b = Browser::new(&app.base);
    b.logged_in(&app.admin).await;
    let gold = b.get("/plans/wap/GOLD-ams").await;
    assert_eq!(gold.status, StatusCode::OK, "{}", gold.body);
    gold.assert_contains(&[
        "WAP sells it on cloud Frankfurt Cloud of fra-01, not ams-01",
        "1800",
    ]);
    let bronze = b.get("/plans/wap/bronze9X").await;
    assert_eq!(bronze.status, StatusCode::OK, "{}", bronze.body);
    bronze.assert_contains(&[
        "NOT DECLARED",
        "Bronze9x",
        "action=\"/plans/wap/Bronze9x/adopt\"",
    ]);
    assert_eq!(
        b.get("/plans/wap/nothing").await.status,
        StatusCode::NOT_FOUND
    );
}

/// Two declared plans whose ids differ only in case, on one page of the list: WAP's report of that
/// id (WAP compares ids ignoring case) is shown with each, not moved into the first and lost for
/// the second (the list moves each plan's reports into its answer, `Reconciler::take_view`).
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn plans_whose_ids_differ_in_case_on_one_page_both_show_wap(pool: PgPool) {
    let app = spawn(pool).await;
    fleet(&app).await;
    declare(
        &app,
        json!({"wap_plan_id": "GOLD-ams", "name": "Gold again", "public": true,
               "stamp": "ams-01", "cloud": "Gold Cloud"}),
    )
    .await;
    let gold = r#"<Clouds><Cloud Id="c1" Name="Gold Cloud" StampId="9f2e" /></Clouds>"#;
    push(
        &app,
        &wap_report(
            json!({"plans": [plan("Gold-AMS", "public", 42, gold_settings("2000", gold))]}),
        ),
    )
    .await;
    let page = app.get_json("/api/v1/plans?limit=1000").await;
    let items = page["items"].as_array().unwrap();
    let golds: Vec<&Value> = items
        .iter()
        .filter(|p| {
            p["wap_plan_id"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case("gold-ams")
        })
        .collect();
    assert_eq!(golds.len(), 2, "{page}");
    for g in golds {
        assert_eq!(g["wap"]["id"], "Gold-AMS", "{g}");
        assert_eq!(g["wap"]["reported_by"][0]["host"], WAP, "{g}");
    }
}

/// The plans page lists the first 100 plans only WAP knows, by id, and says where the rest are;
/// exactly 100 are listed without that remark.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_plans_page_lists_the_first_hundred_plans_only_wap_knows(pool: PgPool) {
    let app = spawn(pool).await;
    fleet(&app).await;
    let trials = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| plan(&format!("trial-{i:03}"), "private", 0, json!({})))
            .collect()
    };
    push(&app, &wap_report(json!({"plans": trials(101)}))).await;
    let mut b = Browser::new(&app.base);
    b.logged_in(&app.admin).await;
    for path in ["/plans", "/plans?stamp=ams-01"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        page.assert_contains(&[
            "In WAP, not declared <span class=\"muted\">100+</span>",
            "href=\"/plans/wap/trial-000\"",
            "href=\"/plans/wap/trial-099\"",
            "<code>GET /api/v1/plans?source=wap</code> lists them all",
        ]);
        assert!(!page.body.contains("trial-100"), "{path}: the 101st");
    }
    let all = app.get_json("/api/v1/plans?source=wap&limit=1000").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 101);
    // another stamp's WAP reported none of them
    let fra = b.get("/plans?stamp=fra-01").await;
    assert!(!fra.body.contains("In WAP, not declared"), "{}", fra.body);

    push(&app, &wap_report(json!({"plans": trials(100)}))).await;
    let page = b.get("/plans").await;
    page.assert_contains(&[
        "In WAP, not declared <span class=\"muted\">100</span>",
        "href=\"/plans/wap/trial-099\"",
    ]);
    assert!(!page.body.contains("lists them all"));
}
