//! Rules end to end: reports over HTTP → problems through the API → the fact fixed by a new
//! report → problem resolved; acknowledgement changes health; recurrence is a new problem.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Utc;
use common::{TestApp, assert_error, spawn, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_server::rules::engine;

/// An NVGRE gateway VM of ams-01 with default routes via management and front end at these metrics.
fn gateway(mgmt_metric: u32, front_metric: u32) -> Value {
    json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": Utc::now(),
        "host": {"fqdn": "gw01.ams-01.example.net", "stamp": "ams-01", "roles": ["nvgre_gateway"]},
        "interfaces": [
            {"name": "Management", "addresses": ["10.0.0.21/24"], "gateway": "10.0.0.1"},
            {"name": "Front-end", "addresses": ["77.233.248.21/24"], "gateway": "77.233.248.1"}
        ],
        "routes": [
            {"destination": "0.0.0.0/0", "next_hop": "10.0.0.1", "interface": "Management", "metric": mgmt_metric},
            {"destination": "0.0.0.0/0", "next_hop": "77.233.248.1", "interface": "Front-end", "metric": front_metric},
            {"destination": "10.0.0.0/16", "next_hop": "10.0.0.1", "interface": "Management", "metric": 300, "persistent": true}
        ]
    })
}

async fn push(app: &TestApp, report: &Value) {
    let r = app
        .send_json(Method::POST, "/api/v1/reports", &app.admin, report)
        .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    engine::evaluate_queued(&app.pool).await.unwrap();
}

async fn problems(app: &TestApp, query: &str) -> Vec<Value> {
    app.get_json(&format!("/api/v1/problems?{query}")).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn rules_of(items: &[Value]) -> Vec<String> {
    let mut r: Vec<String> = items
        .iter()
        .map(|p| p["rule"].as_str().unwrap().to_owned())
        .collect();
    r.sort();
    r
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_route_fault_opens_then_resolves_when_the_report_is_fixed(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    push(&app, &gateway(266, 266)).await;

    let open = problems(&app, "stamp=ams-01").await;
    assert_eq!(
        rules_of(&open),
        [
            "plan.stamp_unhealthy",
            "route.default_ambiguous",
            "route.default_via_management"
        ]
    );
    assert_eq!(
        rules_of(&problems(&app, "rule=route").await),
        ["route.default_ambiguous", "route.default_via_management"]
    );
    let via = open
        .iter()
        .find(|p| p["rule"] == "route.default_via_management")
        .unwrap();
    assert_eq!(via["severity"], "critical");
    assert_eq!(via["host"], "gw01.ams-01.example.net");
    assert_eq!(via["stamp"], "ams-01");
    assert!(via["plan"].is_null());
    assert!(
        via["message"]
            .as_str()
            .unwrap()
            .contains("gw01.ams-01.example.net")
    );
    assert!(via["evidence"].is_object());
    assert_eq!(via["acknowledged"], false);
    assert!(via["resolved_at"].is_null());

    let health = app.get_json("/api/v1/stamps/ams-01/health").await;
    assert_eq!(health["health"], "critical");
    assert!(health["open"]["critical"].as_i64().unwrap() >= 1);
    // the plan on the stamp is now on a broken stamp
    let plan_problems = problems(&app, "rule=plan.stamp_unhealthy").await;
    assert_eq!(plan_problems.len(), 1);
    assert_eq!(plan_problems[0]["plan"], "gold-ams");
    let plan = app.get_json("/api/v1/plans/gold-ams").await;
    assert_eq!(plan["stamp_health"]["health"], "critical");

    // the fix of the runbook: front end 205, management 305
    push(&app, &gateway(305, 205)).await;
    assert_eq!(problems(&app, "stamp=ams-01").await, Vec::<Value>::new());
    let resolved = problems(&app, "stamp=ams-01&state=resolved").await;
    assert_eq!(
        resolved.len(),
        3,
        "both route problems and the plan problem resolved"
    );
    assert!(resolved.iter().all(|p| p["resolved_at"].is_string()));
    assert_eq!(
        app.get_json("/api/v1/stamps/ams-01/health").await["health"],
        "ok"
    );

    // a recurrence is a new problem
    push(&app, &gateway(266, 266)).await;
    let again = problems(&app, "rule=route.default_via_management").await;
    assert_ne!(again[0]["id"], via["id"]);
    assert_eq!(
        problems(&app, "rule=route.default_via_management&state=all")
            .await
            .len(),
        2
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn acknowledging_changes_health_but_not_readiness_listing(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    push(&app, &gateway(261, 291)).await;
    let open = problems(&app, "rule=route.default_via_management").await;
    let id = open[0]["id"].as_i64().unwrap();
    assert_eq!(
        app.get_json("/api/v1/stamps/ams-01/health").await["health"],
        "critical"
    );

    let reader = app.token("reader", "read", None).await;
    let operator = app.token("ops", "operator", None).await;
    let ack = format!("/api/v1/problems/{id}/acknowledge");
    let body = json!({"note": "CHG-1234: metrics fixed in tonight's window"});
    assert_error(
        app.send_json(Method::POST, &ack, &reader, &body).await,
        403,
        "forbidden",
        None,
    )
    .await;
    assert_error(
        app.send_json(Method::POST, &ack, &operator, &json!({"note": ""}))
            .await,
        422,
        "invalid_note",
        Some("note"),
    )
    .await;
    let past = json!({"note": "x", "until": "2001-01-01T00:00:00Z"});
    assert_error(
        app.send_json(Method::POST, &ack, &operator, &past).await,
        422,
        "invalid_until",
        Some("until"),
    )
    .await;
    let r = app.send_json(Method::POST, &ack, &operator, &body).await;
    assert_eq!(r.status(), 200);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["acknowledged"], true);
    assert_eq!(p["acknowledgement"]["by"], "ops");

    engine::evaluate_queued(&app.pool).await.unwrap();
    let health = app.get_json("/api/v1/stamps/ams-01/health").await;
    assert_ne!(
        health["health"], "critical",
        "an acknowledged critical does not count: {health}"
    );
    assert_eq!(health["acknowledged"], 1);
    // still listed
    assert_eq!(
        problems(&app, "rule=route.default_via_management").await[0]["acknowledged"],
        true
    );
    assert_eq!(
        problems(&app, "acknowledged=false&severity=critical")
            .await
            .len(),
        0
    );
    // the plan is no longer on an unhealthy stamp
    assert_eq!(problems(&app, "rule=plan.stamp_unhealthy").await.len(), 0);
    assert_error(
        app.send_json(
            Method::POST,
            "/api/v1/problems/999999/acknowledge",
            &operator,
            &body,
        )
        .await,
        404,
        "not_found",
        None,
    )
    .await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_acknowledgement_ends_when_its_time_is_up(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    push(&app, &gateway(261, 291)).await;
    let id = problems(&app, "rule=route.default_via_management").await[0]["id"]
        .as_i64()
        .unwrap();
    let until = Utc::now() + chrono::Duration::hours(1);
    let r = app
        .send_json(
            Method::POST,
            &format!("/api/v1/problems/{id}/acknowledge"),
            &app.admin,
            &json!({"note": "window", "until": until}),
        )
        .await;
    assert_eq!(r.status(), 200);
    engine::evaluate_queued(&app.pool).await.unwrap();
    assert_ne!(
        app.get_json("/api/v1/stamps/ams-01/health").await["health"],
        "critical"
    );
    // time passes: the acknowledgement has ended
    sqlx::query("update problems set ack_until = now() - interval '1 second' where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        app.get_json("/api/v1/stamps/ams-01/health").await["health"],
        "critical"
    );
    assert_eq!(
        problems(&app, "rule=route.default_via_management").await[0]["acknowledged"],
        false
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn retiring_a_stamp_raises_stamp_missing_on_its_plans(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    app.http
        .delete(app.url("/api/v1/stamps/ams-01"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    engine::evaluate_queued(&app.pool).await.unwrap();
    let p = problems(&app, "rule=plan.stamp_missing").await;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["plan"], "gold-ams");
    assert_eq!(p[0]["severity"], "critical");
    // moving the plan to a live stamp resolves it
    let plan = json!({"name": "Gold IaaS", "stamp": "fra-01", "remote_console": true});
    assert_eq!(
        app.send_json(Method::PUT, "/api/v1/plans/gold-ams", &app.admin, &plan)
            .await
            .status(),
        200
    );
    engine::evaluate_queued(&app.pool).await.unwrap();
    assert_eq!(problems(&app, "rule=plan.stamp_missing").await.len(), 0);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_timer_evaluation_finds_hosts_that_stopped_reporting(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    push(&app, &gateway(305, 205)).await;
    assert_eq!(problems(&app, "rule=host.stale").await.len(), 0);
    sqlx::query("update hosts set last_collected_at = now() - interval '2 hours'")
        .execute(&pool)
        .await
        .unwrap();
    engine::evaluate_all(&pool).await.unwrap();
    let stale = problems(&app, "rule=host.stale").await;
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0]["severity"], "warning");
    // a fresh report (identical facts) resolves it
    push(&app, &gateway(305, 205)).await;
    assert_eq!(problems(&app, "rule=host.stale").await.len(), 0);
}

/// The kept per-stamp counts of open problems match the problems themselves.
async fn assert_counts_match(pool: &PgPool) {
    let drift: Vec<(i64, String, String)> = sqlx::query_as(
        r#"select stamp_id, rule, severity from (
               select stamp_id, rule, severity, n from stamp_problem_counts
               except all
               select stamp_id, rule, severity, count(*) from problems
               where resolved_at is null group by 1, 2, 3) kept
           union all
           select stamp_id, rule, severity from (
               select stamp_id, rule, severity, count(*) from problems
               where resolved_at is null group by 1, 2, 3
               except all
               select stamp_id, rule, severity, n from stamp_problem_counts) actual"#,
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        drift.is_empty(),
        "kept counts differ from problems: {drift:?}"
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn deleting_a_plan_resolves_its_problems_with_events_and_health_follows(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let hook = json!({"url": "https://hooks.example.net/hook", "events": ["problem.resolved"]});
    let r = app
        .send_json(Method::POST, "/api/v1/webhooks", &app.admin, &hook)
        .await;
    assert_eq!(r.status(), 201);
    app.http
        .delete(app.url("/api/v1/stamps/ams-01"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    engine::evaluate_queued(&pool).await.unwrap();
    let missing = problems(&app, "rule=plan.stamp_missing").await;
    assert_eq!(missing.len(), 1);
    let health = app.get_json("/api/v1/stamps/ams-01/health").await;
    assert_eq!(health["health"], "critical");
    assert_counts_match(&pool).await;
    let metrics = || async { app.metrics_text().await };
    let gauge = "stampbook_problems_open{stamp=\"ams-01\",severity=\"critical\"} 1";
    assert!(metrics().await.contains(gauge), "{}", metrics().await);

    let r = app
        .http
        .delete(app.url("/api/v1/plans/gold-ams"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    // at once, before any evaluation: resolved, announced, and out of the stamp's health
    let resolved = problems(&app, "rule=plan.stamp_missing&state=resolved").await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["id"], missing[0]["id"]);
    assert!(resolved[0]["resolved_at"].is_string());
    let events: Vec<Value> = sqlx::query_scalar(
        "select payload from webhook_deliveries where event = 'problem.resolved'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["problem"]["id"], missing[0]["id"]);
    assert_eq!(events[0]["problem"]["plan"], "gold-ams");
    let health = app.get_json("/api/v1/stamps/ams-01/health").await;
    assert_eq!(health["health"], "ok", "{health}");
    assert_eq!(health["open"]["critical"], 0, "{health}");
    assert_counts_match(&pool).await;
    assert!(
        !metrics()
            .await
            .contains("stamp=\"ams-01\",severity=\"critical\"")
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn health_counts_follow_opening_severity_changes_acknowledgements_and_resolution(
    pool: PgPool,
) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    push(&app, &gateway(300, 200)).await;
    push(
        &app,
        &json!({
            "schema": "stampbook.report/v1", "report_id": uuid::Uuid::new_v4(),
            "collected_at": Utc::now(),
            "host": {"fqdn": "hv01.ams-01.example.net", "stamp": "ams-01", "roles": ["hyperv_host"]},
            "routes": []
        }),
    )
    .await;
    assert_counts_match(&pool).await;
    // both hosts go quiet: warning, then critical after 24 h (a severity change in place)
    let quiet_for = |hours: i32| {
        let (pool, app) = (pool.clone(), &app);
        async move {
            sqlx::query("update hosts set last_collected_at = now() - make_interval(hours => $1)")
                .bind(hours)
                .execute(&pool)
                .await
                .unwrap();
            engine::evaluate_all(&pool).await.unwrap();
            assert_counts_match(&pool).await;
            app.get_json("/api/v1/stamps/ams-01/health").await
        }
    };
    let health = quiet_for(2).await;
    assert_eq!(health["open"]["warning"], 2, "{health}");
    let health = quiet_for(30).await;
    assert_eq!(health["open"]["warning"], 0, "{health}");
    let critical = health["open"]["critical"].as_i64().unwrap();
    assert!(critical >= 2, "{health}");
    // one acknowledged: out of the counts of health, into `acknowledged`
    let stale = problems(&app, "rule=host.stale&stamp=ams-01").await;
    let operator = app.token("op", "operator", None).await;
    let r = app
        .send_json(
            Method::POST,
            &format!("/api/v1/problems/{}/acknowledge", stale[0]["id"]),
            &operator,
            &json!({"note": "rack power work"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let health = app.get_json("/api/v1/stamps/ams-01/health").await;
    assert_eq!(health["open"]["critical"], critical - 1, "{health}");
    assert_eq!(health["acknowledged"], 1, "{health}");
    // the gateway reports again: its staleness resolves
    push(&app, &gateway(300, 200)).await;
    assert_counts_match(&pool).await;
    assert_eq!(
        problems(&app, "rule=host.stale&stamp=ams-01").await.len(),
        1
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn last_seen_follows_whole_evaluations_without_rewriting_problems(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    push(&app, &gateway(200, 300)).await; // default via management: fires
    let open = problems(&app, "rule=route.default_via_management").await;
    assert_eq!(open.len(), 1);
    let first_seen: chrono::DateTime<Utc> =
        open[0]["last_seen_at"].as_str().unwrap().parse().unwrap();
    let stored = |pool: PgPool| async move {
        sqlx::query_scalar::<_, chrono::DateTime<Utc>>(
            "select last_seen_at from problems where rule = 'route.default_via_management'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let stored_before = stored(pool.clone()).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    engine::evaluate_all(&pool).await.unwrap();
    let again = problems(&app, "rule=route.default_via_management").await;
    let seen: chrono::DateTime<Utc> = again[0]["last_seen_at"].as_str().unwrap().parse().unwrap();
    assert!(seen > first_seen, "{seen} after {first_seen}");
    assert_eq!(
        stored(pool.clone()).await,
        stored_before,
        "the row was not rewritten"
    );
    // fixed: resolved, and its last sighting is the whole evaluation before the fix
    push(&app, &gateway(300, 200)).await;
    let resolved = problems(&app, "rule=route.default_via_management&state=resolved").await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["last_seen_at"], again[0]["last_seen_at"]);
    let resolved_at: chrono::DateTime<Utc> = resolved[0]["resolved_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(resolved_at >= seen);
}

/// A whole evaluation that finds what the one before found writes no problem row: nothing in a
/// problem's words or evidence may move with the clock (the evaluation's instant) or with the
/// order in which the run met the problems (a plan's blocking problems), or every timer run
/// rewrites every open problem of the fleet (WAL, vacuum, and the time of the run itself).
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_repeated_whole_evaluation_rewrites_no_problem(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    common::simulate_fleet(&app, 2, 10).await;
    let rows = |pool: PgPool| async move {
        sqlx::query_as::<_, (i64, String, String)>(
            "select id, rule, xmin::text from problems where resolved_at is null order by id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let before = rows(pool.clone()).await;
    let rules: std::collections::BTreeSet<&str> =
        before.iter().map(|(_, r, _)| r.as_str()).collect();
    for needed in ["cert.expired", "cert.expiring", "plan.stamp_unhealthy"] {
        assert!(rules.contains(needed), "the fleet has {needed}: {rules:?}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    engine::evaluate_all(&pool).await.unwrap();
    let after = rows(pool.clone()).await;
    assert_eq!(
        after.iter().map(|(id, ..)| *id).collect::<Vec<_>>(),
        before.iter().map(|(id, ..)| *id).collect::<Vec<_>>(),
        "the same problems are open"
    );
    let rewritten: Vec<&(i64, String, String)> =
        after.iter().filter(|a| !before.contains(a)).collect();
    assert!(rewritten.is_empty(), "rewritten: {rewritten:?}");
}

/// A whole run takes the stamp rules' inputs (components, the Hyper-V hosts' vitals) from the
/// hosts' facts it loaded instead of reading them again: the same rows, in the same order, as the
/// statements a host run still uses.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_whole_run_derives_the_stamp_rules_inputs_as_the_database_gives_them(pool: PgPool) {
    use stampbook_server::rules::load::{self, CertCache};
    let app = spawn(pool.clone()).await;
    common::simulate_fleet(&app, 2, 10).await;
    let stamps: Vec<i64> = sqlx::query_scalar("select id from stamps order by id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let mut certs = CertCache::default();
    let mut checked = (0, 0);
    for stamp in stamps {
        let (_, roots) = load::remote_console(&mut conn, stamp, &mut certs)
            .await
            .unwrap();
        let hosts = load::hosts(&mut conn, stamp, None, &roots, &mut certs)
            .await
            .unwrap();
        let components = load::components(&mut conn, stamp).await.unwrap();
        assert_eq!(load::components_of(&hosts), components);
        let read = load::capacity(&mut conn, stamp, None).await.unwrap();
        let derived = load::capacity(&mut conn, stamp, Some(&hosts))
            .await
            .unwrap();
        assert_eq!(derived, read);
        checked.0 += components.len();
        checked.1 += read.hyperv_hosts.len();
    }
    assert!(checked.0 > 10 && checked.1 > 2, "{checked:?}");
}

/// Every run of a stamp evaluates its plan rules, so under a fleet's reports (a run of each stamp
/// every few seconds) refreshing `last_seen_at` of every problem a run still finds rewrote the
/// stamp's plan problems again and again. A run moves a problem's last sighting at most once a
/// minute (`engine::LAST_SEEN_STEP`); whole runs move it through the stamp, as before.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn host_runs_refresh_a_problems_last_sighting_at_most_once_a_minute(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    push(&app, &gateway(200, 300)).await; // default via management: critical, the plans blocked
    let rows = |pool: PgPool| async move {
        sqlx::query_as::<_, (String, String, chrono::DateTime<Utc>)>(
            "select rule, xmin::text, last_seen_at from problems where resolved_at is null order by rule, id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let before = rows(pool.clone()).await;
    let rules: Vec<&str> = before.iter().map(|(r, ..)| r.as_str()).collect();
    assert!(
        rules.contains(&"plan.stamp_unhealthy") && rules.contains(&"route.default_via_management"),
        "{rules:?}"
    );
    // the next report still has the fault (its VM count moved: a changed report, a host run)
    let mut next = gateway(200, 300);
    next["host"]["vitals"] = json!({"vm_count": 1});
    push(&app, &next).await;
    assert_eq!(
        rows(pool.clone()).await,
        before,
        "a second run within the minute rewrote nothing"
    );

    // a minute later the same finding moves its last sighting
    sqlx::query("update problems set last_seen_at = last_seen_at - interval '2 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    let moved_back = rows(pool.clone()).await;
    let mut later = gateway(200, 300);
    later["host"]["vitals"] = json!({"vm_count": 2});
    push(&app, &later).await;
    let after = rows(pool.clone()).await;
    for ((rule, _, was), (_, _, now)) in moved_back.iter().zip(&after) {
        assert!(now > was, "{rule}: {was} -> {now}");
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn concurrent_lanes_evaluate_every_queued_stamp_exactly_once(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let stamps: Vec<Value> = (0..60)
        .map(|i| {
            json!({"name": format!("s-{i:02}"), "display_name": format!("S {i}"), "region": "eu",
                   "purpose": "public"})
        })
        .collect();
    let r = app.put_inventory(&json!({"stamps": stamps})).await;
    assert!(r.status().is_success(), "{}", r.status());
    sqlx::query("delete from evaluation_queue")
        .execute(&pool)
        .await
        .unwrap();
    // the queue's statistics say empty, as autoanalyze leaves them most of the time: the plan a
    // naive pick then gets re-runs its locking sub-select once per queued row
    sqlx::query("analyze evaluation_queue")
        .execute(&pool)
        .await
        .unwrap();
    for round in 0..3 {
        engine::request_all(&pool).await.unwrap();
        let mut lanes: Vec<_> = (0..4).map(|_| Default::default()).collect();
        let n = engine::drain(&pool, &mut lanes).await.unwrap();
        assert_eq!(n, 60, "round {round}: every queued stamp evaluated once");
        let left: i64 = sqlx::query_scalar("select count(*) from evaluation_queue")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(left, 0);
        let evaluated: i64 = sqlx::query_scalar(
            "select count(*) from stamp_status where whole_evaluated_at > now() - interval '1 minute'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(evaluated, 60);
    }
}
