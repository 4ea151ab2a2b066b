//! `collect --source capture-dir DIR`: a report from the files `capture.ps1` wrote on an
//! air-gapped host (SPEC §8). A missing file is a section not collected; an empty file is a
//! section collected and empty; a settings file holding `null` is a part the host does not
//! have. A file that cannot be read or parsed is a collection error of its section, never a
//! failed collection, and the script's own `errors.json` is merged in.

use std::io::ErrorKind;
use std::path::Path;

use chrono::{DateTime, Utc};
use stampbook_wire::{
    CollectionError, HostSection, MY_STORE, Part, ROOT_STORE, Report, Role, Settings, VMM_STORE,
};

use super::{CollectError, new_report};
use crate::parse::{
    ParseError, capture_meta, certs, hostinfo, netipconfig, netroute, psjson, route_print,
    services, settings, text, wap,
};

/// Every file the capture script writes, in SPEC §8 order.
pub const CAPTURE_FILES: [&str; 16] = [
    "host.json",
    "route-print.txt",
    "netroute.json",
    "netipconfiguration.json",
    "cert-my.json",
    "cert-root.json",
    "cert-vmm.json",
    "services.json",
    "msvm-tssettings.json",
    "fedauth.json",
    "tsgateway.json",
    "vmm.json",
    "components.json",
    "capture.json",
    "wap-plans.json",
    "errors.json",
];

/// What the operator's flags say about the host; they win over `host.json`, and with at least
/// `fqdn` and `stamp` they stand in for a missing or damaged one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostOverrides {
    pub fqdn: Option<String>,
    pub stamp: Option<String>,
    pub scale_unit: Option<String>,
    pub roles: Vec<Role>,
}

impl HostOverrides {
    fn apply(&self, host: &mut HostSection) {
        if let Some(fqdn) = &self.fqdn {
            host.fqdn = fqdn.to_ascii_lowercase();
        }
        if let Some(stamp) = &self.stamp {
            host.stamp.clone_from(stamp);
        }
        if let Some(unit) = &self.scale_unit {
            host.scale_unit = Some(unit.clone());
        }
        if !self.roles.is_empty() {
            host.roles.clone_from(&self.roles);
        }
    }

    /// A host section from the flags alone, when they name the host and its stamp.
    fn host(&self) -> Option<HostSection> {
        Some(HostSection {
            fqdn: self.fqdn.as_ref()?.to_ascii_lowercase(),
            stamp: self.stamp.clone()?,
            scale_unit: self.scale_unit.clone(),
            roles: self.roles.clone(),
            os: None,
            vitals: None,
            unknown_roles: Vec::new(),
        })
    }
}

/// [`collect_capture_dir_with`] without flags: `host.json` must be there.
pub fn collect_capture_dir(dir: &Path, now: DateTime<Utc>) -> Result<Report, CollectError> {
    collect_capture_dir_with(dir, now, &HostOverrides::default())
}

/// Builds the report of one capture folder. Only the host is required (from `host.json` or the
/// flags); `collected_at` is `capture.json`'s `CapturedAt`, else `now`. Routes come from
/// `netroute.json` when it reads (it names interfaces by alias), else from `route-print.txt`.
pub fn collect_capture_dir_with(
    dir: &Path,
    now: DateTime<Utc>,
    flags: &HostOverrides,
) -> Result<Report, CollectError> {
    let mut dir = CaptureDir {
        path: dir,
        errors: Vec::new(),
    };
    let mut host = host(&mut dir, flags)?;
    flags.apply(&mut host);
    let meta = dir.section("capture", "capture.json", capture_meta::parse_capture_meta);
    let mut report = new_report(host, meta.map_or(now, |m| m.captured_at));

    report.routes = match dir.read("netroute.json", netroute::parse_netroute) {
        Read::Parsed(routes) => Some(routes),
        failed => {
            let routes = dir.section("routes", "route-print.txt", |t| {
                route_print::parse_route_print(t)
            });
            // A damaged netroute.json only matters when nothing else gave the routes.
            match (routes, failed) {
                (Some(routes), _) => Some(routes),
                (None, Read::Failed(e)) => {
                    dir.fail("routes", "netroute.json", &e);
                    None
                }
                (None, _) => None,
            }
        }
    };
    report.interfaces = dir.section(
        "interfaces",
        "netipconfiguration.json",
        netipconfig::parse_netipconfig,
    );
    report.certificates = certificates(&mut dir);
    report.services = dir
        .section(
            "services",
            "services.json",
            services::parse_services_capture,
        )
        .map(|(found, errors)| {
            dir.errors.extend(errors);
            found
        });
    report.settings = role_settings(&mut dir);
    report.wap = dir
        .section("wap", "wap-plans.json", |t| {
            if psjson::is_null(t) {
                Ok(None)
            } else {
                wap::parse_wap_plans(t).map(Some)
            }
        })
        .flatten();

    if let Some(script_errors) = dir.section("capture", "errors.json", capture_meta::parse_errors) {
        dir.errors.extend(script_errors);
    }
    report.collection_errors = Some(std::mem::take(&mut dir.errors)).filter(|e| !e.is_empty());
    Ok(report)
}

/// The host from `host.json`, or from the flags when that file is missing or damaged (a
/// damaged one is then a collection error of `host`).
fn host(dir: &mut CaptureDir<'_>, flags: &HostOverrides) -> Result<HostSection, CollectError> {
    match dir.read("host.json", hostinfo::parse_host_capture) {
        Read::Parsed((host, errors)) => {
            dir.errors.extend(errors);
            Ok(host)
        }
        Read::Missing => flags.host().ok_or_else(|| CollectError::MissingFile {
            file: dir.name("host.json"),
        }),
        Read::Failed(error) => match flags.host() {
            Some(host) => {
                dir.fail("host", "host.json", &error);
                Ok(host)
            }
            None => Err(error.into_collect(dir.name("host.json"))),
        },
    }
}

/// The three stores are one section: sending `Root` without a `My` that failed to read would
/// tell the server that `My` is empty.
fn certificates(dir: &mut CaptureDir<'_>) -> Option<Vec<stampbook_wire::Certificate>> {
    let stores = [
        ("cert-my.json", MY_STORE),
        ("cert-root.json", ROOT_STORE),
        ("cert-vmm.json", VMM_STORE),
    ];
    let mut found = None;
    let mut failed = false;
    for (file, store) in stores {
        match dir.read(file, |t| certs::parse_certificates(t, store)) {
            Read::Parsed(certs) => found.get_or_insert_with(Vec::new).extend(certs),
            Read::Missing => {}
            Read::Failed(e) => {
                dir.fail("certificates", file, &e);
                failed = true;
            }
        }
    }
    found.filter(|_| !failed)
}

fn role_settings(dir: &mut CaptureDir<'_>) -> Option<Settings> {
    let vmm = dir.part("settings.vmm", "vmm.json", settings::parse_vmm);
    let ts = dir.part(
        "settings.hyperv_terminal_service",
        "msvm-tssettings.json",
        settings::parse_ts_settings,
    );
    let errors_before = dir.errors.len();
    let fedauth = dir.part("settings.rd_gateway", "fedauth.json", |t| {
        settings::parse_fedauth(t).map(Some)
    });
    let tsgateway = dir.part(
        "settings.rd_gateway",
        "tsgateway.json",
        settings::parse_tsgateway,
    );
    // Half a gateway is worse than none: either file failing withholds the part.
    let rd_gateway_failed = dir.errors.len() > errors_before;
    let components = dir.part("settings.components", "components.json", |t| {
        settings::parse_components(t).map(Some)
    });
    let s = Settings {
        vmm,
        hyperv_terminal_service: ts,
        rd_gateway: if rd_gateway_failed {
            Part::Absent
        } else {
            rd_gateway(fedauth, tsgateway)
        },
        components,
    };
    Some(s).filter(|s| *s != Settings::default())
}

/// The RD Gateway part from its two files: cleared when both say the host has no gateway,
/// not collected when either failed (the error is already recorded).
fn rd_gateway(
    fedauth: Part<Vec<String>>,
    tsgateway: Part<stampbook_wire::RdGatewaySettings>,
) -> Part<stampbook_wire::RdGatewaySettings> {
    match (fedauth, tsgateway) {
        (Part::Cleared, Part::Cleared) => Part::Cleared,
        (Part::Absent, Part::Absent) => Part::Absent,
        (fedauth, tsgateway) => {
            let mut merged = tsgateway.into_collected().unwrap_or_default();
            merged.trusted_issuer_certificates = match fedauth {
                Part::Collected(list) => Some(list),
                // The Console Connect plugin is not installed: it trusts nobody.
                Part::Cleared => Some(Vec::new()),
                Part::Absent => None,
            };
            Part::Collected(merged)
        }
    }
}

/// One file's fate.
enum Read<T> {
    Missing,
    Parsed(T),
    Failed(FileError),
}

enum FileError {
    Io(std::io::Error),
    Parse(ParseError),
}

impl FileError {
    fn into_collect(self, file: String) -> CollectError {
        match self {
            FileError::Io(error) => CollectError::Read { file, error },
            FileError::Parse(error) => CollectError::Parse { file, error },
        }
    }
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Io(e) => write!(f, "cannot read: {e}"),
            FileError::Parse(e) => e.fmt(f),
        }
    }
}

struct CaptureDir<'a> {
    path: &'a Path,
    errors: Vec<CollectionError>,
}

impl CaptureDir<'_> {
    /// The file's path for messages, so the operator knows which file to look at.
    fn name(&self, file: &str) -> String {
        self.path.join(file).display().to_string()
    }

    fn fail(&mut self, section: &str, file: &str, error: &FileError) {
        tracing::warn!(section, file, %error, "section not collected");
        self.errors.push(CollectionError {
            section: section.to_owned(),
            source: Some(file.to_owned()),
            message: error.to_string(),
        });
    }

    /// Reads and parses a capture. `route print` text may come from `cmd.exe` in the OEM code
    /// page, so `.txt` files are decoded leniently (the parser reads the layout, not the words).
    fn read<T>(&self, file: &str, parse: impl FnOnce(&str) -> Result<T, ParseError>) -> Read<T> {
        let bytes = match std::fs::read(self.path.join(file)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Read::Missing,
            Err(e) => return Read::Failed(FileError::Io(e)),
        };
        let decoded = if file.ends_with(".txt") {
            Ok(text::decode_lossy(&bytes))
        } else {
            text::decode(&bytes)
        };
        match decoded.and_then(|t| parse(&t)) {
            Ok(v) => Read::Parsed(v),
            Err(e) => Read::Failed(FileError::Parse(e)),
        }
    }

    /// A section from one file: `None` when missing, or failed (recorded under `section`).
    fn section<T>(
        &mut self,
        section: &str,
        file: &str,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<T> {
        match self.read(file, parse) {
            Read::Parsed(v) => Some(v),
            Read::Missing => None,
            Read::Failed(e) => {
                self.fail(section, file, &e);
                None
            }
        }
    }

    /// A settings part: `null` in the file is cleared, a blank settings object not collected.
    fn part<T>(
        &mut self,
        section: &str,
        file: &str,
        parse: impl FnOnce(&str) -> Result<Option<T>, ParseError>,
    ) -> Part<T> {
        let read = self.section(section, file, |t| {
            if psjson::is_null(t) {
                Ok(Part::Cleared)
            } else {
                parse(t).map(Part::from)
            }
        });
        read.unwrap_or(Part::Absent)
    }
}
