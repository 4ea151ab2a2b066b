//! The certificates page's fleet-wide timeline counted ahead (`facts::expiry_tally`): the tally
//! of real certificates pushed through the API agrees with the live count, per store too; it is
//! what a large fleet's page reads (with when it was counted) until counted again; one server
//! counts at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, Utc};
use common::{TestApp, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_agent::certgen::{self, CertSpec};
use stampbook_server::facts::expiry_tally;
use stampbook_server::web::certificates::read::{self, Sources};

/// A certificate expiring `days` (and 12 hours, away from a day's edge) from now, as a report
/// entry of `store`.
fn cert(name: &str, days: i64, store: &str) -> Value {
    let spec = CertSpec {
        not_before: Utc::now() - Duration::days(400),
        not_after: Utc::now() + Duration::days(days) + Duration::hours(12),
        ..CertSpec::new(name)
    };
    let c = certgen::self_signed(&spec).unwrap();
    json!({"store": store, "der": c.der_base64(), "has_private_key": store == "LocalMachine\\My"})
}

async fn push(app: &TestApp, fqdn: &str, certificates: Vec<Value>) {
    let report = json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": Utc::now(),
        "agent": {"name": "stampbook-agent", "version": "0.1.0"},
        "host": {"fqdn": fqdn, "stamp": "ams-01", "roles": ["hyperv_host"]},
        "certificates": certificates,
    });
    let r = app
        .send_json(Method::POST, "/api/v1/reports", &app.admin, &report)
        .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
}

/// Three hosts sharing some certificates: expired, 3, 20 and 60 days out, in two stores.
async fn fleet(app: &TestApp) {
    app.put_inventory(&spec_document()).await;
    let expired = cert("expired", -5, "LocalMachine\\My");
    let soon = cert("soon", 3, "LocalMachine\\My");
    let month = cert("month", 20, "LocalMachine\\My");
    let root = cert("root", 60, "LocalMachine\\Root");
    let later = cert("later", 200, "LocalMachine\\My");
    for (i, certs) in [
        vec![expired.clone(), soon.clone(), root.clone(), later],
        vec![soon.clone(), month.clone(), root.clone()],
        vec![expired, month, root],
    ]
    .into_iter()
    .enumerate()
    {
        push(app, &format!("hv{i:02}.ams-01.example.net"), certs).await;
    }
}

/// The days with installations (the live count of one store also names days with none there).
fn counts(days: &[expiry_tally::DayCount]) -> Vec<(i32, i64)> {
    days.iter()
        .filter(|d| d.installations > 0)
        .map(|d| (d.day, d.installations))
        .collect()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_tally_agrees_with_the_live_count_and_is_read_for_a_large_fleet(pool: PgPool) {
    let app = common::spawn(pool.clone()).await;
    fleet(&app).await;
    let live = read::per_day(&pool, 90, None, None).await.unwrap();
    assert_eq!(counts(&live), vec![(-1, 2), (3, 2), (20, 2), (60, 3)]);

    assert!(expiry_tally::last_run(&pool).await.unwrap().is_none());
    assert!(expiry_tally::count(&pool).await.unwrap());
    let run = expiry_tally::last_run(&pool).await.unwrap().unwrap();
    assert_eq!(run.installations, 9, "the 200-day one is beyond the window");
    assert!((Utc::now() - run.counted_at).num_seconds().abs() < 60);
    assert_eq!(
        counts(&expiry_tally::days(&pool, 90, None).await.unwrap()),
        counts(&live)
    );
    for store in ["LocalMachine\\My", "LocalMachine\\Root"] {
        assert_eq!(
            counts(&expiry_tally::days(&pool, 90, Some(store)).await.unwrap()),
            counts(&read::per_day(&pool, 90, None, Some(store)).await.unwrap()),
            "{store}"
        );
    }

    // a fleet past the threshold reads the tally, and says when it was counted
    let large = Sources {
        reads: &pool,
        counter: &pool,
        tally_from: 0,
    };
    let (days, counted_at) = read::timeline(&large, None, None).await.unwrap();
    assert_eq!(counts(&days), counts(&live));
    assert_eq!(counted_at, Some(run.counted_at));
    // a stamp's timeline is always live
    let (_, of_stamp) = read::timeline(&large, Some("ams-01"), None).await.unwrap();
    assert_eq!(of_stamp, None);
    // a small fleet counts live
    let small = Sources {
        tally_from: i64::MAX,
        ..large
    };
    assert_eq!(read::timeline(&small, None, None).await.unwrap().1, None);

    // a new installation shows in the tally once counted again
    push(
        &app,
        "hv09.ams-01.example.net",
        vec![cert("new", 10, "LocalMachine\\My")],
    )
    .await;
    let before = expiry_tally::days(&pool, 90, None).await.unwrap();
    assert!(!counts(&before).iter().any(|(d, _)| *d == 10));
    assert!(expiry_tally::count(&pool).await.unwrap());
    let after = expiry_tally::days(&pool, 90, None).await.unwrap();
    assert!(counts(&after).contains(&(10, 1)));
    assert_eq!(
        counts(&after),
        counts(&read::per_day(&pool, 90, None, None).await.unwrap())
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn one_server_counts_at_a_time(pool: PgPool) {
    let mut other = pool.begin().await.unwrap();
    let held: bool = sqlx::query_scalar(
        "select pg_try_advisory_xact_lock(hashtext('stampbook.cert_expiry_tally'))",
    )
    .fetch_one(&mut *other)
    .await
    .unwrap();
    assert!(held);
    assert!(
        !expiry_tally::count(&pool).await.unwrap(),
        "another server is counting"
    );
    assert!(expiry_tally::last_run(&pool).await.unwrap().is_none());
    other.rollback().await.unwrap();
    assert!(expiry_tally::count(&pool).await.unwrap());
    assert_eq!(
        expiry_tally::last_run(&pool)
            .await
            .unwrap()
            .unwrap()
            .installations,
        0
    );
}
