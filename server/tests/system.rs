//! Liveness, readiness, request ids, and the command line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{install_crypto, spawn};
use sqlx::PgPool;
use stampbook_server::config::ServeArgs;
use stampbook_server::startup::Application;

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn healthz_and_readyz_answer_when_the_database_is_up(pool: PgPool) {
    let app = spawn(pool).await;
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().contains_key("x-request-id"),
        "request id echoed"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_unreachable() {
    install_crypto();
    // a port nothing listens on
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pool =
        stampbook_server::db::pool(&format!("postgres://postgres@127.0.0.1:{closed}/none"), 2)
            .unwrap();
    let app = Application::build(ServeArgs::for_tests(), pool).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
}

fn server_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stampbook-server"))
}

fn database_url(pool: &PgPool) -> String {
    let opts = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        opts.get_username(),
        opts.get_host(),
        opts.get_port(),
        opts.get_database().unwrap()
    )
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn cli_token_create_prints_only_the_token_and_apply_is_idempotent(pool: PgPool) {
    let url = database_url(&pool);
    let out = server_bin()
        .env("DATABASE_URL", &url)
        .args(["token", "create", "--name", "ops", "--scope", "operator"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the token on stdout: {stdout:?}");
    assert!(lines[0].starts_with("sbk_"));

    let doc = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/inventory.yaml");
    let first = server_bin()
        .env("DATABASE_URL", &url)
        .args(["apply", doc])
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = server_bin()
        .env("DATABASE_URL", &url)
        .args(["apply", doc])
        .output()
        .unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(summary["created"], serde_json::json!([]));
    assert_eq!(summary["updated"], serde_json::json!([]));

    let revoke = server_bin()
        .env("DATABASE_URL", &url)
        .args(["token", "revoke", "ops"])
        .output()
        .unwrap();
    assert!(revoke.status.success());
    let list = server_bin()
        .env("DATABASE_URL", &url)
        .args(["token", "list"])
        .output()
        .unwrap();
    let listing = String::from_utf8(list.stdout).unwrap();
    assert!(listing.contains("ops") && !listing.contains(lines[0]));

    // the command line's token changes are audited like the API's
    let audited: Vec<(String, String, String)> = sqlx::query_as(
        "select actor, action, entity_key from audit_log where entity = 'token' order by id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        audited,
        vec![
            ("cli".into(), "create".into(), "ops".into()),
            ("cli".into(), "revoke".into(), "ops".into())
        ]
    );
}

#[test]
fn cli_refuses_to_run_without_a_database_url() {
    let out = server_bin()
        .env_remove("DATABASE_URL")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATABASE_URL"));
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn head_answers_like_get_without_the_body(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&common::spec_document()).await;
    for (path, token) in [
        ("/healthz", None),
        ("/login", None),
        ("/api/v1/stamps", Some(app.admin.as_str())),
        ("/api/openapi.json", None),
    ] {
        let get = |method: reqwest::Method| {
            let mut r = app.http.request(method, app.url(path));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            r.send()
        };
        let full = get(reqwest::Method::GET).await.unwrap();
        assert_eq!(full.status(), 200, "GET {path}");
        let content_type = full.headers()[reqwest::header::CONTENT_TYPE].clone();
        let etag = full.headers().get(reqwest::header::ETAG).cloned();
        let length = full.bytes().await.unwrap().len();
        let head = get(reqwest::Method::HEAD).await.unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert_eq!(head.headers()[reqwest::header::CONTENT_TYPE], content_type);
        assert_eq!(head.headers().get(reqwest::header::ETAG), etag.as_ref());
        assert_eq!(
            head.headers()[reqwest::header::CONTENT_LENGTH],
            length.to_string().as_str(),
            "HEAD {path}"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "HEAD {path}");
    }
    // a HEAD without the token is refused like the GET would be
    let r = app
        .http
        .head(app.url("/api/v1/stamps"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// 200 stamps with two networks and two scale units each, and 100 plans on them.
fn large_inventory() -> serde_json::Value {
    let stamps: Vec<serde_json::Value> = (0..200)
        .map(|i| {
            serde_json::json!({
                "name": format!("st-{i:03}"),
                "region": "eu-west",
                "networks": [
                    {"name": "mgmt", "role": "management", "cidr": format!("10.{}.{}.0/24", i / 256, i % 256)},
                    {"name": "frontend", "role": "front_end", "cidr": format!("172.16.{}.0/24", i % 256)}
                ],
                "scale_units": [
                    {"name": "compute-r1", "kind": "compute", "rack": "R1"},
                    {"name": "storage-r2", "kind": "storage", "rack": "R2"}
                ]
            })
        })
        .collect();
    let plans: Vec<serde_json::Value> = (0..100)
        .map(|i| {
            serde_json::json!({
                "wap_plan_id": format!("plan-{i:03}"), "name": format!("Plan {i}"),
                "stamp": format!("st-{:03}", i * 2), "cloud": "Gold Cloud",
                "quota": {"vms": 50, "vcpus": 200, "memory_gb": 800, "storage_gb": 10000}
            })
        })
        .collect();
    serde_json::json!({"stamps": stamps, "plans": plans})
}

/// The progress lines of one step (`what: done/total (pct%) note`) in `stderr`.
fn progress_lines<'a>(stderr: &'a str, what: &str) -> Vec<&'a str> {
    stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{what}: ")))
        .collect()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn cli_apply_of_a_large_document_shows_progress_lines_and_the_same_summary(pool: PgPool) {
    let url = database_url(&pool);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inventory.json");
    let doc = large_inventory();
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();

    // output() pipes stdout and stderr: not a terminal, so plain lines, no bar
    let first = server_bin()
        .env("DATABASE_URL", &url)
        .arg("apply")
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8(first.stderr).unwrap();
    assert!(first.status.success(), "{stderr}");
    assert!(
        !stderr.contains('\r') && !stderr.contains('\x1b'),
        "no bar: {stderr:?}"
    );
    for (what, total) in [
        ("validating", 300),
        ("writing stamps", 200),
        ("writing plans", 100),
    ] {
        let lines = progress_lines(&stderr, what);
        assert!(
            (2..=11).contains(&lines.len()),
            "{what}: at most a line per tenth, got {lines:?}"
        );
        assert!(
            lines
                .last()
                .unwrap()
                .starts_with(&format!("{what}: {total}/{total} (100%)")),
            "{what} ends complete: {lines:?}"
        );
    }
    // stdout is the summary alone, as before
    let summary: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let created: Vec<&str> = summary["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for (kind, count) in [
        ("stamp/", 200),
        ("network/", 400),
        ("scale_unit/", 400),
        ("plan/", 100),
    ] {
        assert_eq!(
            created.iter().filter(|c| c.starts_with(kind)).count(),
            count,
            "{kind}"
        );
    }
    assert_eq!(created.len(), 1100);
    assert_eq!(summary["updated"], serde_json::json!([]));
    assert_eq!(summary["deleted"], serde_json::json!([]));

    // the HTTP route applies the same document silently and sums it up as the command does
    let app = common::spawn(pool.clone()).await;
    let r = app.put_inventory(&doc).await;
    assert_eq!(r.status(), 200);
    let by_api: serde_json::Value = r.json().await.unwrap();
    assert_eq!(by_api["unchanged"], 1100, "{by_api}");
    let again = server_bin()
        .env("DATABASE_URL", &url)
        .arg("apply")
        .arg(&file)
        .output()
        .unwrap();
    assert!(again.status.success());
    let by_cli: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(by_cli, by_api);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_inventory_route_applies_a_large_document_without_printing_progress(pool: PgPool) {
    install_crypto();
    let admin = stampbook_server::auth::tokens::create(&pool, "admin", "admin", None, "test")
        .await
        .unwrap()
        .token;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // the real binary, its output piped as under systemd: whatever the route printed would be here
    let server = tokio::process::Command::new(env!("CARGO_BIN_EXE_stampbook-server"))
        .arg("serve")
        .env("DATABASE_URL", database_url(&pool))
        .env("STAMPBOOK_LISTEN", format!("127.0.0.1:{port}"))
        .env("STAMPBOOK_NO_WORKERS", "true")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the server did not start");
    let r = http
        .put(format!("{base}/api/v1/inventory"))
        .bearer_auth(&admin)
        .json(&large_inventory())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let summary: serde_json::Value = r.json().await.unwrap();
    assert_eq!(summary["created"].as_array().unwrap().len(), 1100);

    let pid = server.id().unwrap();
    // SIGTERM: a graceful stop flushes what the server wrote
    assert!(
        Command::new("kill")
            .arg(pid.to_string())
            .status()
            .unwrap()
            .success()
    );
    let out = server.wait_with_output().await.unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for what in ["validating", "writing stamps", "writing plans"] {
        assert!(
            progress_lines(&printed, what).is_empty() && !printed.contains(what),
            "the route printed {what}: {printed}"
        );
    }
}

#[test]
fn a_cli_command_that_fails_says_why_with_the_cause() {
    // nothing listens on port 9 (discard) of 127.0.0.1 here: the connection is refused
    let out = server_bin()
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:9/none")
        .args(["token", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        stderr.contains("refused") || stderr.contains("connect"),
        "the cause is named: {stderr}"
    );
}
