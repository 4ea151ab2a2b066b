//! The dashboard over real HTTP: every page for a logged-in reader, login and sessions, the open
//! dashboard, CSRF on the write forms, escaping, the 404 page and the static assets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod dashboard;

use chrono::Utc;
use dashboard::{Browser, evaluate, load_fleet};
use reqwest::StatusCode;
use sqlx::PgPool;
use stampbook_server::auth::tokens;
use stampbook_server::config::ServeArgs;
use stampbook_server::web::session;

/// One host of the stamp, by role.
async fn host_of(pool: &PgPool, stamp: &str, role: &str) -> String {
    sqlx::query_scalar(
        "select h.fqdn::text from hosts h join stamps s on s.id = h.stamp_id
         where s.name = $1 and $2 = any(h.roles) order by h.fqdn limit 1",
    )
    .bind(stamp)
    .bind(role)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn first_stamp(pool: &PgPool) -> (String, String) {
    sqlx::query_as(
        "select name, display_name from stamps where retired_at is null order by name limit 1",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn open_problem(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select id from problems where resolved_at is null order by id limit 1")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn every_page_answers_with_its_key_content_for_a_logged_in_reader(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    load_fleet(&app, 3, 12, 11).await;
    evaluate(&pool).await;
    let reader = app.token("noc-reader", "read", None).await;
    let mut b = Browser::new(&app.base);
    b.logged_in(&reader).await;
    // a stamp whose Remote Console chain is broken (the simulator puts such faults somewhere)
    let (stamp, display, rc_rule): (String, String, String) = sqlx::query_as(
        "select s.name, s.display_name, p.rule from problems p join stamps s on s.id = p.stamp_id
         where p.resolved_at is null and p.rule like 'remote_console.%' and p.severity = 'critical'
         order by s.name, p.rule limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let newest_rule: String = sqlx::query_scalar(
        "select rule from problems where resolved_at is null order by id desc limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let gateway = host_of(&pool, &stamp, "nvgre_gateway").await;
    let plan: String = sqlx::query_scalar("select name from plans order by name limit 1")
        .fetch_one(&pool)
        .await
        .unwrap();

    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    home.assert_contains(&[
        &display,
        "critical stamps",
        "hosts reporting",
        "Cert expiry",
        "Remote Console",
        "BROKEN",
        "<span class=\"chain\">at ",
        &plan,
        "noc-reader (read)",
        "<meta http-equiv=\"refresh\" content=\"60\">",
    ]);
    let critical_tile = home.body.find("tile critical").unwrap();
    let ok_tile = home.body.find("tile ok").unwrap_or(usize::MAX);
    assert!(critical_tile < ok_tile, "critical stamps come first");
    for (name, value) in [
        ("content-security-policy", "frame-ancestors 'none'"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
        ("content-type", "text/html"),
    ] {
        let got = home.headers.get(name).unwrap().to_str().unwrap();
        assert!(got.contains(value), "{name}: {got}");
    }

    let s = b.get(&format!("/stamps/{stamp}")).await;
    assert_eq!(s.status, StatusCode::OK);
    s.assert_contains(&[
        &display,
        "Open problems",
        &rc_rule,
        &gateway,
        "page 1 of 1",
        "Server certificate expiry",
        "<svg class=\"chart\"",
        "Component versions",
        "vmm_agent",
        "VMM 2012 R2 UR",
        "Networks",
        "Scale units",
        "Plans on this stamp",
    ]);

    let h = b.get(&format!("/hosts/{gateway}")).await;
    assert_eq!(h.status, StatusCode::OK);
    h.assert_contains(&[
        &gateway,
        "Certificates",
        "Days left",
        "EFFECTIVE DEFAULT",
        "0.0.0.0/0",
        "Interfaces",
        "Services",
        "Change history",
        "appeared",
    ]);

    let p = b.get("/problems").await;
    assert_eq!(p.status, StatusCode::OK);
    p.assert_contains(&[&newest_rule, "CRITICAL"]);
    assert!(
        !p.body.contains("<form method=\"post\" action=\"/problems/"),
        "a reader gets no acknowledge form"
    );
    let filtered = b
        .get(&format!(
            "/problems?stamp={stamp}&severity=critical&rule=remote_console"
        ))
        .await;
    filtered.assert_contains(&[&rc_rule]);
    assert!(!filtered.body.contains("href=\"/problems?rule=host.stale\""));

    let plans = b.get("/plans").await;
    assert_eq!(plans.status, StatusCode::OK);
    plans.assert_contains(&[&plan, "HOLD", "Stamp health"]);

    let cap = b.get("/capacity?sort=cpu_alloc&dir=desc").await;
    assert_eq!(cap.status, StatusCode::OK);
    cap.assert_contains(&[
        &display,
        "aria-sort=\"descending\"",
        "<svg class=\"bars\"",
        "/capacity.csv",
    ]);
    let csv = b.get("/capacity.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(csv.body.starts_with("stamp,display_name,physical_cores"));
    assert!(csv.body.contains(&stamp));

    let certs = b.get("/certificates").await;
    assert_eq!(certs.status, StatusCode::OK);
    certs.assert_contains(&["Timeline", "<svg class=\"chart\"", "Days left"]);

    let q = b.get("/quarantine").await;
    assert_eq!(q.status, StatusCode::OK);
    q.assert_contains(&["Quarantine"]);

    let wall = b.get("/?wallboard=1").await;
    wall.assert_contains(&[
        "class=\"wallboard\"",
        "<meta http-equiv=\"refresh\" content=\"30\">",
        "updated at",
        "Exit wallboard",
    ]);
}

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
    let expired = session::sign(
        key.expose().as_bytes(),
        token_id,
        Utc::now().timestamp() - 5,
    )
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
    let valid = session::sign(
        key.expose().as_bytes(),
        token_id,
        Utc::now().timestamp() + 600,
    )
    .unwrap();
    b.cookies.insert(session::COOKIE_NAME.into(), valid);
    assert_eq!(b.get("/").await.status, StatusCode::OK);
    tokens::revoke(&pool, "r").await.unwrap();
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
async fn every_value_is_escaped(pool: PgPool) {
    use stampbook_agent::certgen::{self, CertSpec};
    const XSS: &str = "<script>alert(1)</script>";
    let app = dashboard::spawn(pool.clone()).await;
    let mut doc = common::spec_document();
    doc["stamps"][0]["display_name"] = XSS.into();
    doc["stamps"][0]["location"] = XSS.into();
    doc["plans"][0]["name"] = XSS.into();
    assert!(app.put_inventory(&doc).await.status().is_success());
    let cert = certgen::self_signed(&CertSpec {
        not_after: Utc::now() + chrono::Duration::days(20),
        dns_names: vec!["gw01.ams-01.example.net".into()],
        ..CertSpec::new(XSS)
    })
    .unwrap();
    let report = serde_json::json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": Utc::now(),
        "agent": {"name": "stampbook-agent", "version": "0.1.0"},
        "host": {"fqdn": "gw01.ams-01.example.net", "stamp": "ams-01", "scale_unit": "compute-r1", "roles": ["nvgre_gateway"],
                 "os": {"name": XSS, "version": "6.3.9600"}, "vitals": {"cpu_cores": 8}},
        "certificates": [{"store": "LocalMachine\\My", "der": cert.der_base64(), "has_private_key": true, "provider": XSS}],
        "interfaces": [{"name": XSS, "addresses": ["10.0.0.21/24"], "gateway": "10.0.0.1"}],
        "routes": [{"destination": "0.0.0.0/0", "next_hop": "10.0.0.1", "interface": XSS, "metric": 10, "persistent": true}],
        "services": [{"name": "vmms", "state": XSS}],
        "settings": {"vmm": {"host_identification_mode": XSS}, "components": [{"name": "vmm_agent", "version": XSS}]}
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
    evaluate(&pool).await;
    sqlx::query("update problems set message = $1, subject = $1, evidence = jsonb_build_object('x', $1::text)")
        .bind(XSS)
        .execute(&pool)
        .await
        .unwrap();
    let operator = app.token("op", "operator", None).await;
    let mut b = Browser::new(&app.base);
    let csrf = b.logged_in(&operator).await;
    let id = open_problem(&pool).await;
    let r = b
        .post(
            &format!("/problems/{id}/acknowledge"),
            &[("csrf", &csrf), ("note", XSS), ("return", "/problems")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    for path in [
        "/",
        "/stamps/ams-01",
        "/hosts/gw01.ams-01.example.net",
        "/problems",
        "/problems?stamp=%3Cscript%3Ealert(1)%3C%2Fscript%3E&rule=%3Cscript%3E",
        "/plans",
        "/capacity",
        "/certificates",
        "/%3Cscript%3Ealert(1)%3C/script%3E",
        "/login?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
    ] {
        let page = b.get(path).await;
        assert!(
            !page.body.contains("<script>alert"),
            "{path} renders the value raw"
        );
        assert!(
            page.body.contains("&#60;script&#62;alert(1)")
                || path.starts_with("/login")
                || path.starts_with("/problems?")
                || page.status == StatusCode::NOT_FOUND,
            "{path} lacks the escaped value"
        );
    }
    let csv = b.get("/capacity.csv").await;
    assert!(
        csv.body.contains("<script>alert(1)</script>"),
        "CSV carries the value as data"
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn unknown_pages_get_the_html_404_and_the_api_keeps_its_json(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    let mut b = Browser::new(&app.base);
    let r = b.get("/no/such/page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    r.assert_contains(&["Not found", "Go to the overview"]);
    let api = b.get("/api/v2/nothing").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(
        api.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );

    let reader = app.token("r", "read", None).await;
    b.logged_in(&reader).await;
    let r = b.get("/stamps/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    r.assert_contains(&["no stamp named"]);
    assert_eq!(
        b.get("/hosts/nope.example.net").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.get("/problems?state=bogus").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn empty_states_say_what_to_do_next(pool: PgPool) {
    let app = dashboard::spawn(pool.clone()).await;
    let reader = app.token("r", "read", None).await;
    let mut b = Browser::new(&app.base);
    b.logged_in(&reader).await;
    b.get("/")
        .await
        .assert_contains(&["No stamps yet", "stampbook-server apply inventory.yaml"]);
    b.get("/plans")
        .await
        .assert_contains(&["No plans declared"]);
    b.get("/problems")
        .await
        .assert_contains(&["Nothing is open"]);
    b.get("/quarantine")
        .await
        .assert_contains(&["No refused report is waiting"]);
    b.get("/certificates")
        .await
        .assert_contains(&["No certificate expires"]);
    app.put_inventory(&common::spec_document()).await;
    evaluate(&pool).await;
    b.get("/")
        .await
        .assert_contains(&["no hosts report yet", "stampbook-agent push --server"]);
    b.get("/stamps/fra-01").await.assert_contains(&[
        "No hosts report yet",
        "stampbook-agent push --server",
        "--scope collector --stamp fra-01",
    ]);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn static_assets_are_cached_by_content_hash(pool: PgPool) {
    use stampbook_server::web::assets;
    let app = dashboard::spawn(pool.clone()).await;
    let mut b = Browser::new(&app.base);
    let css = b.get(&assets::CSS.url()).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        css.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let etag = css.headers["etag"].to_str().unwrap().to_owned();
    let again = b
        .get_with("/static/app.css", &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let js = b.get(&assets::JS.url()).await;
    assert!(
        js.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.body.contains("__stampbookErrors"));
    // the login page links the hashed URLs
    b.get("/login")
        .await
        .assert_contains(&[&assets::CSS.url(), &assets::JS.url()]);
}
