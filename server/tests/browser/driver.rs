//! Driving the browser: chromedriver on a free loopback port, a headless Chromium session, and
//! a tab that visits pages, reads the errors the page and the console saw, and saves screenshots.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// chromedriver's (Selenium-compatible) browser log: everything the console printed.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver on a free loopback port, ready to take sessions.
pub async fn chromedriver(driver: &PathBuf) -> (Child, String) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    // chromedriver is another process: its port only answers once it is up, so ask until it does
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{url}/status")).send().await
            && r.status().is_success()
        {
            return (child, url);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not answer on {url} within 10 s");
}

pub async fn browser(driver_url: &str, chromium: &PathBuf, profile: &std::path::Path) -> Client {
    let mut caps = Capabilities::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--force-color-profile=srgb", "--window-size=1440,960",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(driver_url)
        .await
        .expect("a browser session")
}

pub fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Tab {
    pub client: Client,
    pub base: String,
}

impl Tab {
    pub async fn open(&self, path: &str) -> String {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
        self.client
            .wait()
            .for_element(Locator::Css("main"))
            .await
            .unwrap();
        self.client.source().await.unwrap()
    }

    /// Script errors the page collected (app.js) and SEVERE console lines the browser logged,
    /// except those `allowed` (substrings). Reading the log empties it.
    pub async fn errors(&self, allowed: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        let collected = self
            .client
            .execute(
                "return window.__stampbookErrors || ['app.js did not run'];",
                vec![],
            )
            .await
            .unwrap();
        for e in collected.as_array().cloned().unwrap_or_default() {
            out.push(format!("page: {e}"));
        }
        let log = self.client.issue_cmd(BrowserLog).await.unwrap();
        for entry in log.as_array().cloned().unwrap_or_default() {
            let level = entry["level"].as_str().unwrap_or_default();
            let message = entry["message"].as_str().unwrap_or_default();
            if (level == "SEVERE" || message.contains("Content Security Policy"))
                && !allowed.iter().any(|a| message.contains(a))
            {
                out.push(format!("console {level}: {message}"));
            }
        }
        out
    }

    pub async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(screenshots_dir().join(format!("{name}.png")), png).unwrap();
    }

    /// Visits a page, checks its content and that it ran clean, saves a screenshot.
    pub async fn visit(&self, path: &str, name: &str, expect: &[&str]) -> String {
        let html = self.open(path).await;
        for e in expect {
            assert!(html.contains(e), "{path} lacks {e:?}");
        }
        let ready: Value = self
            .client
            .execute(
                "return document.documentElement.getAttribute('data-js');",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(ready, json!("ready"), "{path}: app.js did not run");
        let errors = self.errors(&[]).await;
        assert!(errors.is_empty(), "{path}: {errors:#?}");
        self.shot(name).await;
        html
    }
}
