//! Capacity over time end to end (issue 14 §2, §3): snapshots taken once per hour and rolled
//! into days, the history through the API as JSON and CSV, the admin import a backfill uses,
//! the forecast's range and "not growing", `capacity.exhaustion_soon` opening under 30 days,
//! placement with its exclusions, and the history staying bounded per stamp per year.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use common::{TestApp, assert_error, spawn, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_server::capacity::snapshot;

fn today() -> DateTime<Utc> {
    Utc::now().duration_trunc(TimeDelta::days(1)).unwrap()
}

fn hyperv(fqdn: &str, stamp: &str) -> Value {
    json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": Utc::now(),
        "host": {"fqdn": fqdn, "stamp": stamp, "scale_unit": "compute-r1", "roles": ["hyperv_host"],
                 "vitals": {"cpu_cores": 32, "memory_mb": 262144, "storage_gb": 4000,
                            "vm_count": 10, "vm_vcpus": 40, "vm_memory_mb": 131072}}
    })
}

/// The SPEC document plus `lon-01`, and two Hyper-V hosts reporting on ams-01.
async fn fleet(app: &TestApp) {
    let mut doc = spec_document();
    doc["stamps"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "lon-01", "display_name": "London <1> & \"co\"", "region": "uk"}));
    assert_eq!(app.put_inventory(&doc).await.status(), 200);
    for fqdn in ["hv01.ams-01.example.net", "hv02.ams-01.example.net"] {
        let r = app
            .send_json(
                Method::POST,
                "/api/v1/reports",
                &app.admin,
                &hyperv(fqdn, "ams-01"),
            )
            .await;
        assert_eq!(r.status(), 202);
    }
}

/// `days` complete days up to yesterday: vCPUs in use `start + per_day × day` against a limit
/// of `limit`, memory flat at 100 of 512 GB.
fn daily_import(stamp: &str, days: i64, start: f64, per_day: f64, limit: f64) -> Value {
    let rows: Vec<Value> = (0..days)
        .map(|d| {
            json!({"step": "day", "at": today() - TimeDelta::days(days - d),
                   "hyperv_hosts": 2, "physical_cores": (limit / 4.0) as i64,
                   "used_vcpus": (start + per_day * d as f64).round() as i64,
                   "used_memory_gb": 100.0, "vcpu_limit": limit, "memory_limit_gb": 512.0})
        })
        .collect();
    json!({"stamp": stamp, "rows": rows})
}

async fn import(app: &TestApp, body: &Value) -> Value {
    let r = app
        .send_json(Method::POST, "/api/v1/capacity/history", &app.admin, body)
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn snapshots_are_taken_once_an_hour_rolled_into_days_and_read_as_json_and_csv(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    fleet(&app).await;
    let yesterday = today() - TimeDelta::days(1);
    // the stamps (three) and ams-01's one scale unit
    let first = snapshot::take(&pool, yesterday + TimeDelta::minutes(5))
        .await
        .unwrap();
    assert_eq!(first, 4);
    assert_eq!(
        snapshot::take(&pool, yesterday + TimeDelta::minutes(50))
            .await
            .unwrap(),
        0,
        "a second replica in the same hour writes nothing"
    );
    snapshot::take(&pool, yesterday + TimeDelta::hours(7))
        .await
        .unwrap();
    snapshot::take(&pool, Utc::now()).await.unwrap();
    // an hour past the 14 days kept
    snapshot::take(&pool, Utc::now() - TimeDelta::days(20))
        .await
        .unwrap();

    let rolled = snapshot::roll(&pool, Utc::now()).await.unwrap();
    assert!(rolled.days_written >= 4, "{rolled:?}");
    assert_eq!(rolled.hours_pruned, 4, "the 20-day-old hour is forgotten");
    let again = snapshot::roll(&pool, Utc::now()).await.unwrap();
    assert_eq!(again.days_written, 0, "rolling up is idempotent");

    let hours = app
        .get_json("/api/v1/capacity/history?stamp=ams-01&step=hour")
        .await;
    let items = hours["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{hours}");
    assert_eq!(items[0]["at"], json!(yesterday));
    assert_eq!(items[0]["physical_cores"], 64);
    assert_eq!(items[0]["used_vcpus"], 80);
    assert_eq!(items[0]["vcpu_limit"], 256.0);
    assert_eq!(items[0]["scale_unit"], Value::Null);

    // days: yesterday rolled up, today the mean of its hours so far
    let days = app
        .get_json("/api/v1/capacity/history?stamp=ams-01&resource=vcpus")
        .await;
    let points = days["items"].as_array().unwrap();
    let ats: Vec<&Value> = points.iter().map(|p| &p["at"]).collect();
    assert!(
        ats.contains(&&json!(yesterday)) && ats.contains(&&json!(today())),
        "{days}"
    );
    assert_eq!(points.last().unwrap()["used"], 80.0);
    assert_eq!(points.last().unwrap()["limit"], 256.0);

    let unit = app
        .get_json("/api/v1/capacity/history?stamp=ams-01&scale_unit=compute-r1&step=hour")
        .await;
    assert_eq!(unit["items"][0]["scale_unit"], "compute-r1");

    let r = app
        .http
        .get(app.url("/api/v1/capacity/history?stamp=ams-01&step=hour"))
        .bearer_auth(&app.admin)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = r.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "a header and three hours: {text}");
    let header: Vec<&str> = lines[0].split(',').collect();
    let row: Vec<&str> = lines[1].split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        (
            col("stamp"),
            col("step"),
            col("physical_cores"),
            col("used_vcpus")
        ),
        ("ams-01", "hour", "64", "80")
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn history_queries_are_bounded_and_checked(pool: PgPool) {
    let app = spawn(pool).await;
    fleet(&app).await;
    let bad = [
        (
            "/api/v1/capacity/history?stamp=ams-01&step=week",
            400,
            "invalid_step",
            "step",
        ),
        (
            "/api/v1/capacity/history?stamp=ams-01&resource=gpus",
            400,
            "invalid_resource",
            "resource",
        ),
        (
            "/api/v1/capacity/history?stamp=ams-01&step=hour&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
            400,
            "range_too_long",
            "from",
        ),
        (
            "/api/v1/capacity/history?stamp=ams-01&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            400,
            "invalid_range",
            "from",
        ),
        (
            "/api/v1/capacity/history?stamp=lon-09",
            404,
            "not_found",
            "stamp",
        ),
        (
            "/api/v1/capacity/forecast?stamp=lon-09",
            404,
            "not_found",
            "stamp",
        ),
        ("/api/v1/placement?vcpus=-1", 400, "invalid_value", "vcpus"),
        (
            "/api/v1/placement?subscriptions=0",
            400,
            "invalid_value",
            "subscriptions",
        ),
    ];
    for (path, status, code, field) in bad {
        assert_error(app.get(path, &app.admin).await, status, code, Some(field)).await;
    }
    // a collector token restricted to a stamp reads nothing, its own stamp included
    let collector = app
        .token("ams-collector", "collector", Some("ams-01"))
        .await;
    for path in [
        "/api/v1/capacity/history?stamp=ams-01",
        "/api/v1/capacity/forecast?stamp=ams-01",
        "/api/v1/placement?vcpus=1",
    ] {
        assert_error(app.get(path, &collector).await, 403, "forbidden", None).await;
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_import_is_admin_only_validated_and_never_overwrites(pool: PgPool) {
    let app = spawn(pool).await;
    fleet(&app).await;
    let body = daily_import("ams-01", 10, 100.0, 1.0, 256.0);
    let reader = app.token("reader", "read", None).await;
    let r = app
        .send_json(Method::POST, "/api/v1/capacity/history", &reader, &body)
        .await;
    assert_error(r, 403, "forbidden", None).await;

    let mut misaligned = body.clone();
    misaligned["rows"][3]["at"] = json!(today() - TimeDelta::hours(30));
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/capacity/history",
            &app.admin,
            &misaligned,
        )
        .await;
    assert_error(r, 422, "invalid_value", Some("rows[3].at")).await;
    let mut negative = body.clone();
    negative["rows"][0]["used_vcpus"] = json!(-5);
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/capacity/history",
            &app.admin,
            &negative,
        )
        .await;
    assert_error(r, 422, "invalid_value", Some("rows[0].used_vcpus")).await;
    let mut unknown = body.clone();
    unknown["stamp"] = json!("lon-09");
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/capacity/history",
            &app.admin,
            &unknown,
        )
        .await;
    assert_error(r, 404, "not_found", Some("stamp")).await;

    let first = import(&app, &body).await;
    assert_eq!(
        (first["inserted"].as_u64(), first["skipped"].as_u64()),
        (Some(10), Some(0))
    );
    let mut changed = body.clone();
    changed["rows"][0]["used_vcpus"] = json!(999);
    let second = import(&app, &changed).await;
    assert_eq!(
        (second["inserted"].as_u64(), second["skipped"].as_u64()),
        (Some(0), Some(10))
    );
    let kept = app
        .get_json("/api/v1/capacity/history?stamp=ams-01&resource=vcpus")
        .await;
    assert_eq!(kept["items"][0]["used"], 100.0, "the first import stands");
}

async fn problems(app: &TestApp, stamp: &str) -> Vec<Value> {
    app.get_json(&format!(
        "/api/v1/problems?stamp={stamp}&rule=capacity.exhaustion_soon"
    ))
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_forecast_gives_a_range_or_not_growing_and_the_rule_opens_under_thirty_days(
    pool: PgPool,
) {
    let app = spawn(pool.clone()).await;
    fleet(&app).await;
    // ams-01 grows 2.5 vCPUs a day to ~248 of 256; fra-01 is flat; lon-01 has 3 days
    import(&app, &daily_import("ams-01", 60, 100.0, 2.5, 256.0)).await;
    import(&app, &daily_import("fra-01", 60, 100.0, 0.0, 400.0)).await;
    import(&app, &daily_import("lon-01", 3, 10.0, 5.0, 100.0)).await;

    let ams = app.get_json("/api/v1/capacity/forecast?stamp=ams-01").await;
    assert_eq!(
        (
            ams["exhaustion_warning_days"].as_i64(),
            ams["exhaustion_critical_days"].as_i64()
        ),
        (Some(90), Some(30))
    );
    let vcpus = &ams["resources"][0];
    assert_eq!(vcpus["resource"], "vcpus");
    assert_eq!(vcpus["outlook"], "growing", "{vcpus}");
    let (low, high) = (
        vcpus["days_low"].as_f64().unwrap(),
        vcpus["days_high"].as_f64().unwrap(),
    );
    assert!(low <= high && high < 30.0, "{low}..{high}");
    assert!([30, 90].contains(&vcpus["low_window_days"].as_i64().unwrap()));
    assert!([30, 90].contains(&vcpus["high_window_days"].as_i64().unwrap()));
    assert!(vcpus["crossing_earliest"].is_string() && vcpus["crossing_latest"].is_string());
    assert_eq!(
        ams["resources"][1]["outlook"], "not_growing",
        "memory is flat"
    );
    assert_eq!(
        ams["resources"][2]["outlook"], "insufficient_history",
        "no storage figures"
    );

    let fra = app.get_json("/api/v1/capacity/forecast?stamp=fra-01").await;
    assert_eq!(fra["resources"][0]["outlook"], "not_growing");
    assert_eq!(fra["resources"][0]["days_low"], Value::Null);
    let lon = app.get_json("/api/v1/capacity/forecast?stamp=lon-01").await;
    assert_eq!(lon["resources"][0]["outlook"], "insufficient_history");

    stampbook_server::rules::engine::evaluate_all(&pool)
        .await
        .unwrap();
    let open = problems(&app, "ams-01").await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (open[0]["severity"].as_str(), open[0]["subject"].as_str()),
        (Some("critical"), Some("vcpus"))
    );
    assert!(open[0]["message"].as_str().unwrap().contains("days"));
    assert_eq!(open[0]["evidence"]["forecast"]["outlook"], "growing");
    assert!(problems(&app, "fra-01").await.is_empty());
    assert!(problems(&app, "lon-01").await.is_empty());

    // thresholds are the stamp's: 3 critical days makes the same forecast a warning
    let r = app
        .send_json(
            Method::PATCH,
            "/api/v1/stamps/ams-01",
            &app.admin,
            &json!({"thresholds": {"exhaustion_warning_days": 60, "exhaustion_critical_days": 1}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    stampbook_server::rules::engine::evaluate_all(&pool)
        .await
        .unwrap();
    let open = problems(&app, "ams-01").await;
    assert_eq!(open[0]["severity"], "warning", "{open:?}");
    let r = app
        .send_json(
            Method::PATCH,
            "/api/v1/stamps/ams-01",
            &app.admin,
            &json!({"thresholds": {"exhaustion_warning_days": 10, "exhaustion_critical_days": 20}}),
        )
        .await;
    assert_error(
        r,
        422,
        "invalid_value",
        Some("thresholds.exhaustion_critical_days"),
    )
    .await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn placement_ranks_by_headroom_after_growth_and_names_every_exclusion(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    fleet(&app).await;
    import(&app, &daily_import("ams-01", 60, 100.0, 2.5, 256.0)).await;
    import(&app, &daily_import("fra-01", 60, 100.0, 0.0, 400.0)).await;
    let r = app
        .send_json(
            Method::DELETE,
            "/api/v1/stamps/lon-01",
            &app.admin,
            &json!({}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());

    let answer = app
        .get_json("/api/v1/placement?vcpus=10&memory_gb=20&subscriptions=2&remote_console=false")
        .await;
    assert_eq!(answer["subscriptions"], 2);
    let items = answer["items"].as_array().unwrap();
    let find = |name: &str| items.iter().find(|p| p["stamp"] == name).unwrap().clone();
    let fra = find("fra-01");
    assert_eq!(
        (fra["rank"].as_i64(), fra["eligible"].as_bool()),
        (Some(1), Some(true)),
        "{fra}"
    );
    assert_eq!(items[0]["stamp"], "fra-01", "the eligible stamp first");
    let cpu = &fra["resources"][0];
    assert_eq!(
        (cpu["in_use"].as_f64(), cpu["plan"].as_f64()),
        (Some(100.0), Some(20.0))
    );
    assert_eq!(cpu["headroom"], 280.0);
    let codes = |p: &Value| -> Vec<String> {
        p["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let ams = find("ams-01");
    assert_eq!(ams["rank"], Value::Null);
    assert_eq!(codes(&ams), ["exceeds_limit"], "{ams}");
    assert!(
        ams["excluded"][0]["message"]
            .as_str()
            .unwrap()
            .contains("within 90 days")
    );
    assert_eq!(codes(&find("lon-01")), ["retired", "capacity_unknown"]);

    // Remote Console counts unless the plan does without it: no VMM server reported here
    let strict = app.get_json("/api/v1/placement?vcpus=10").await;
    let fra = strict["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["stamp"] == "fra-01")
        .unwrap()
        .clone();
    assert_eq!(codes(&fra), ["remote_console_not_ready"]);
}

/// The bench of issue 14: two years and three weeks of snapshots for one stamp and two scale
/// units, rolled up and pruned; what stays per stamp and scale unit, in rows and bytes.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn history_stays_bounded_per_stamp_per_year(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    fleet(&app).await;
    let now = Utc::now();
    // hourly rows every hour of the last 800 days, for the stamp and two scale units: what a
    // server that never rolled up would hold
    sqlx::query(
        "insert into capacity_snapshots (stamp_id, step, scale_unit, at, hyperv_hosts,
             physical_cores, physical_memory_gb, physical_storage_gb, used_vms, used_vcpus,
             used_memory_gb, allocated_vms, allocated_vcpus, allocated_memory_gb,
             allocated_storage_gb, subscriptions, vcpu_limit, memory_limit_gb)
         select s.id, 'hour', u.name, h, 24, 768, 12288, 96000, 900, 2800, 9000.5, 1000, 3000,
                12000, 200000, 120, 3072, 12288
         from stamps s, (values (''), ('compute-r1'), ('compute-r2')) u(name),
              generate_series(date_trunc('hour', $1::timestamptz) - interval '800 days',
                              date_trunc('hour', $1::timestamptz), interval '1 hour') h
         where s.name = 'ams-01'",
    )
    .bind(now)
    .execute(&pool)
    .await
    .unwrap();
    let before: i64 = sqlx::query_scalar("select count(*) from capacity_snapshots")
        .fetch_one(&pool)
        .await
        .unwrap();
    let rolled = snapshot::roll(&pool, now).await.unwrap();
    let (hours, days): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where step = 'hour'), count(*) filter (where step = 'day')
         from capacity_snapshots",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("vacuum full capacity_snapshots")
        .execute(&pool)
        .await
        .unwrap();
    let bytes: i64 = sqlx::query_scalar("select pg_total_relation_size('capacity_snapshots')")
        .fetch_one(&pool)
        .await
        .unwrap();
    let series = 3;
    let rows_per_series = (hours + days) / series;
    let bytes_per_series = bytes / series;
    // per year: the 14 days of hours always, and 365 of the 731 days
    let year_rows = 14 * 24 + 365;
    let year_bytes = bytes_per_series * year_rows / rows_per_series;
    println!(
        "capacity history bench: {before} hourly rows over 800 days for 1 stamp + 2 scale units \
         rolled up ({} days written, {} hours and {} days pruned) into {hours} hourly + {days} daily rows, \
         {bytes} bytes with indexes: {rows_per_series} rows and {} KiB per stamp or scale unit \
         kept at most (2 years); per year of history {year_rows} rows, about {} KiB",
        rolled.days_written,
        rolled.hours_pruned,
        rolled.days_pruned,
        bytes_per_series / 1024,
        year_bytes / 1024
    );
    assert!(hours <= series * (14 * 24 + 1), "{hours}");
    assert!(days <= series * 732, "{days}");
    assert!(
        bytes_per_series < 512 * 1024,
        "{bytes_per_series} bytes per series"
    );
}
