//! Runs the collection source chosen on the command line (`--source windows|linux|capture-dir`)
//! with the operator's flags, so that `collect`, `push` and `run` build the same report.

use chrono::{DateTime, Utc};
use stampbook_wire::Report;

use crate::cli::{CollectArgs, SourceKind};
use crate::collect::{
    CollectError, HostOverrides, LinuxOptions, WindowsOptions, collect_capture_dir_with,
    collect_linux, collect_windows,
};

/// Collects one report as of `now`. Blocking: it reads files and runs programs.
pub fn collect(args: &CollectArgs, now: DateTime<Utc>) -> Result<Report, CollectError> {
    let stamp = args.stamp.clone().unwrap_or_default();
    match args.source {
        SourceKind::CaptureDir => {
            let dir = args.dir.as_deref().ok_or_else(|| {
                CollectError::Options("--source capture-dir needs the capture folder".into())
            })?;
            // The flags win over what the capture script was told on the air-gapped host, and
            // stand in for a missing host.json.
            let flags = HostOverrides {
                fqdn: args.fqdn.clone(),
                stamp: args.stamp.clone(),
                scale_unit: args.scale_unit.clone(),
                roles: args.roles.clone(),
            };
            collect_capture_dir_with(dir, now, &flags)
        }
        SourceKind::Windows => {
            let mut opts = WindowsOptions::new(stamp, args.roles.clone());
            opts.scale_unit.clone_from(&args.scale_unit);
            opts.fqdn.clone_from(&args.fqdn);
            if !args.services.is_empty() {
                opts.services.clone_from(&args.services);
            }
            opts.powershell.clone_from(&args.powershell);
            opts.wap.admin_uri.clone_from(&args.wap_admin_uri);
            opts.wap.auth_site.clone_from(&args.wap_auth_site);
            opts.wap.skip_certificate_check = args.wap_skip_certificate_check;
            collect_windows(&opts, now)
        }
        SourceKind::Linux => {
            let mut opts = LinuxOptions::new(stamp, args.roles.clone());
            opts.scale_unit.clone_from(&args.scale_unit);
            opts.fqdn.clone_from(&args.fqdn);
            opts.cert_dirs.clone_from(&args.cert_dirs);
            opts.services.clone_from(&args.services);
            collect_linux(&opts, now)
        }
    }
}
