//! `collect --source linux`: iproute2, procfs, certificate directories and systemd on a Linux
//! host (SPF/WAP front-ends, SQL, jump hosts), fed to the same report as Windows hosts.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use stampbook_wire::{Certificate, HostSection, Report, Role, Route, Service, Vitals};

use super::{CollectError, command, new_report};
use crate::parse::{linux, pem, procfs, systemd};

/// A directory of PEM or DER certificate files reported as one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertDir {
    /// The store name the server sees, e.g. `LocalMachine\My` for the host's own
    /// certificates or `LocalMachine\Root` for its trust anchors.
    pub store: String,
    pub path: PathBuf,
}

/// What the Linux source needs from the caller (the CLI's flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxOptions {
    pub stamp: String,
    pub scale_unit: Option<String>,
    pub roles: Vec<Role>,
    /// Overrides `hostname -f`.
    pub fqdn: Option<String>,
    /// Certificate directories; none means certificates are not collected.
    pub cert_dirs: Vec<CertDir>,
    /// systemd units to report; none means services are not collected.
    pub services: Vec<String>,
    /// Where `/proc` and `/etc/os-release` are read from (`/` except in tests).
    pub root: PathBuf,
}

impl LinuxOptions {
    pub fn new(stamp: impl Into<String>, roles: Vec<Role>) -> Self {
        LinuxOptions {
            stamp: stamp.into(),
            scale_unit: None,
            roles,
            fqdn: None,
            cert_dirs: Vec::new(),
            services: Vec::new(),
            root: PathBuf::from("/"),
        }
    }
}

/// Collects this Linux host. Host facts must succeed; routes and interfaces that fail are
/// left "not collected" with a warning. Certificate files that are not certificates (keys,
/// CRLs, READMEs) are skipped with a warning rather than failing the report.
pub fn collect_linux(opts: &LinuxOptions, now: DateTime<Utc>) -> Result<Report, CollectError> {
    if opts.stamp.trim().is_empty() {
        return Err(CollectError::Options("a stamp name is required".into()));
    }
    let mut report = new_report(host(opts)?, now);

    let routes = ip_routes();
    if let Some(routes) = &routes {
        report.interfaces = optional("ip -j addr", || {
            let text = command::run("ip", &["-j", "addr"], &[])?;
            linux::parse_ip_addr(&text, routes).map_err(CollectError::parse("ip -j addr"))
        });
    }
    report.routes = routes;
    if !opts.cert_dirs.is_empty() {
        report.certificates = Some(certificates(&opts.cert_dirs)?);
    }
    if !opts.services.is_empty() {
        report.services = Some(services(&opts.services)?);
    }
    Ok(report)
}

fn host(opts: &LinuxOptions) -> Result<HostSection, CollectError> {
    let read = |rel: &str| {
        let path = opts.root.join(rel);
        std::fs::read(&path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|error| CollectError::Read {
                file: path.display().to_string(),
                error,
            })
    };
    let fqdn = match &opts.fqdn {
        Some(f) => f.clone(),
        None => command::run("hostname", &["-f"], &[])?.trim().to_owned(),
    };
    if fqdn.is_empty() {
        return Err(CollectError::Options(
            "hostname -f printed nothing; pass the FQDN explicitly".into(),
        ));
    }
    let os = read("etc/os-release")
        .or_else(|_| read("usr/lib/os-release"))
        .map(|t| procfs::os_release(&t))
        .ok();
    let vitals = Vitals {
        cpu_cores: Some(
            procfs::cpu_cores(&read("proc/cpuinfo")?)
                .map_err(CollectError::parse("/proc/cpuinfo"))?,
        ),
        memory_mb: Some(
            procfs::memory_mb(&read("proc/meminfo")?)
                .map_err(CollectError::parse("/proc/meminfo"))?,
        ),
        ..Vitals::default()
    };
    Ok(HostSection {
        fqdn: fqdn.to_ascii_lowercase(),
        stamp: opts.stamp.clone(),
        scale_unit: opts.scale_unit.clone(),
        roles: opts.roles.clone(),
        os,
        vitals: Some(vitals),
        unknown_roles: Vec::new(),
    })
}

/// IPv4 routes, plus IPv6 ones when the host has IPv6 (a kernel without it makes `ip -6`
/// fail, which is not a reason to lose the IPv4 routes).
fn ip_routes() -> Option<Vec<Route>> {
    let mut routes = optional("ip -j route", || {
        let text = command::run("ip", &["-j", "route"], &[])?;
        linux::parse_ip_route(&text).map_err(CollectError::parse("ip -j route"))
    })?;
    if let Ok(text) = command::run("ip", &["-j", "-6", "route"], &[]) {
        match linux::parse_ip_route(&text) {
            Ok(v6) => routes.extend(v6),
            Err(e) => {
                tracing::warn!(error = %e, "ip -j -6 route not understood; IPv6 routes left out")
            }
        }
    }
    Some(routes)
}

fn certificates(dirs: &[CertDir]) -> Result<Vec<Certificate>, CollectError> {
    let mut out = Vec::new();
    // /etc/ssl/certs holds every certificate twice (file and hash symlink).
    let mut seen = HashSet::new();
    for dir in dirs {
        for path in files(&dir.path)? {
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(error) => {
                    tracing::warn!(file = %path.display(), %error, "certificate file unreadable; skipped");
                    continue;
                }
            };
            let file = match pem::parse_certificate_file(&bytes) {
                Ok(f) => f,
                Err(error) => {
                    tracing::warn!(file = %path.display(), %error, "not a certificate file; skipped");
                    continue;
                }
            };
            for der in file.certificates {
                if seen.insert((dir.store.clone(), der.clone())) {
                    out.push(Certificate {
                        store: dir.store.clone(),
                        der: STANDARD.encode(&der),
                        has_private_key: file.has_private_key,
                        provider: None,
                        added_at: None,
                        added_at_source: None,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The regular files of a directory (symlinks followed), sorted so reports are stable.
fn files(dir: &Path) -> Result<Vec<PathBuf>, CollectError> {
    let read_err = |error| CollectError::Read {
        file: dir.display().to_string(),
        error,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

fn services(names: &[String]) -> Result<Vec<Service>, CollectError> {
    let mut out = Vec::new();
    for name in names {
        // TZ=UTC makes systemd print timestamps in UTC: zone abbreviations are ambiguous.
        let text = command::run(
            "systemctl",
            &[
                "show",
                "-p",
                "LoadState,ActiveState,ExecMainStartTimestamp",
                "--",
                name,
            ],
            &[("TZ", "UTC")],
        )?;
        let what = format!("systemctl show {name}");
        out.extend(systemd::parse_systemctl_show(name, &text).map_err(CollectError::parse(what))?);
    }
    Ok(out)
}

/// An optional section: a failure leaves it not collected, with a warning.
fn optional<T>(what: &str, f: impl FnOnce() -> Result<T, CollectError>) -> Option<T> {
    f().map_err(|error| tracing::warn!(section = what, %error, "section not collected"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_directories_are_read_deduplicated_and_junk_is_skipped() {
        let dir = std::env::temp_dir().join(format!("stampbook-certs-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = "-----BEGIN CERTIFICATE-----\nMAIFAA==\n-----END CERTIFICATE-----\n";
        std::fs::write(dir.join("a.pem"), pem).unwrap();
        std::fs::write(dir.join("b.pem"), pem).unwrap();
        std::fs::write(dir.join("README"), "not a certificate").unwrap();
        let certs = certificates(&[CertDir {
            store: "LocalMachine\\Root".into(),
            path: dir.clone(),
        }])
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0].der, "MAIFAA==");
    }

    #[test]
    fn a_missing_directory_names_itself() {
        let err = certificates(&[CertDir {
            store: "x".into(),
            path: "/nonexistent/stampbook".into(),
        }])
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/stampbook"), "{err}");
    }

    #[test]
    fn an_empty_stamp_is_refused() {
        let err = collect_linux(&LinuxOptions::new(" ", vec![]), Utc::now()).unwrap_err();
        assert!(matches!(err, CollectError::Options(_)));
    }
}
