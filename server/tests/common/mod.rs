//! Test support: the real application on port 0 against a fresh database, and an HTTP client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use sqlx::PgPool;
use stampbook_server::auth::tokens;
use stampbook_server::config::ServeArgs;
use stampbook_server::startup::Application;

pub struct TestApp {
    pub base: String,
    pub pool: PgPool,
    pub admin: String,
    pub http: Client,
}

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub async fn spawn(pool: PgPool) -> TestApp {
    spawn_with(pool, ServeArgs::for_tests()).await
}

pub async fn spawn_with(pool: PgPool, settings: ServeArgs) -> TestApp {
    install_crypto();
    let app = Application::build(settings, pool.clone()).expect("application builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let admin = tokens::create(&pool, "test-admin", "admin", None, "test")
        .await
        .expect("admin token")
        .token;
    TestApp {
        base,
        pool,
        admin,
        http: client(),
    }
}

/// The tests' HTTP client: it drops a connection idle for 2 s, before the server's keep-alive
/// (actix's 5 s) closes it. A test that waits on something else for about 5 s (Alertmanager,
/// the evaluator) then asked the server on a pooled connection the server was closing that
/// moment, and failed with `IncompleteMessage` about once in a few dozen runs.
pub fn client() -> Client {
    Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("the tests' HTTP client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn token(&self, name: &str, scope: &str, stamp: Option<&str>) -> String {
        tokens::create(&self.pool, name, scope, stamp, "test")
            .await
            .expect("token")
            .token
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// `GET /metrics` (unauthenticated), as text.
    pub async fn metrics_text(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("text")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path, &self.admin).await;
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.json().await.expect("json")
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Response {
        self.http
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put_inventory(&self, doc: &Value) -> Response {
        self.send_json(reqwest::Method::PUT, "/api/v1/inventory", &self.admin, doc)
            .await
    }
}

/// Asserts the spec's error shape, status, code and (when given) field; returns the body.
pub async fn assert_error(resp: Response, status: u16, code: &str, field: Option<&str>) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let body: Value = resp.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "code in {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message in {body}"
    );
    if let Some(f) = field {
        assert_eq!(body["error"]["field"], f, "field in {body}");
    }
    body
}

/// The demo document of SPEC §3 plus a second stamp.
pub fn spec_document() -> Value {
    serde_json::json!({
        "stamps": [
            {
                "name": "ams-01", "display_name": "Amsterdam 1", "region": "eu-west", "location": "AMS DC2",
                "purpose": "public", "vmm_server": "vmm01.ams-01.example.net",
                "spf_endpoint": "https://spf.ams-01.example.net:8090", "rd_gateway_fqdn": "console.ams-01.example.net",
                "report_interval_s": 300,
                "thresholds": {"cert_warning_days": 30, "cert_critical_days": 7, "cpu_overcommit": 4.0, "memory_overcommit": 1.0},
                "target_versions": {"vmm_server": "3.2.7620.0"},
                "networks": [
                    {"name": "mgmt", "role": "management", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1", "required_prefixes": ["10.0.0.0/16"]},
                    {"name": "frontend", "role": "front_end", "cidr": "77.233.248.0/24", "gateway": "77.233.248.1"}
                ],
                "scale_units": [{"name": "compute-r1", "kind": "compute", "rack": "R1"}]
            },
            {"name": "fra-01", "display_name": "Frankfurt 1", "region": "eu-central"}
        ],
        "plans": [
            {"wap_plan_id": "gold-ams", "name": "Gold IaaS", "public": true, "stamp": "ams-01", "cloud": "Gold Cloud",
             "remote_console": true, "quota": {"vms": 500, "vcpus": 2000, "memory_gb": 8192, "storage_gb": 100000}}
        ]
    })
}

/// The agent binary next to this test's target dir, built first when it is not there.
pub fn agent_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("stampbook-agent");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "stampbook-agent", "--bin", "stampbook-agent"])
            .status()
            .unwrap();
        assert!(status.success(), "building stampbook-agent");
    }
    bin
}

pub fn token_file(dir: &Path, token: &str) -> PathBuf {
    let p = dir.join("token");
    std::fs::write(&p, token).unwrap();
    p
}

pub async fn run(cmd: &mut Command) -> std::process::Output {
    let mut cmd = tokio::process::Command::from(std::mem::replace(cmd, Command::new("true")));
    cmd.output().await.unwrap()
}

/// A small simulated fleet with every fault, pushed by the real agent through the API, then
/// evaluated: demo data for contract tests.
pub async fn simulate_fleet(app: &TestApp, stamps: u16, hosts_per_stamp: u16) {
    let tmp = tempfile::tempdir().unwrap();
    let (stamps, hosts) = (stamps.to_string(), hosts_per_stamp.to_string());
    let out = run(Command::new(agent_bin())
        .args(["simulate", "--stamps", &stamps, "--hosts-per-stamp", &hosts])
        .args([
            "--faults",
            "--apply-inventory",
            "--seed",
            "7",
            "--concurrency",
            "8",
        ])
        .args(["--server", &app.base, "--token-file"])
        .arg(token_file(tmp.path(), &app.admin)))
    .await;
    assert!(
        out.status.success(),
        "simulate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stampbook_server::rules::engine::evaluate_all(&app.pool)
        .await
        .unwrap();
}

/// A tool a test runs as the real component (promtool, Alertmanager): `$env` when set, else the
/// binary the project's own script unpacked from the Debian package into `.data/tools` (`deb`
/// names it under `/usr/bin`), else the one on `PATH`; the first that answers `--version`.
pub fn debian_tool(env: &str, deb: &str, script: &str) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    [
        std::env::var_os(env).map(PathBuf::from),
        Some(repo.join(".data/tools/usr/bin").join(deb)),
        Some(PathBuf::from(deb)),
    ]
    .into_iter()
    .flatten()
    .find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
    .unwrap_or_else(|| {
        panic!("{deb} not found: run {script} (it fetches the Debian package's binary)")
    })
}
