//! The real agent binary against a spawned server: a capture folder in the layouts of real
//! Windows hosts pushed over HTTP and read back through the API; a simulated fleet with every
//! fault pushed over HTTP, evaluated, and every rule of SPEC §5 found through the API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestApp, agent_bin, run, spawn, spec_document, token_file};
use serde_json::Value;
use sqlx::PgPool;
use stampbook_server::rules::{RULES, engine};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../agents/tests/fixtures/windows")
}

/// A capture folder as `agents/capture.ps1` writes it on an NVGRE gateway VM.
fn capture_dir(dir: &Path) {
    let f = fixtures();
    for (from, to) in [
        ("host-gateway-ps51.json", "host.json"),
        ("route-print-gateway-tie-en.txt", "route-print.txt"),
        (
            "netipconfiguration-gateway-ps51.json",
            "netipconfiguration.json",
        ),
        ("cert-my-rdgw-ps51.json", "cert-my.json"),
        ("cert-root-hyperv-single-ps51-utf16.json", "cert-root.json"),
        ("services-hyperv-ps51-bom.json", "services.json"),
        ("components-vmm-ps51.json", "components.json"),
    ] {
        std::fs::copy(f.join(from), dir.join(to)).unwrap();
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_capture_folder_pushed_by_the_agent_reads_back_through_the_api(pool: PgPool) {
    let app: TestApp = spawn(pool.clone()).await;
    app.put_inventory(&spec_document()).await;
    let tmp = tempfile::tempdir().unwrap();
    let capture = tmp.path().join("capture");
    std::fs::create_dir(&capture).unwrap();
    capture_dir(&capture);
    let collector = app
        .token("ams-collector", "collector", Some("ams-01"))
        .await;
    let out = run(Command::new(agent_bin())
        .args(["push", "--no-spool", "--source", "capture-dir"])
        .arg(&capture)
        .args(["--server", &app.base, "--token-file"])
        .arg(token_file(tmp.path(), &collector)))
    .await;
    assert!(
        out.status.success(),
        "agent push failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(&collector),
        "the token never reaches the log"
    );

    let host = app.get_json("/api/v1/hosts/gw01.ams-01.example.net").await;
    assert_eq!(host["roles"], serde_json::json!(["nvgre_gateway"]));
    assert_eq!(host["vitals"]["cpu_cores"], 8);
    assert!(host["agent_version"].is_string());
    let thumbs: Vec<&str> = host["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["thumbprint"].as_str().unwrap())
        .collect();
    for t in [
        "90D0A19F51A0EA8B4D9925D6A956485C8D06F805",
        "901050FAEE38FB93047BFD563064B282BF9F7B7B",
        "CACDDE3EC06BF137B580C0299D2973293DEB14D1",
    ] {
        assert!(thumbs.contains(&t), "{t} in {thumbs:?}");
    }
    let sha1 = host["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["thumbprint"] == "CACDDE3EC06BF137B580C0299D2973293DEB14D1")
        .unwrap();
    assert_eq!(sha1["signature_hash"], "sha1");
    let root = host["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["store"] == "LocalMachine\\Root")
        .unwrap();
    assert_eq!(root["added_at"], "2014-02-06T08:00:00Z");
    let defaults: Vec<&Value> = host["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["destination"] == "0.0.0.0/0")
        .collect();
    assert_eq!(defaults.len(), 2);
    assert!(
        defaults.iter().all(|r| r["metric"] == 266
            && r["effective_default"] == true
            && r["persistent"] == true)
    );
    assert!(
        host["services"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "vmms")
    );

    engine::evaluate_queued(&pool).await.unwrap();
    let problems = app
        .get_json("/api/v1/problems?host=gw01.ams-01.example.net")
        .await;
    let rules: Vec<&str> = problems["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rule"].as_str().unwrap())
        .collect();
    for r in [
        "route.default_ambiguous",
        "route.default_via_management",
        "cert.weak_signature",
        "cert.expired",
    ] {
        assert!(rules.contains(&r), "{r} in {rules:?}");
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_simulated_fleet_with_faults_produces_every_rule_through_the_api(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let tmp = tempfile::tempdir().unwrap();
    let out = run(Command::new(agent_bin())
        .args([
            "simulate",
            "--stamps",
            "8",
            "--hosts-per-stamp",
            "16",
            "--faults",
            "--apply-inventory",
            "--seed",
            "42",
            // capacity.exhaustion_soon needs history: the demo's backfill, through the import API
            "--backfill-days",
            "180",
        ])
        .args(["--concurrency", "8", "--server", &app.base, "--token-file"])
        .arg(token_file(tmp.path(), &app.admin)))
    .await;
    assert!(
        out.status.success(),
        "simulate failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    engine::evaluate_all(&pool).await.unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut path = "/api/v1/problems?limit=1000".to_owned();
    loop {
        let page = app.get_json(&path).await;
        for p in page["items"].as_array().unwrap() {
            seen.insert(p["rule"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/problems?limit=1000&cursor={c}"),
            None => break,
        }
    }
    let missing: Vec<&str> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !seen.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "rules never produced: {missing:?} (seen {seen:?})"
    );
    let hosts = app.get_json("/api/v1/hosts?limit=1000").await;
    assert!(hosts["items"].as_array().unwrap().len() >= 120);
}
