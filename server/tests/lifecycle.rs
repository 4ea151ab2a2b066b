//! Time and lifecycle truth, end to end: a retired stamp is not judged (its problems resolve with
//! events, only its plans' `plan.stamp_missing` stays) until it is brought back; the service's
//! own outage, seen in the replicas' heartbeats, is not blamed on the hosts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Duration, DurationRound, Utc};
use common::{TestApp, spawn, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_agent::certgen::{self, CertSpec, Eku};
use stampbook_server::rules::engine::{self, Run};
use stampbook_server::rules::load::CertCache;

async fn push(app: &TestApp, report: &Value) {
    let r = app
        .send_json(Method::POST, "/api/v1/reports", &app.admin, report)
        .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
}

fn report(fqdn: &str, roles: &[&str], collected_at: DateTime<Utc>) -> Value {
    json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": collected_at,
        "host": {"fqdn": fqdn, "stamp": "ams-01", "roles": roles},
    })
}

/// A subscriber, so that every opened or resolved problem leaves a delivery in the outbox.
async fn subscribe(pool: &PgPool) {
    sqlx::query(
        "insert into webhooks (url, events, secret, created_by)
         values ('https://hooks.example.com/noc', '{problem.opened,problem.resolved}', 's3cret', 'test')",
    )
    .execute(pool)
    .await
    .unwrap();
}

async fn deliveries(pool: &PgPool, event: &str) -> i64 {
    sqlx::query_scalar("select count(*) from webhook_deliveries where event = $1")
        .bind(event)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn open_rules(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select rule from problems where resolved_at is null and stamp_id = (select id from stamps where name = 'ams-01')
         order by rule",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn retiring_a_stamp_resolves_its_problems_with_events_until_it_is_brought_back(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    subscribe(&pool).await;
    // a host rule (routes) and a stamp-wide rule (a VMConnect certificate without Client
    // Authentication) fire, and the Remote Console plan follows
    let mut gw = report("gw01.ams-01.example.net", &["nvgre_gateway"], Utc::now());
    gw["interfaces"] = json!([{"name": "Management", "addresses": ["10.0.0.21/24"], "gateway": "10.0.0.1"},
                              {"name": "Front-end", "addresses": ["77.233.248.21/24"], "gateway": "77.233.248.1"}]);
    gw["routes"] = json!([{"destination": "0.0.0.0/0", "next_hop": "10.0.0.1", "interface": "Management", "metric": 10},
                          {"destination": "0.0.0.0/0", "next_hop": "77.233.248.1", "interface": "Front-end", "metric": 20}]);
    push(&app, &gw).await;
    let vmconnect = certgen::self_signed(&CertSpec {
        eku: Some(vec![Eku::ServerAuth]),
        ..CertSpec::new("Remote Console Connect")
    })
    .unwrap();
    let mut vmm = report("vmm01.ams-01.example.net", &["vmm_server"], Utc::now());
    vmm["certificates"] = json!([{"store": "VMM", "der": vmconnect.der_base64(), "has_private_key": true,
                                  "provider": "Microsoft Enhanced RSA and AES Cryptographic Provider"}]);
    vmm["settings"] = json!({"vmm": {"vmconnect_gateway_certificate_thumbprint": vmconnect.thumbprint,
                                     "vmconnect_hyperv_certificate_thumbprint": vmconnect.thumbprint}});
    push(&app, &vmm).await;
    engine::evaluate_queued(&pool).await.unwrap();
    let before = open_rules(&pool).await;
    assert_eq!(
        before,
        [
            "plan.stamp_unhealthy",
            "remote_console.cert_eku",
            "route.default_via_management"
        ]
    );
    assert_eq!(deliveries(&pool, "problem.resolved").await, 0);

    let r = app
        .send_json(
            Method::DELETE,
            "/api/v1/stamps/ams-01",
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    engine::evaluate_queued(&pool).await.unwrap();
    assert_eq!(open_rules(&pool).await, ["plan.stamp_missing"]);
    assert_eq!(deliveries(&pool, "problem.resolved").await, 3);
    assert_eq!(deliveries(&pool, "problem.opened").await, 3 + 1);

    // the timer's whole evaluations fire nothing on a retired stamp
    engine::evaluate_all(&pool).await.unwrap();
    engine::evaluate_all(&pool).await.unwrap();
    assert_eq!(open_rules(&pool).await, ["plan.stamp_missing"]);
    assert_eq!(deliveries(&pool, "problem.opened").await, 4);
    let health = app.get_json("/api/v1/stamps/ams-01/health").await;
    assert_eq!(
        (health["retired"].clone(), health["health"].clone()),
        (json!(true), json!("critical"))
    );

    // brought back: judged again
    let r = app
        .send_json(
            Method::PATCH,
            "/api/v1/stamps/ams-01",
            &app.admin,
            &json!({"retired": false}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    engine::evaluate_queued(&pool).await.unwrap();
    assert_eq!(open_rules(&pool).await, before);
}

/// The replicas' heartbeats: `(started, last beat)` rows, as `heartbeat::run` writes them.
async fn beats(pool: &PgPool, rows: &[(DateTime<Utc>, DateTime<Utc>)]) -> Vec<uuid::Uuid> {
    let mut ids = Vec::new();
    for (started, last) in rows {
        let id = uuid::Uuid::new_v4();
        sqlx::query(
            "insert into service_heartbeats (replica_id, hostname, started_at, last_beat_at) values ($1, 'test', $2, $3)",
        )
        .bind(id)
        .bind(started)
        .bind(last)
        .execute(pool)
        .await
        .unwrap();
        ids.push(id);
    }
    ids
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_services_own_outage_is_not_blamed_on_hosts_until_one_interval_after_it(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    subscribe(&pool).await;
    let stamp: i64 = sqlx::query_scalar("select id from stamps where name = 'ams-01'")
        .fetch_one(&pool)
        .await
        .unwrap();
    // two hours ago both hosts reported; a minute later the whole service went down for three
    // report intervals (900 s of ams-01's 300 s) and came back at `back`
    let t0 = (Utc::now() - Duration::hours(2))
        .duration_trunc(Duration::seconds(1))
        .unwrap();
    push(&app, &report("hv01.ams-01.example.net", &[], t0)).await;
    push(&app, &report("hv02.ams-01.example.net", &[], t0)).await;
    let alive_for = Duration::seconds(30);
    let went_down = t0 + Duration::seconds(60);
    let back = went_down + alive_for + Duration::seconds(900);
    let ids = beats(&pool, &[(t0 - Duration::hours(1), went_down), (back, back)]).await;
    let replica = ids[1];
    let at = |s: i64| back + Duration::seconds(s);
    let evaluate = |now: DateTime<Utc>| {
        let pool = pool.clone();
        async move {
            // the replica that came back beats up to the moment it evaluates
            sqlx::query("update service_heartbeats set last_beat_at = $2 where replica_id = $1")
                .bind(replica)
                .bind(now)
                .execute(&pool)
                .await
                .unwrap();
            engine::evaluate_at(
                &pool,
                stamp,
                Run::Whole,
                &mut CertCache::default(),
                None,
                now,
            )
            .await
            .unwrap();
        }
    };
    let stale = || async {
        sqlx::query_scalar::<_, String>(
            "select h.fqdn::text from problems p join hosts h on h.id = p.host_id
             where p.rule = 'host.stale' order by 1",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };

    evaluate(at(10)).await;
    // hv02 is heard again after the outage; hv01 stays silent
    push(
        &app,
        &report("hv02.ams-01.example.net", &["other"], at(100)),
    )
    .await;
    evaluate(at(200)).await;
    evaluate(at(300)).await;
    assert_eq!(stale().await, Vec::<String>::new());
    assert_eq!(deliveries(&pool, "problem.opened").await, 0);
    assert_eq!(deliveries(&pool, "problem.resolved").await, 0);

    // one report interval after ingest resumed, the silent host is stale
    evaluate(at(301)).await;
    assert_eq!(stale().await, ["hv01.ams-01.example.net"]);
    assert_eq!(deliveries(&pool, "problem.opened").await, 1);
    let problem = &app.get_json("/api/v1/problems?rule=host.stale").await["items"][0];
    assert_eq!(problem["severity"], "warning");
    assert_eq!(problem["evidence"]["service_outage_s"], 900);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn without_an_outage_a_silent_host_is_stale_after_three_intervals(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let stamp: i64 = sqlx::query_scalar("select id from stamps where name = 'ams-01'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let t0 = (Utc::now() - Duration::hours(2))
        .duration_trunc(Duration::seconds(1))
        .unwrap();
    push(&app, &report("hv01.ams-01.example.net", &[], t0)).await;
    let ids = beats(
        &pool,
        &[(t0 - Duration::hours(1), t0 + Duration::seconds(901))],
    )
    .await;
    assert_eq!(ids.len(), 1);
    let now = t0 + Duration::seconds(901);
    engine::evaluate_at(
        &pool,
        stamp,
        Run::Whole,
        &mut CertCache::default(),
        None,
        now,
    )
    .await
    .unwrap();
    assert_eq!(open_rules(&pool).await, ["host.stale"]);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_replicas_beats_keep_one_row_and_a_restarts_gap_is_an_outage(pool: PgPool) {
    use stampbook_server::heartbeat;
    let t0 = (Utc::now() - Duration::hours(1))
        .duration_trunc(Duration::seconds(1))
        .unwrap();
    let (first, second) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    heartbeat::beat(&pool, first, "node-a", t0).await.unwrap();
    heartbeat::beat(&pool, first, "node-a", t0 + Duration::seconds(10))
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("select count(*) from service_heartbeats")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    let mut conn = pool.acquire().await.unwrap();
    // nothing before the first beat counts; while beats are fresh there is no outage
    let at = t0 + Duration::seconds(20);
    assert!(heartbeat::outages(&mut conn, at).await.unwrap().is_empty());
    // the process stops; another starts 90 s after its last beat
    heartbeat::beat(&pool, second, "node-a", t0 + Duration::seconds(100))
        .await
        .unwrap();
    let outages = heartbeat::outages(&mut conn, t0 + Duration::seconds(110))
        .await
        .unwrap();
    assert_eq!(outages.len(), 1);
    assert_eq!(outages[0].from, t0 + Duration::seconds(40));
    assert_eq!(outages[0].to, t0 + Duration::seconds(100));
    // and a service that has stopped beating is in an outage until now
    let later = t0 + Duration::seconds(500);
    let outages = heartbeat::outages(&mut conn, later).await.unwrap();
    assert_eq!(
        outages.last().map(|o| (o.from, o.to)),
        Some((t0 + Duration::seconds(130), later))
    );
}
