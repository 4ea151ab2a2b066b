//! Big hosts and big fleets stay readable pages: a host's fact tables show at most 200 rows with
//! the count of the rest and a link to them, the overview shows 200 stamps a page and the plans
//! page 100 plans a page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod dashboard;

use std::collections::BTreeSet;

use chrono::Utc;
use dashboard::Browser;
use reqwest::StatusCode;
use sqlx::PgPool;

const HOST: &str = "gw01.ams-01.example.net";

/// The stamp slugs a page links tiles to, in page order.
fn stamp_links(body: &str) -> Vec<String> {
    body.split("href=\"/stamps/")
        .skip(1)
        .map(|rest| rest.split(['"', '?']).next().unwrap().to_owned())
        .collect()
}

/// The route destinations a host page lists (the test's routes are all in 172.16.0.0/16).
fn route_rows(body: &str) -> Vec<String> {
    body.split("<td class=\"mono\">172.16.")
        .skip(1)
        .map(|rest| format!("172.16.{}", rest.split(['<', ' ']).next().unwrap()))
        .collect()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_host_with_a_thousand_routes_shows_two_hundred_and_links_to_the_rest(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    assert!(
        app.put_inventory(&common::spec_document())
            .await
            .status()
            .is_success()
    );
    let mut routes: Vec<serde_json::Value> = (0..999)
        .map(|i| {
            serde_json::json!({"destination": format!("172.16.{}.{}/32", i / 256, i % 256),
                               "next_hop": "10.0.0.1", "interface": "mgmt", "metric": 20, "persistent": true})
        })
        .collect();
    // the default route comes last: the page showing it still knows it is the effective one
    routes.push(
        serde_json::json!({"destination": "0.0.0.0/0", "next_hop": "10.0.0.1",
                                   "interface": "mgmt", "metric": 10, "persistent": true}),
    );
    let report = serde_json::json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": Utc::now(),
        "agent": {"name": "stampbook-agent", "version": "0.1.0"},
        "host": {"fqdn": HOST, "stamp": "ams-01", "scale_unit": "compute-r1", "roles": ["nvgre_gateway"],
                 "os": {"name": "Windows Server 2012 R2", "version": "6.3.9600"}, "vitals": {"cpu_cores": 8}},
        "interfaces": [{"name": "mgmt", "addresses": ["10.0.0.21/24"], "gateway": "10.0.0.1"}],
        "routes": routes,
    });
    let r = app
        .send_json(
            reqwest::Method::POST,
            "/api/v1/reports",
            &app.admin,
            &report,
        )
        .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let reader = app.token("reader", "read", None).await;
    let mut b = Browser::new(&app.base);
    b.logged_in(&reader).await;

    let first = b.get(&format!("/hosts/{HOST}")).await;
    assert_eq!(first.status, StatusCode::OK);
    let shown = route_rows(&first.body);
    assert_eq!(shown.len(), 200, "the first page shows the cap");
    assert_eq!(shown[0], "172.16.0.0/32");
    first.assert_contains(&[
        "1–200 of 1\u{202F}000 routes",
        "800 more",
        &format!("href=\"/hosts/{HOST}?routes=200#routes\""),
    ]);

    let second = b.get(&format!("/hosts/{HOST}?routes=200")).await;
    assert_eq!(second.status, StatusCode::OK);
    let shown = route_rows(&second.body);
    assert_eq!(shown.len(), 200);
    assert_eq!(
        shown[0], "172.16.0.200/32",
        "the link's page goes on where the first stopped"
    );
    second.assert_contains(&[
        "201–400 of 1\u{202F}000 routes",
        &format!("href=\"/hosts/{HOST}#routes\""),
        &format!("href=\"/hosts/{HOST}?routes=400#routes\""),
    ]);

    let mut seen = BTreeSet::new();
    let mut at = 0;
    while at < 1000 {
        let page = b.get(&format!("/hosts/{HOST}?routes={at}")).await;
        seen.extend(route_rows(&page.body));
        if at == 800 {
            assert!(
                page.body.contains("EFFECTIVE DEFAULT"),
                "the last page marks the default route"
            );
            assert!(
                !page.body.contains("next 200"),
                "nothing after the last page"
            );
        } else {
            assert!(!page.body.contains("EFFECTIVE DEFAULT"));
        }
        at += 200;
    }
    assert_eq!(seen.len(), 999, "every route is on exactly one page");

    let beyond = b.get(&format!("/hosts/{HOST}?routes=5000")).await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert!(route_rows(&beyond.body).is_empty());
    let bad = b.get(&format!("/hosts/{HOST}?routes=-1")).await;
    assert_eq!(
        bad.status,
        StatusCode::BAD_REQUEST,
        "a negative offset is refused"
    );

    let detail = app.get_json(&format!("/api/v1/hosts/{HOST}")).await;
    assert_eq!(
        detail["routes"].as_array().unwrap().len(),
        1000,
        "the API still answers every route"
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_overview_with_more_stamps_than_a_page_pages_through_each_stamp_once(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    let stamps: Vec<serde_json::Value> = (0..205)
        .map(|i| serde_json::json!({"name": format!("st-{i:03}"), "display_name": format!("Stamp {i}")}))
        .collect();
    let r = app
        .put_inventory(&serde_json::json!({"stamps": stamps, "plans": []}))
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let reader = app.token("reader", "read", None).await;
    let mut b = Browser::new(&app.base);
    b.logged_in(&reader).await;

    let first = b.get("/").await;
    assert_eq!(first.status, StatusCode::OK);
    let on_first = stamp_links(&first.body);
    assert_eq!(on_first.len(), 200, "a page shows 200 stamps");
    first.assert_contains(&[
        "stamps 1–200 of 205",
        "page 1 of 2",
        "href=\"/?page=2\"",
        "<span class=\"n\">0</span> <span class=\"l\">critical stamps",
    ]);
    assert!(!first.body.contains("← previous"));

    let second = b.get("/?page=2").await;
    assert_eq!(second.status, StatusCode::OK);
    let on_second = stamp_links(&second.body);
    assert_eq!(on_second.len(), 5);
    second.assert_contains(&["stamps 201–205 of 205", "href=\"/\"", "← previous"]);
    assert!(!second.body.contains("next →"));
    let all: BTreeSet<String> = on_first.iter().chain(&on_second).cloned().collect();
    assert_eq!(all.len(), 205, "every stamp is on exactly one page");

    let board = b.get("/?wallboard=1").await;
    board.assert_contains(&["href=\"/?page=2&#38;wallboard=1\""]);
}

/// The plan ids a plans page lists (each row links its id to the plan's problems).
fn plan_ids(body: &str) -> Vec<String> {
    body.split("href=\"/problems?plan=")
        .skip(1)
        .map(|rest| rest.split('&').next().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_fleet_with_more_plans_than_a_page_pages_through_each_plan_once(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    let plans: Vec<serde_json::Value> = (0..130)
        .map(|i| {
            let stamp = if i % 2 == 0 { "ams-01" } else { "fra-01" };
            serde_json::json!({"wap_plan_id": format!("plan-{i:03}"), "name": format!("Plan {i}"),
                               "public": true, "stamp": stamp, "cloud": "Cloud",
                               "quota": {"vms": 10, "vcpus": 20, "memory_gb": 64, "storage_gb": 1000}})
        })
        .collect();
    let mut doc = common::spec_document();
    doc["plans"] = serde_json::Value::Array(plans);
    let r = app.put_inventory(&doc).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let reader = app.token("reader", "read", None).await;
    let mut b = Browser::new(&app.base);
    b.logged_in(&reader).await;

    let first = b.get("/plans").await;
    assert_eq!(first.status, StatusCode::OK);
    let on_first = plan_ids(&first.body);
    assert_eq!(on_first.len(), 100, "a page shows 100 plans");
    assert_eq!(on_first[0], "plan-000");
    first.assert_contains(&[
        "Plans <span class=\"muted\">130",
        "href=\"/plans?after=plan-099\"",
    ]);
    assert!(!first.body.contains("← first"));

    let second = b.get("/plans?after=plan-099").await;
    assert_eq!(second.status, StatusCode::OK);
    let on_second = plan_ids(&second.body);
    assert_eq!(on_second.len(), 30);
    second.assert_contains(&["href=\"/plans\"", "← first"]);
    assert!(!second.body.contains("next →"));
    let all: BTreeSet<String> = on_first.iter().chain(&on_second).cloned().collect();
    assert_eq!(all.len(), 130, "every plan is on exactly one page");

    // one stamp's plans, counted and paged alike
    let fra = b.get("/plans?stamp=fra-01").await;
    assert_eq!(fra.status, StatusCode::OK);
    let on_fra = plan_ids(&fra.body);
    assert_eq!(on_fra.len(), 65);
    assert!(
        on_fra
            .iter()
            .all(|id| id[5..].parse::<u32>().unwrap() % 2 == 1)
    );
    fra.assert_contains(&[
        "Plans <span class=\"muted\">65",
        "<option value=\"fra-01\" selected>",
    ]);
    assert!(!fra.body.contains("next →"));
}
