//! The dashboard's pages over real HTTP: every page for a logged-in reader with its key content,
//! escaping of hostile values, the 404 page, empty states, and the static assets' caching.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod dashboard;

use chrono::Utc;
use dashboard::{Browser, evaluate, host_of, load_fleet, open_problem};
use reqwest::StatusCode;
use sqlx::PgPool;

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

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_problems_list_ranks_open_problems_and_pages_through_every_one_once(pool: PgPool) {
    use stampbook_server::problems::{Filter, State};
    use stampbook_server::web::problems::query::{Cursor, page};
    let app = common::spawn(pool.clone()).await;
    app.put_inventory(&common::spec_document()).await;
    // (severity, acknowledged: none / active / ended, resolved, stamp)
    let rows = [
        ("warning", "none", false, "ams-01"),
        ("critical", "none", false, "ams-01"),
        ("info", "active", false, "fra-01"),
        ("critical", "active", false, "ams-01"),
        ("warning", "ended", false, "fra-01"),
        ("critical", "none", true, "ams-01"),
        ("info", "none", false, "ams-01"),
        ("critical", "none", false, "fra-01"),
        ("warning", "active", false, "ams-01"),
        ("warning", "none", false, "fra-01"),
        ("critical", "ended", false, "ams-01"),
    ];
    let mut expected: Vec<(i32, i64, &str)> = Vec::new();
    let mut resolved: Vec<i64> = Vec::new();
    for (i, (severity, ack, gone, stamp)) in rows.iter().enumerate() {
        let id: i64 = sqlx::query_scalar(
            r#"insert into problems (rule, severity, stamp_id, subject, message, resolved_at,
                   ack_by, ack_at, ack_until)
               select 'host.stale', $1, s.id, $2, 'm',
                      case when $3 then now() end,
                      case when $4 <> 'none' then 'op' end,
                      case when $4 <> 'none' then now() - interval '1 hour' end,
                      case $4 when 'ended' then now() - interval '1 minute' end
               from stamps s where s.name = $5 returning id"#,
        )
        .bind(severity)
        .bind(format!("subject-{i}"))
        .bind(gone)
        .bind(ack)
        .bind(stamp)
        .fetch_one(&pool)
        .await
        .unwrap();
        if *gone {
            resolved.push(id);
            continue;
        }
        let sev = match *severity {
            "critical" => 0,
            "warning" => 1,
            _ => 2,
        };
        expected.push((sev + if *ack == "active" { 3 } else { 0 }, id, stamp));
    }
    expected.sort_by_key(|(rank, id, _)| (*rank, -id));
    let filter = |stamp: Option<&str>, state: State| Filter {
        stamp: stamp.map(str::to_owned),
        severity: None,
        rule: None,
        state,
        host: None,
        plan: None,
        acknowledged: None,
        before_id: None,
    };
    // pages of 2, each from the previous page's last (rank, id): every open problem once, in order
    let walk = |f: Filter| {
        let pool = pool.clone();
        async move {
            let mut seen: Vec<(i32, i64)> = Vec::new();
            let mut after = None;
            loop {
                let got = page(&pool, &f, after, 2).await.unwrap();
                seen.extend(got.iter().map(|(rank, p)| (*rank, p.id)));
                match got.last() {
                    Some((rank, p)) if got.len() == 2 => {
                        after = Some(Cursor {
                            rank: *rank,
                            id: p.id,
                        })
                    }
                    _ => return seen,
                }
            }
        }
    };
    let all: Vec<(i32, i64)> = expected.iter().map(|(r, id, _)| (*r, *id)).collect();
    assert_eq!(walk(filter(None, State::Open)).await, all);
    let ams: Vec<(i32, i64)> = expected
        .iter()
        .filter(|(_, _, s)| *s == "ams-01")
        .map(|(r, id, _)| (*r, *id))
        .collect();
    assert_eq!(walk(filter(Some("ams-01"), State::Open)).await, ams);
    let first = page(&pool, &filter(None, State::Open), None, 3)
        .await
        .unwrap();
    assert_eq!(first[0].1.severity, "critical");
    assert!(!first[0].1.acknowledged);
    // history: resolved ones, newest first
    let history = walk(filter(None, State::Resolved)).await;
    assert_eq!(
        history,
        resolved.iter().rev().map(|id| (0, *id)).collect::<Vec<_>>()
    );
    assert_eq!(walk(filter(None, State::All)).await.len(), rows.len());
}
