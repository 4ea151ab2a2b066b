//! Dashboard test support: a browser-like client over real HTTP (cookies kept, redirects not
//! followed, the login form's CSRF), a simulated fleet pushed through the real API, and a
//! synchronous run of the rule engine (problems and per-stamp figures).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::{self, HeaderMap};
use reqwest::{Client, StatusCode, redirect};
use sqlx::PgPool;
use stampbook_agent::simulate::certs::FleetCerts;
use stampbook_agent::simulate::{Fleet, FleetOptions};
use stampbook_server::config::ServeArgs;

use crate::common::{self, TestApp};

/// Settings for dashboard tests: no background workers; tests run the rule engine themselves
/// ([`evaluate`]), so pages are read against a known state.
pub fn settings() -> ServeArgs {
    ServeArgs {
        no_workers: true,
        ..ServeArgs::for_tests()
    }
}

pub async fn spawn(pool: PgPool) -> TestApp {
    common::spawn_with(pool, settings()).await
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        field(&self.body, "csrf").unwrap_or_default()
    }

    pub fn assert_contains(&self, needles: &[&str]) {
        for n in needles {
            assert!(
                self.body.contains(n),
                "page lacks {n:?} (status {}):\n{}",
                self.status,
                &self.body[..self.body.len().min(3000)]
            );
        }
    }
}

/// The value of the first `name="<name>" value="…"` in the HTML.
pub fn field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

pub fn form_encode(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A client that behaves like a browser tab: keeps cookies, does not follow redirects.
pub struct Browser {
    pub base: String,
    http: Client,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            base: base.to_owned(),
            http: Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Page {
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap();
        let page = Page {
            status,
            headers,
            body,
        };
        for c in page.set_cookies() {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = c.contains("Max-Age=0") || value.is_empty();
            if removed {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self
            .http
            .get(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookie_header());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        self.finish(resp).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_encode(fields))
            .send()
            .await
            .unwrap();
        self.finish(resp).await
    }

    /// Logs in through the form; answers the response to the form's POST.
    pub async fn login(&mut self, token: &str, next: &str) -> Page {
        let form = self.get(&format!("/login?next={next}")).await;
        assert_eq!(form.status, StatusCode::OK, "login form");
        let csrf = form.csrf();
        self.post(
            "/login",
            &[("token", token), ("csrf", &csrf), ("next", next)],
        )
        .await
    }

    /// Logs in and answers the overview's CSRF token (the session's).
    pub async fn logged_in(&mut self, token: &str) -> String {
        let r = self.login(token, "/").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "login: {}", r.body);
        let home = self.get("/").await;
        assert_eq!(home.status, StatusCode::OK);
        home.csrf()
    }
}

/// The instant simulated fleets are built at: now, to the second.
pub fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap()
}

/// A simulated fleet with faults: inventory applied and every report pushed through the API.
pub async fn load_fleet(app: &TestApp, stamps: usize, hosts: usize, seed: u64) -> Fleet {
    let fleet = Fleet::build(FleetOptions {
        stamps,
        hosts_per_stamp: hosts,
        faults: true,
        seed,
        now: now(),
    });
    let doc = serde_json::to_value(fleet.inventory()).unwrap();
    let r = app.put_inventory(&doc).await;
    assert!(
        r.status().is_success(),
        "inventory: {}",
        r.text().await.unwrap()
    );
    let certs = FleetCerts::generate(fleet.options.now).unwrap();
    for i in 0..fleet.stamps.len() {
        for report in fleet.stamp_reports(i, &certs).unwrap() {
            let r = app
                .send_json(
                    reqwest::Method::POST,
                    "/api/v1/reports",
                    &app.admin,
                    &serde_json::to_value(&report).unwrap(),
                )
                .await;
            assert_eq!(r.status(), 202, "report: {}", r.text().await.unwrap());
        }
    }
    fleet
}

/// Runs the rule engine over every stamp now: problems open, `stamp_status` is written.
pub async fn evaluate(pool: &PgPool) {
    stampbook_server::rules::engine::evaluate_all(pool)
        .await
        .unwrap();
}

/// One host of the stamp, by role.
pub async fn host_of(pool: &PgPool, stamp: &str, role: &str) -> String {
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

pub async fn first_stamp(pool: &PgPool) -> (String, String) {
    sqlx::query_as(
        "select name, display_name from stamps where retired_at is null order by name limit 1",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

pub async fn open_problem(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select id from problems where resolved_at is null order by id limit 1")
        .fetch_one(pool)
        .await
        .unwrap()
}
