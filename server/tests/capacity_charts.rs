//! Capacity over time as the demo shows it (issue 14 §2): a simulated fleet pushed through the
//! API, 180 days of history backfilled by the simulator's own backfill through the real import
//! API, one stamp forecast to fill within 30 days (critical), and the charts on the stamp page
//! and the capacity page (server-rendered SVG with labelled axes, the limit line, the forecast
//! cone and the crossing) over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod dashboard;

use dashboard::{Browser, evaluate, load_fleet};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;
use stampbook_agent::simulate::history;

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_backfilled_demo_fills_one_stamp_and_the_charts_show_it(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    let fleet = load_fleet(&app, 4, 30, 2026).await;
    sqlx::query("delete from evaluation_queue")
        .execute(&pool)
        .await
        .unwrap();
    let (imports, filling) = history::imports(&fleet, 180, fleet.options.now);
    let filling = filling.expect("the simulator picks a stamp that fills");
    let mut written = 0;
    for import in &imports {
        let r = app
            .send_json(
                Method::POST,
                "/api/v1/capacity/history",
                &app.admin,
                &serde_json::to_value(import).unwrap(),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        written += r.json::<Value>().await.unwrap()["inserted"]
            .as_i64()
            .unwrap();
    }
    assert!(written >= 180 * 3, "{written} rows");
    // a backfill run again writes nothing
    let again: Value = app
        .send_json(
            Method::POST,
            "/api/v1/capacity/history",
            &app.admin,
            &serde_json::to_value(&imports[0]).unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["inserted"], 0);
    // each import asked for an evaluation of its stamp
    let queued: i64 = sqlx::query_scalar("select count(*) from evaluation_queue")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut stamps: Vec<&str> = imports.iter().map(|i| i.stamp.as_str()).collect();
    stamps.dedup();
    assert_eq!(queued, stamps.len() as i64);
    evaluate(&pool).await;

    // the filling stamp: growing, crossing within 30 days, critical
    let forecast = app
        .get_json(&format!("/api/v1/capacity/forecast?stamp={filling}"))
        .await;
    let soon: Vec<&Value> = forecast["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outlook"] == "growing" && r["days_low"].as_f64().unwrap_or(1e9) < 30.0)
        .collect();
    assert_eq!(soon.len(), 1, "{forecast:#}");
    let resource = soon[0]["resource"].as_str().unwrap().to_owned();
    let problems = app
        .get_json(&format!(
            "/api/v1/problems?stamp={filling}&rule=capacity.exhaustion_soon"
        ))
        .await;
    let critical: Vec<&Value> = problems["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["severity"] == "critical" && p["subject"] == resource.as_str())
        .collect();
    assert_eq!(critical.len(), 1, "{problems:#}");
    // no other stamp is forecast (by its growth) to fill within 30 days
    for s in &fleet.stamps {
        if s.name == filling || fleet.faults.retired.contains(&s.name) {
            continue;
        }
        let f = app
            .get_json(&format!("/api/v1/capacity/forecast?stamp={}", s.name))
            .await;
        for r in f["resources"].as_array().unwrap() {
            assert!(
                !(r["outlook"] == "growing" && r["days_low"].as_f64().unwrap_or(1e9) < 30.0),
                "{}: {r:#}",
                s.name
            );
        }
    }
    // the history reads back: 180 days
    let h = app
        .get_json(&format!(
            "/api/v1/capacity/history?stamp={filling}&resource=vcpus&from={}",
            (fleet.options.now - chrono::TimeDelta::days(200))
                .to_rfc3339()
                .replace('+', "%2B")
        ))
        .await;
    assert!(h["items"].as_array().unwrap().len() >= 180, "{h}");

    let reader = app.token("noc-reader", "read", None).await;
    let mut b = Browser::new(&app.base);
    b.logged_in(&reader).await;
    let page = b.get(&format!("/stamps/{filling}")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains(&[
        "Capacity over time",
        "<svg class=\"chart trend\"",
        "vCPUs in use",
        "memory in use (GB)",
        "storage allocated to plans (GB)",
        "date (UTC)",
        ">today</text>",
        "<polyline class=\"limit\"",
        "<polygon class=\"cone used\"",
        "<rect class=\"crossing used\"",
        "crosses ",
        "CRITICAL",
        "compare with other stamps",
    ]);
    assert_eq!(page.body.matches("<svg class=\"chart trend\"").count(), 3);
    // the axis carries month ticks
    assert!(
        [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
        ]
        .iter()
        .filter(|m| page.body.contains(&format!("text-anchor=\"middle\">{m}")))
        .count()
            >= 4
    );

    // the capacity page compares the stamps asked for, on the resource asked for
    let other = fleet
        .stamps
        .iter()
        .find(|s| s.name != filling && !fleet.faults.retired.contains(&s.name))
        .unwrap()
        .name
        .clone();
    let compare = b
        .get(&format!(
            "/capacity?stamp={filling}&stamp={other}&resource={resource}"
        ))
        .await;
    assert_eq!(compare.status, StatusCode::OK);
    compare.assert_contains(&[
        "Over time: ",
        "% of limit",
        "<svg class=\"chart trend\"",
        "<polyline class=\"line s0\"",
        "<polyline class=\"line s1\"",
        &format!("name=\"stamp\" value=\"{filling}\" checked"),
        &format!("name=\"stamp\" value=\"{other}\" checked"),
        &format!("<option value=\"{resource}\" selected"),
        "100%",
        "Compare",
    ]);
    assert!(compare.body.contains(&format!("{filling}: crosses ")));
    // without a choice, the stamps forecast to fill are among those shown
    let default = b.get("/capacity").await;
    default.assert_contains(&[&format!("name=\"stamp\" value=\"{filling}\" checked")]);
    // an unknown stamp is said, not a failure
    let unknown = b.get("/capacity?stamp=nope-01").await;
    assert_eq!(unknown.status, StatusCode::OK);
    unknown.assert_contains(&["There is no stamp named “nope-01”", "No stamp chosen"]);
    // the wallboard shows the charts without the form
    let wall = b
        .get(&format!("/capacity?wallboard=1&stamp={filling}"))
        .await;
    wall.assert_contains(&["<svg class=\"chart trend\""]);
    assert!(!wall.body.contains("compare-form"));
}
