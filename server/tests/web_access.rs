//! Who may see and do what on the dashboard, over real HTTP: the login redirect and `next`,
//! session cookies, refused logins, CSRF and scopes on the write forms, the open dashboard,
//! quarantine replay, and sessions ending on expiry, revocation and logout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod dashboard;

use chrono::Utc;
use dashboard::{Browser, evaluate, first_stamp, load_fleet, open_problem};
use reqwest::StatusCode;
use sqlx::PgPool;
use stampbook_server::auth::session;
use stampbook_server::auth::tokens;
use stampbook_server::config::ServeArgs;

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn pages_redirect_to_login_without_a_session_and_come_back_after(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    app.put_inventory(&common::spec_document()).await;
    let mut b = Browser::new(&app.base);
    for path in [
        "/",
        "/stamps/ams-01",
        "/problems",
        "/plans",
        "/capacity",
        "/capacity.csv",
        "/certificates",
        "/quarantine",
        "/hosts/x.example.net",
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            r.location().starts_with("/login?next="),
            "{path}: {}",
            r.location()
        );
    }
    let r = b.get("/stamps/ams-01?page=2").await;
    assert_eq!(r.location(), "/login?next=%2Fstamps%2Fams-01%3Fpage%3D2");

    let reader = app.token("r", "read", None).await;
    let done = b.login(&reader, "/stamps/ams-01?page=2").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), "/stamps/ams-01?page=2");
    let cookie = done
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with(session::COOKIE_NAME))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert_eq!(b.get("/stamps/ams-01").await.status, StatusCode::OK);

    // next never leaves the server
    let mut evil = Browser::new(&app.base);
    let r = evil.login(&reader, "//evil.example/x").await;
    assert_eq!(r.location(), "/");

    // behind a TLS-terminating proxy the cookie is Secure
    let mut tls = Browser::new(&app.base);
    let form = tls
        .get_with("/login", &[("x-forwarded-proto", "https")])
        .await;
    let csrf = form.csrf();
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/login"))
        .header("x-forwarded-proto", "https")
        .header(
            "cookie",
            format!("stampbook_login={}", tls.cookies["stampbook_login"]),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(dashboard::form_encode(&[
            ("token", &reader),
            ("csrf", &csrf),
            ("next", "/"),
        ]))
        .send()
        .await
        .unwrap();
    let secure = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(session::COOKIE_NAME))
        .unwrap();
    assert!(secure.contains("Secure"), "{secure}");
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn login_refuses_unknown_collector_and_forged_attempts(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    let mut b = Browser::new(&app.base);
    let r = b.login("sbk_not-a-real-token", "/").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    r.assert_contains(&["unknown or has been revoked"]);
    assert!(!b.cookies.contains_key(session::COOKIE_NAME));

    let collector = app.token("agent", "collector", None).await;
    let r = b.login(&collector, "/").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.assert_contains(&["can only push reports"]);

    // a login form posted from elsewhere: no nonce cookie, no valid CSRF token
    let reader = app.token("r", "read", None).await;
    let mut forged = Browser::new(&app.base);
    let r = forged
        .post(
            "/login",
            &[("token", &reader), ("csrf", "00"), ("next", "/")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!forged.cookies.contains_key(session::COOKIE_NAME));
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn acknowledging_needs_an_operator_session_and_the_csrf_token(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    load_fleet(&app, 2, 10, 5).await;
    evaluate(&pool).await;
    let id = open_problem(&pool).await;
    let path = format!("/problems/{id}/acknowledge");

    // no session at all: refused, not sent to the login page
    let mut nobody = Browser::new(&app.base);
    let r = nobody.post(&path, &[("csrf", "x"), ("note", "x")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let operator = app.token("night-shift", "operator", None).await;
    let mut b = Browser::new(&app.base);
    let csrf = b.logged_in(&operator).await;
    let page = b.get("/problems").await;
    page.assert_contains(&[&format!("action=\"/problems/{id}/acknowledge\"")]);

    for bad in [None, Some("deadbeef"), Some("")] {
        let mut fields = vec![
            ("note", "INC-1 change window"),
            ("for", "4h"),
            ("return", "/problems"),
        ];
        if let Some(c) = bad {
            fields.push(("csrf", c));
        }
        let r = b.post(&path, &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "csrf {bad:?}");
    }
    let acked: Option<String> = sqlx::query_scalar("select ack_by from problems where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(acked, None, "refused forms change nothing");

    // a CSRF token of another session does not work either
    let mut other = Browser::new(&app.base);
    let other_csrf = other.logged_in(&operator).await;
    assert_ne!(other_csrf, csrf);
    let r = b
        .post(
            &path,
            &[("csrf", &other_csrf), ("note", "x"), ("return", "/")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = b
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("note", "INC-1 <b>change</b> window"),
                ("for", "4h"),
                ("return", "/problems?stamp=x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/problems?stamp=x&acked={id}"));
    let (by, note, until): (String, String, Option<chrono::DateTime<Utc>>) =
        sqlx::query_as("select ack_by, ack_note, ack_until from problems where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(by, "night-shift");
    assert_eq!(note, "INC-1 <b>change</b> window");
    let until = until.unwrap();
    assert!(
        until > Utc::now() + chrono::Duration::minutes(235)
            && until < Utc::now() + chrono::Duration::minutes(245)
    );
    let shown = b.get(&format!("/problems?acked={id}&ack=yes")).await;
    shown.assert_contains(&[
        &format!("Problem #{id} is acknowledged"),
        "ACKNOWLEDGED",
        "night-shift",
        "INC-1 &#60;b&#62;change&#60;/b&#62; window",
    ]);

    // an empty note is refused with a message
    let r = b
        .post(&path, &[("csrf", &csrf), ("note", "  "), ("return", "/")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains(&["note"]);

    // a reader's session, CSRF token and all, may not acknowledge
    let reader = app.token("viewer", "read", None).await;
    let mut rb = Browser::new(&app.base);
    let rcsrf = rb.logged_in(&reader).await;
    let r = rb
        .post(&path, &[("csrf", &rcsrf), ("note", "x"), ("return", "/")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.assert_contains(&["operator"]);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn open_dashboard_is_read_only_without_login(pool: PgPool) {
    let settings = ServeArgs {
        open_dashboard: true,
        ..dashboard::settings()
    };
    let app = common::spawn_with(pool.clone(), settings).await;
    load_fleet(&app, 2, 10, 3).await;
    evaluate(&pool).await;
    let (stamp, display) = first_stamp(&pool).await;
    let mut b = Browser::new(&app.base);
    for path in [
        "/",
        &format!("/stamps/{stamp}"),
        "/problems",
        "/plans",
        "/capacity",
        "/certificates",
        "/quarantine",
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.body.contains("Log in"), "{path} offers a login");
        assert!(
            !r.body.contains("action=\"/problems/"),
            "{path} has no write form"
        );
    }
    b.get("/").await.assert_contains(&[&display]);

    let id = open_problem(&pool).await;
    let r = b
        .post(
            &format!("/problems/{id}/acknowledge"),
            &[("csrf", ""), ("note", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.assert_contains(&["open for viewing only"]);
    let r = b.post("/quarantine/1/replay", &[("csrf", "")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let acked: i64 = sqlx::query_scalar("select count(*) from problems where ack_by is not null")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(acked, 0);

    // logging in still works there, and then writes do
    let operator = app.token("op", "operator", None).await;
    let csrf = b.logged_in(&operator).await;
    let r = b
        .post(
            &format!("/problems/{id}/acknowledge"),
            &[("csrf", &csrf), ("note", "ok"), ("return", "/problems")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_admin_replays_a_quarantined_report_from_the_page(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    let fleet = stampbook_agent::simulate::Fleet::build(stampbook_agent::simulate::FleetOptions {
        stamps: 1,
        hosts_per_stamp: 10,
        faults: false,
        seed: 9,
        now: dashboard::now(),
    });
    let certs = stampbook_agent::simulate::certs::FleetCerts::generate(fleet.options.now).unwrap();
    let report = fleet.stamp_reports(0, &certs).unwrap().remove(0);
    // the stamp is not declared yet: the report is quarantined
    let r = app
        .send_json(
            reqwest::Method::POST,
            "/api/v1/reports",
            &app.admin,
            &serde_json::to_value(&report).unwrap(),
        )
        .await;
    assert!(r.status().is_client_error());
    let qid: i64 = sqlx::query_scalar("select id from quarantined_reports")
        .fetch_one(&pool)
        .await
        .unwrap();

    let operator = app.token("op", "operator", None).await;
    let mut ob = Browser::new(&app.base);
    let ocsrf = ob.logged_in(&operator).await;
    let page = ob.get("/quarantine").await;
    page.assert_contains(&[&report.host.fqdn, "1 waiting"]);
    assert!(
        !page.body.contains("/replay"),
        "only admins see the replay button"
    );
    let r = ob
        .post(&format!("/quarantine/{qid}/replay"), &[("csrf", &ocsrf)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let mut ab = Browser::new(&app.base);
    let acsrf = ab.logged_in(&app.admin).await;
    ab.get("/quarantine")
        .await
        .assert_contains(&[&format!("action=\"/quarantine/{qid}/replay\"")]);
    assert_eq!(
        ab.post(&format!("/quarantine/{qid}/replay"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // still unknown: the page says why
    let r = ab
        .post(&format!("/quarantine/{qid}/replay"), &[("csrf", &acsrf)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains(&["was not replayed", "still does not exist"]);
    let doc = serde_json::to_value(fleet.inventory()).unwrap();
    app.put_inventory(&doc).await;
    let r = ab
        .post(&format!("/quarantine/{qid}/replay"), &[("csrf", &acsrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/quarantine?replayed={qid}"));
    ab.get(&r.location())
        .await
        .assert_contains(&["was replayed and accepted", "0 waiting"]);
    ab.get("/quarantine?all=1")
        .await
        .assert_contains(&["REPLAYED", "test-admin"]);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn sessions_end_on_expiry_revocation_and_logout(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    let reader = app.token("r", "read", None).await;
    let token_id: i64 = sqlx::query_scalar("select id from tokens where name = 'r'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let key = ServeArgs::for_tests().session_key.unwrap();

    // a session cookie past its end sends back to login, which says so and clears it
    let mut b = Browser::new(&app.base);
    let expired = session::create(
        &pool,
        key.expose().as_bytes(),
        token_id,
        Utc::now().timestamp() - 5,
    )
    .await
    .unwrap();
    b.cookies.insert(session::COOKIE_NAME.into(), expired);
    let r = b.get("/problems").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?next=%2Fproblems&ended=1");
    assert!(
        !b.cookies.contains_key(session::COOKIE_NAME),
        "the dead cookie is removed"
    );
    b.get(&r.location())
        .await
        .assert_contains(&["Your session has ended"]);

    // a valid one works until its token is revoked
    let valid = session::create(
        &pool,
        key.expose().as_bytes(),
        token_id,
        Utc::now().timestamp() + 600,
    )
    .await
    .unwrap();
    b.cookies.insert(session::COOKIE_NAME.into(), valid);
    assert_eq!(b.get("/").await.status, StatusCode::OK);
    tokens::revoke(&pool, "r", "test").await.unwrap();
    let r = b.get("/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/login"));

    // logout
    let other = app.token("r2", "read", None).await;
    let mut c = Browser::new(&app.base);
    let csrf = c.logged_in(&other).await;
    assert_eq!(c.get("/logout").await.status, StatusCode::OK);
    let r = c.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?out=1");
    assert!(!c.cookies.contains_key(session::COOKIE_NAME));
    assert_eq!(c.get("/").await.status, StatusCode::SEE_OTHER);
    let _ = reader;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_copied_session_cookie_stops_working_at_logout(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    let reader = app.token("r", "read", None).await;
    let mut b = Browser::new(&app.base);
    let csrf = b.logged_in(&reader).await;
    let mut thief = Browser::new(&app.base);
    thief.cookies.insert(
        session::COOKIE_NAME.into(),
        b.cookies[session::COOKIE_NAME].clone(),
    );
    assert_eq!(
        thief.get("/").await.status,
        StatusCode::OK,
        "a copy works while the session lives"
    );
    b.post("/logout", &[("csrf", &csrf)]).await;
    let r = thief.get("/").await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "the copy ended with the session"
    );
    assert!(r.location().starts_with("/login"));
}

/// PostgreSQL text cannot hold NUL: a page whose path or query carries one (the plans page's new
/// `stamp` and `after` among them) answers 422 with a page saying so, never a 500.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_nul_in_a_page_address_is_a_422_not_a_500(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    app.put_inventory(&common::spec_document()).await;
    let reader = app.token("r", "read", None).await;
    let mut b = Browser::new(&app.base);
    b.logged_in(&reader).await;
    for path in [
        "/plans?after=a%00b",
        "/plans?stamp=a%00b",
        "/certificates?stamp=a%00b",
        "/certificates?store=a%00b",
        "/problems?rule=a%00b",
        "/stamps/a%00b",
        "/hosts/a%00b.example.net",
    ] {
        let r = b.get(path).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            r.body
        );
        assert!(r.body.contains("NUL character"), "{path}: {}", r.body);
    }
    assert_eq!(b.get("/plans").await.status, StatusCode::OK);
}
