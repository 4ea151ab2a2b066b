//! The dashboard in a real browser: headless Chromium driven through chromedriver (started here,
//! on a free port) against the real server with a simulated fleet pushed through the API. It logs
//! in, visits every page, acknowledges a problem through the form, checks key content and that
//! neither the page's error collector nor the browser's console saw an error, and saves
//! screenshots under `target/screenshots/`. `STAMPBOOK_SKIP_BROWSER=1` skips it (and says so);
//! `deploy/test` installs `chromium` and `chromium-driver` and never sets it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;
#[path = "../dashboard/mod.rs"]
mod dashboard;
mod driver;

use driver::{Tab, browser, chromedriver, find_program};
use fantoccini::Locator;
use sqlx::PgPool;

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_dashboard_works_in_a_real_browser(pool: PgPool) {
    if std::env::var("STAMPBOOK_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("SKIPPED: STAMPBOOK_SKIP_BROWSER=1 is set, the browser test did not run");
        return;
    }
    let driver = find_program(&["chromedriver"]).expect(
        "chromedriver is not installed: `apt-get install chromium chromium-driver` (deploy/test does), \
         or set STAMPBOOK_SKIP_BROWSER=1 to skip this test",
    );
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"])
        .expect("chromium is not installed: `apt-get install chromium chromium-driver`");

    // STAMPBOOK_BROWSER_FLEET=12x30 renders a bigger demo fleet (the README's screenshots)
    let (stamps, hosts) = std::env::var("STAMPBOOK_BROWSER_FLEET")
        .ok()
        .and_then(|v| {
            let (s, h) = v.split_once('x')?;
            Some((s.parse().ok()?, h.parse().ok()?))
        })
        .unwrap_or((4, 12));
    let app = dashboard::spawn(pool.clone()).await;
    let fleet = dashboard::load_fleet(&app, stamps, hosts, 21).await;
    // 180 days of capacity history, as the demo backfills it, through the import API
    let (imports, filling) =
        stampbook_agent::simulate::history::imports(&fleet, 180, fleet.options.now);
    for import in &imports {
        let r = app
            .send_json(
                reqwest::Method::POST,
                "/api/v1/capacity/history",
                &app.admin,
                &serde_json::to_value(import).unwrap(),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    let filling = filling.expect("a stamp fills within 30 days");
    dashboard::evaluate(&pool).await;
    let operator = app.token("noc-operator", "operator", None).await;
    let (stamp, display): (String, String) = sqlx::query_as(
        "select s.name, s.display_name from problems p join stamps s on s.id = p.stamp_id
         where p.resolved_at is null and p.severity = 'critical' group by 1, 2 order by count(*) desc, 1 limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let gateway: String = sqlx::query_scalar(
        "select h.fqdn::text from hosts h join stamps s on s.id = h.stamp_id
         where s.name = $1 and 'nvgre_gateway' = any(h.roles) order by h.fqdn limit 1",
    )
    .bind(&stamp)
    .fetch_one(&pool)
    .await
    .unwrap();

    let (mut driver_process, driver_url) = chromedriver(&driver).await;
    let profile = tempfile::tempdir().unwrap();
    let tab = Tab {
        client: browser(&driver_url, &chromium, profile.path()).await,
        base: app.base.clone(),
    };
    tab.client.set_window_size(1440, 960).await.unwrap();

    // not logged in: the login page, which comes back to where we were going
    let login = tab.open("/plans").await;
    assert!(
        login.contains("Log in to stampbook"),
        "redirected to the login page"
    );
    assert!(
        tab.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("/login?next=%2Fplans")
    );
    let errors = tab.errors(&[]).await;
    assert!(errors.is_empty(), "login page: {errors:#?}");
    tab.shot("login").await;
    tab.client
        .find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(&operator)
        .await
        .unwrap();
    tab.client
        .find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // the login page has no section navigation; the page it leads to has
    tab.client
        .wait()
        .for_element(Locator::Css("nav.sections"))
        .await
        .unwrap();
    assert_eq!(tab.client.current_url().await.unwrap().path(), "/plans");

    tab.visit(
        "/",
        "overview",
        &[&display, "critical stamps", "noc-operator (operator)"],
    )
    .await;
    tab.visit(
        &format!("/stamps/{stamp}"),
        "stamp",
        &[
            &display,
            "Open problems",
            "Server certificate expiry",
            "Component versions",
            &gateway,
        ],
    )
    .await;
    tab.visit(
        &format!("/hosts/{gateway}"),
        "host",
        &[&gateway, "EFFECTIVE DEFAULT", "Change history"],
    )
    .await;
    tab.visit("/problems", "problems", &["Acknowledge", "CRITICAL"])
        .await;
    // the demo fleet's WAP servers disagree with the inventory once in each way
    tab.visit(
        "/plans",
        "plans",
        &[
            "Sell?",
            "Stamp health",
            "In WAP",
            "AGREES",
            "DIFFERS",
            "NOT IN WAP",
            "In WAP, not declared",
        ],
    )
    .await;
    let wap_only: String = sqlx::query_scalar(
        "select wap_id from host_wap_plans
         where plan_key not in (select lower(wap_plan_id) from plans) order by 1 limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    tab.visit(
        &format!("/plans/wap/{wap_only}"),
        "wap-plan",
        &[
            &wap_only,
            "NOT DECLARED",
            "Service quotas as WAP holds them",
            "CoreCount",
            "Adopt into the inventory",
            "plan.undeclared",
        ],
    )
    .await;
    tab.visit("/capacity", "capacity", &["vCPU allocated", "Download CSV"])
        .await;

    // capacity over time: the stamp's trend charts and the comparison, drawn (not just sent)
    tab.visit(
        &format!("/stamps/{filling}#capacity-trends"),
        "stamp-capacity-trends",
        &["Capacity over time", "CRITICAL"],
    )
    .await;
    let charts = tab
        .client
        .find_all(Locator::Css("#capacity-trends svg.chart.trend"))
        .await
        .unwrap();
    assert_eq!(charts.len(), 3, "one chart per resource");
    for chart in &charts {
        let rect = chart.rectangle().await.unwrap();
        assert!(
            rect.2 > 300.0 && rect.3 > 90.0,
            "drawn at a readable size: {rect:?}"
        );
        let labels: Vec<String> = {
            let mut out = Vec::new();
            for t in chart
                .find_all(Locator::Css("text.axis-label"))
                .await
                .unwrap()
            {
                out.push(t.text().await.unwrap());
            }
            out
        };
        assert_eq!(labels.len(), 2, "{labels:?}");
        assert_eq!(labels[0], "date (UTC)");
        assert!(
            [
                "vCPUs in use",
                "memory in use (GB)",
                "storage allocated to plans (GB)"
            ]
            .contains(&labels[1].as_str()),
            "{labels:?}"
        );
        assert!(
            chart.find(Locator::Css("polyline.limit")).await.is_ok(),
            "the limit line"
        );
        assert!(chart.find(Locator::Css("text.today")).await.is_ok());
    }
    let crossing = tab
        .client
        .find(Locator::Css("#capacity-trends text.note"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        crossing.starts_with("crosses") || crossing.starts_with("may cross"),
        "{crossing}"
    );
    assert!(
        tab.client
            .find(Locator::Css("#capacity-trends polygon.cone"))
            .await
            .is_ok(),
        "the forecast cone"
    );
    // the comparison: pick the stamps with the form
    tab.open("/capacity").await;
    for b in tab
        .client
        .find_all(Locator::Css(".compare-form input[name=stamp]:checked"))
        .await
        .unwrap()
    {
        b.click().await.unwrap();
    }
    let other = fleet
        .stamps
        .iter()
        .find(|s| s.name != filling && !fleet.faults.retired.contains(&s.name))
        .unwrap()
        .name
        .clone();
    for name in [&filling, &other] {
        tab.client
            .find(Locator::Css(&format!(
                ".compare-form input[value='{name}']"
            )))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    tab.client
        .find(Locator::Css(".compare-form option[value='memory_gb']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tab.client
        .find(Locator::Css(".compare-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tab.client
        .wait()
        .for_element(Locator::Css(
            ".compare-form option[value='memory_gb'][selected]",
        ))
        .await
        .unwrap();
    let url = tab.client.current_url().await.unwrap();
    let query = url.query().unwrap_or_default().to_owned();
    assert!(
        query.contains(&format!("stamp={filling}")) && query.contains(&format!("stamp={other}")),
        "{query}"
    );
    let compared = tab
        .visit(
            &format!("/capacity?{query}#compare"),
            "capacity-compare",
            &["Over time: Memory", "% of limit"],
        )
        .await;
    assert!(compared.contains(&format!("<title>{other}</title>")));
    let lines = tab
        .client
        .find_all(Locator::Css("#compare svg.chart.trend polyline.line"))
        .await
        .unwrap();
    assert_eq!(lines.len(), 2, "one line per chosen stamp");
    let y_label = tab
        .client
        .find_all(Locator::Css("#compare text.axis-label"))
        .await
        .unwrap()
        .pop()
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(y_label, "memory in use (GB), % of limit");
    tab.visit("/certificates", "certificates", &["Timeline", "Days left"])
        .await;
    tab.visit("/quarantine", "quarantine", &["Quarantine"])
        .await;

    // sorting by a column is a plain link
    tab.open("/capacity").await;
    tab.client
        .find(Locator::Css("th a[href*='sort=mem_alloc']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tab.client
        .wait()
        .for_element(Locator::Css("th[aria-sort] a[href*='sort=mem_alloc']"))
        .await
        .unwrap();
    assert!(
        tab.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("sort=mem_alloc")
    );

    // acknowledge the newest unacknowledged problem through its form
    tab.open("/problems?ack=no").await;
    let row = tab
        .client
        .find(Locator::Css("tbody tr[id^='p']"))
        .await
        .unwrap();
    let id: i64 = row.attr("id").await.unwrap().unwrap()[1..].parse().unwrap();
    row.find(Locator::Css("details.ack summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    row.find(Locator::Css("textarea[name=note]"))
        .await
        .unwrap()
        .send_keys("INC-4711: vendor case open, fix in tonight's window")
        .await
        .unwrap();
    row.find(Locator::Css("select[name=for] option[value='24h']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tab.shot("acknowledge-form").await;
    row.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let flash = tab
        .client
        .wait()
        .for_element(Locator::Css("p.flash"))
        .await
        .unwrap();
    assert_eq!(
        flash.text().await.unwrap(),
        format!("Problem #{id} is acknowledged.")
    );
    assert!(
        tab.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains(&format!("acked={id}"))
    );
    let (by, note): (String, String) =
        sqlx::query_as("select ack_by, ack_note from problems where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(by, "noc-operator");
    assert!(note.starts_with("INC-4711"));
    let acked = tab
        .visit(
            "/problems?ack=yes",
            "problems-acknowledged",
            &["ACKNOWLEDGED", "INC-4711"],
        )
        .await;
    assert!(acked.contains(&format!("id=\"p{id}\" class=\"acked\"")));

    // the 404 page (the browser logs the 404 status of the document itself, nothing else)
    tab.open("/no/such/page").await;
    assert!(tab.client.source().await.unwrap().contains("Not found"));
    let errors = tab.errors(&["404 (Not Found)"]).await;
    assert!(errors.is_empty(), "404 page: {errors:#?}");
    tab.shot("not-found").await;

    // the wallboard, at the size of the screen on the wall
    tab.client.set_window_size(1920, 1080).await.unwrap();
    tab.visit(
        "/?wallboard=1",
        "overview-wallboard",
        &["class=\"wallboard\"", "Exit wallboard", "updated at"],
    )
    .await;
    let clock = tab
        .client
        .find(Locator::Css(".clock"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(clock.starts_with("now "), "the live clock ticks: {clock}");
    tab.visit(
        &format!("/stamps/{stamp}?wallboard=1"),
        "stamp-wallboard",
        &[&display],
    )
    .await;
    tab.visit(
        &format!("/capacity?wallboard=1&stamp={filling}#compare"),
        "capacity-wallboard",
        &["Over time: vCPUs", "<svg class=\"chart trend\""],
    )
    .await;
    tab.client.set_window_size(1440, 960).await.unwrap();

    // log out
    tab.open("/").await;
    tab.client
        .find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tab.client
        .wait()
        .for_element(Locator::Css("p.flash"))
        .await
        .unwrap();
    assert!(
        tab.client
            .source()
            .await
            .unwrap()
            .contains("You are logged out.")
    );
    assert!(tab.open("/problems").await.contains("Log in to stampbook"));

    tab.client.close().await.unwrap();
    driver_process.kill().await.unwrap();
}
