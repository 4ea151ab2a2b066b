//! `collect --source capture-dir DIR`: a report from the files `capture.ps1` wrote on an
//! air-gapped host (SPEC §8). A missing file is a section not collected; an empty file is a
//! section collected and empty.

use std::io::ErrorKind;
use std::path::Path;

use chrono::{DateTime, Utc};
use stampbook_wire::{MY_STORE, ROOT_STORE, Report, Settings, VMM_STORE};

use super::{CollectError, new_report};
use crate::parse::{
    ParseError, certs, hostinfo, netipconfig, netroute, route_print, services, settings, text,
};

/// Every file the capture script writes, in SPEC §8 order.
pub const CAPTURE_FILES: [&str; 13] = [
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
];

/// Builds the report of one capture folder. `host.json` is required; every other file is
/// optional. Routes come from `netroute.json` when present (it names interfaces by alias),
/// else from `route-print.txt`.
pub fn collect_capture_dir(dir: &Path, now: DateTime<Utc>) -> Result<Report, CollectError> {
    let dir = CaptureDir(dir);
    let host = dir
        .json("host.json", hostinfo::parse_host)?
        .ok_or_else(|| CollectError::MissingFile {
            file: dir.name("host.json"),
        })?;
    let mut report = new_report(host, now);

    report.routes = match dir.json("netroute.json", netroute::parse_netroute)? {
        Some(routes) => Some(routes),
        None => dir.route_print("route-print.txt")?,
    };
    report.interfaces = dir.json("netipconfiguration.json", netipconfig::parse_netipconfig)?;

    let stores = [
        ("cert-my.json", MY_STORE),
        ("cert-root.json", ROOT_STORE),
        ("cert-vmm.json", VMM_STORE),
    ];
    for (file, store) in stores {
        if let Some(found) = dir.json(file, |t| certs::parse_certificates(t, store))? {
            report
                .certificates
                .get_or_insert_with(Vec::new)
                .extend(found);
        }
    }

    report.services = dir.json("services.json", services::parse_services)?;

    let vmm = dir.json("vmm.json", settings::parse_vmm)?;
    let ts = dir.json("msvm-tssettings.json", settings::parse_ts_settings)?;
    let fedauth = dir.json("fedauth.json", settings::parse_fedauth)?;
    let tsgateway = dir.json("tsgateway.json", settings::parse_tsgateway)?;
    let components = dir.json("components.json", settings::parse_components)?;
    let any_settings = vmm.is_some()
        || ts.is_some()
        || fedauth.is_some()
        || tsgateway.is_some()
        || components.is_some();
    if any_settings {
        report.settings = Some(Settings {
            vmm: vmm.flatten().into(),
            hyperv_terminal_service: ts.flatten().into(),
            rd_gateway: settings::merge_rd_gateway(fedauth, tsgateway.flatten()).into(),
            components: components.into(),
        });
    }
    Ok(report)
}

struct CaptureDir<'a>(&'a Path);

impl CaptureDir<'_> {
    /// The file's path for messages, so the operator knows which file to look at.
    fn name(&self, file: &str) -> String {
        self.0.join(file).display().to_string()
    }

    fn bytes(&self, file: &str) -> Result<Option<Vec<u8>>, CollectError> {
        match std::fs::read(self.0.join(file)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(error) => Err(CollectError::Read {
                file: self.name(file),
                error,
            }),
        }
    }

    /// Reads and parses a JSON capture; `None` when the file does not exist.
    fn json<T>(
        &self,
        file: &str,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<Option<T>, CollectError> {
        let Some(bytes) = self.bytes(file)? else {
            return Ok(None);
        };
        text::decode(&bytes)
            .and_then(|t| parse(&t))
            .map(Some)
            .map_err(CollectError::parse(self.name(file)))
    }

    /// `route print` text may come from `cmd.exe` in the OEM code page; read it leniently.
    fn route_print(&self, file: &str) -> Result<Option<Vec<stampbook_wire::Route>>, CollectError> {
        let Some(bytes) = self.bytes(file)? else {
            return Ok(None);
        };
        route_print::parse_route_print(&text::decode_lossy(&bytes))
            .map(Some)
            .map_err(CollectError::parse(self.name(file)))
    }
}
