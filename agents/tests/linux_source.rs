//! `--source linux` on this machine, with procfs and os-release from a scratch root so the
//! host facts are known.

mod common;

use chrono::Utc;
use stampbook_agent::collect::{CertDir, LinuxOptions, collect_linux};
use stampbook_wire::Role;

#[test]
fn a_linux_host_reports_its_facts_certificates_and_routes() {
    let root = std::env::temp_dir().join(format!("stampbook-root-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(root.join("proc")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("proc/cpuinfo"),
        "processor\t: 0\n\nprocessor\t: 1\n\nprocessor\t: 2\n",
    )
    .unwrap();
    std::fs::write(
        root.join("proc/meminfo"),
        "MemTotal:        8167400 kB\nMemFree: 1 kB\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nVERSION_ID=\"13\"\n",
    )
    .unwrap();

    let mut opts = LinuxOptions::new("ams-01", vec![Role::SpfServer]);
    opts.root = root.clone();
    opts.fqdn = Some("SPF01.ams-01.example.net".into());
    opts.cert_dirs = vec![CertDir {
        store: "LocalMachine\\My".into(),
        path: common::fixtures().join("linux"),
    }];
    let report = collect_linux(&opts, Utc::now()).unwrap();
    std::fs::remove_dir_all(&root).unwrap();

    assert_eq!(report.host.fqdn, "spf01.ams-01.example.net");
    assert_eq!(report.host.roles, vec![Role::SpfServer]);
    assert_eq!(report.host.os.as_ref().unwrap().version, "13");
    let vitals = report.host.vitals.unwrap();
    assert_eq!((vitals.cpu_cores, vitals.memory_mb), (Some(3), Some(7976)));
    // bundle.pem holds two certificates, console.der one; the JSON and text files are skipped.
    assert_eq!(report.certificates.unwrap().len(), 3);
    assert!(report.services.is_none());
    // Routes depend on the machine: when iproute2 is there, they were read through it.
    if std::process::Command::new("ip")
        .arg("-j")
        .arg("route")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        assert!(report.routes.is_some());
    }
}
