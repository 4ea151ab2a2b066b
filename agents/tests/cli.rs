//! The real binary: exit statuses, stdout for documents and stderr for logs.

mod support;

use std::process::Command;

use support::{Answer, Receiver};

fn agent() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stampbook-agent"));
    command
        .env("RUST_LOG", "info")
        .env_remove("STAMPBOOK_SERVER")
        .env_remove("STAMPBOOK_SPOOL_DIR")
        .env_remove("STAMPBOOK_NO_SPOOL");
    command
}

#[test]
fn a_usage_error_exits_with_2() {
    let out = agent()
        .args(["collect", "--source", "capture-dir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = agent()
        .args(["run", "--every", "5", "--source", "linux"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // No stamp for a live source: the collector refuses its options, a usage error too.
    let out = agent()
        .args(["collect", "--source", "linux"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = agent().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn simulate_dry_run_prints_the_fault_summary_and_the_final_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = agent()
        .args([
            "simulate",
            "--stamps",
            "8",
            "--hosts-per-stamp",
            "16",
            "--faults",
            "--seed",
            "4",
        ])
        .arg("--dry-run-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("every rule id is covered (24 rules by these faults, 5 by"),
        "{stdout}"
    );
    assert!(stdout.contains("seed: 4"));
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("reports sent: 128 (0 duplicate), failures: 0, duration: "),
        "{last}"
    );
    assert!(last.ends_with("reports/s"));
    // not a terminal: the progress is a plain line per tenth, the last at 100 %
    assert!(stdout.contains("reports: 128/128 (100%)"), "{stdout}");
    assert_eq!(stdout.matches("reports: ").count(), 10, "{stdout}");
}

#[test]
fn push_to_an_unreachable_server_without_a_spool_fails_with_1_and_never_logs_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture");
    std::fs::create_dir(&capture).unwrap();
    std::fs::write(
        capture.join("host.json"),
        r#"{"Fqdn":"hv001.ams-01.example.net","Stamp":"ams-01","Roles":["hyperv_host"],"OsName":"Windows Server 2012 R2 Datacenter","OsVersion":"6.3.9600","CpuCores":32,"MemoryMB":524288}"#,
    )
    .unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "super-secret-token\n").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let out = agent()
        .args(["push", "--source", "capture-dir"])
        .arg(&capture)
        .args([
            "--server",
            &url,
            "--max-attempts",
            "1",
            "--connect-timeout-s",
            "2",
            "--no-spool",
        ])
        .arg("--token-file")
        .arg(&token)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("connect"), "{stderr}");
    assert!(!stderr.contains("super-secret-token"));
}

#[test]
fn push_to_an_unreachable_server_spools_the_report_where_the_environment_says() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture");
    std::fs::create_dir(&capture).unwrap();
    std::fs::write(
        capture.join("host.json"),
        r#"{"Fqdn":"hv004.ams-01.example.net","Stamp":"ams-01","Roles":["hyperv_host"],"CpuCores":8,"MemoryMB":65536}"#,
    )
    .unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "collector-token").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let spool = dir.path().join("state").join("spool");
    let out = agent()
        .args(["push", "--source", "capture-dir"])
        .arg(&capture)
        .args(["--server", &url, "--max-attempts", "1", "--token-file"])
        .arg(&token)
        .env("STAMPBOOK_SPOOL_DIR", &spool)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "spooled is not delivered");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("report spooled for later"), "{stderr}");
    let spooled: Vec<String> = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(spooled.len(), 1, "{spooled:?}");
}

#[tokio::test]
async fn simulate_rides_out_a_server_restart_within_its_retry_budget() {
    let started = std::time::Instant::now();
    // Down (503, as while the database restarts) for 2.5 s, then back: longer than five
    // quick attempts used to wait.
    let server = Receiver::respond(move |request, _| {
        if started.elapsed() < std::time::Duration::from_millis(2_500) {
            Answer::new(503, "")
        } else if request.path.ends_with("/api/v1/reports") {
            Answer::accepted()
        } else {
            Answer::new(200, r#"{"items":[],"next_cursor":null}"#)
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "admin-token").unwrap();
    let mut command = agent();
    command
        .args([
            "simulate",
            "--stamps",
            "1",
            "--hosts-per-stamp",
            "10",
            "--seed",
            "1",
        ])
        .args([
            "--server",
            server.url.as_str(),
            "--retry-for",
            "30s",
            "--token-file",
        ])
        .arg(&token);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("reports sent: 10 (0 duplicate), failures: 0"),
        "{stdout}"
    );

    let down = Receiver::start(vec![Answer::new(503, "")]).await;
    let mut command = agent();
    command
        .args([
            "simulate",
            "--stamps",
            "1",
            "--hosts-per-stamp",
            "10",
            "--seed",
            "1",
        ])
        .args([
            "--server",
            down.url.as_str(),
            "--retry-for",
            "1s",
            "--token-file",
        ])
        .arg(&token);
    let began = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a server that stays down fails the run"
    );
    assert!(
        began.elapsed() < std::time::Duration::from_secs(20),
        "gave up after the budget: {:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn push_with_a_spool_delivers_and_prints_nothing_on_stdout() {
    let server = Receiver::start(vec![Answer::new(503, ""), Answer::accepted()]).await;
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture");
    std::fs::create_dir(&capture).unwrap();
    std::fs::write(
        capture.join("host.json"),
        r#"{"Fqdn":"HV002.ams-01.example.net","Stamp":"ams-01","Roles":["hyperv_host"],"CpuCores":32,"MemoryMB":524288}"#,
    )
    .unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "collector-token").unwrap();
    let spool = dir.path().join("spool");
    let url = server.url.to_string();
    let mut command = agent();
    command
        .args(["push", "--source", "capture-dir"])
        .arg(&capture)
        .args([
            "--server",
            &url,
            "--stamp",
            "ams-01",
            "--role",
            "hyperv_host",
        ])
        .arg("--token-file")
        .arg(&token)
        .arg("--spool-dir")
        .arg(&spool);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "one retry after the 503");
    assert_eq!(requests[1].json()["host"]["stamp"], "ams-01");
    assert!(
        std::fs::read_dir(&spool).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".json"))
    );
}

#[cfg(unix)]
#[tokio::test]
async fn run_pushes_at_start_and_stops_cleanly_on_sigterm() {
    let server = Receiver::start(vec![Answer::accepted()]).await;
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture");
    std::fs::create_dir(&capture).unwrap();
    std::fs::write(
        capture.join("host.json"),
        r#"{"Fqdn":"hv003.ams-01.example.net","Stamp":"ams-01","Roles":["hyperv_host"],"CpuCores":16,"MemoryMB":262144}"#,
    )
    .unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "collector-token").unwrap();
    let child = agent()
        .args(["run", "--every", "1h", "--source", "capture-dir"])
        .arg(&capture)
        .args(["--server", server.url.as_str(), "--no-spool"])
        .arg("--token-file")
        .arg(&token)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.requests().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no push at start");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SIGTERM") && stderr.contains("stopped"),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 1);
}
