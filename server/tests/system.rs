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
