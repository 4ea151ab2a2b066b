//! `collect --source windows`: runs the capture script's PowerShell live, one section at a time,
//! writes nothing to disk, and feeds the output to the same parsers as `capture-dir`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use stampbook_wire::{MY_STORE, ROOT_STORE, Report, Role, Settings, VMM_STORE};

use super::{CollectError, command, new_report, ps_scripts as ps};
use crate::parse::{ParseError, certs, hostinfo, netipconfig, netroute, services, settings};

/// What the Windows source needs from the caller (the CLI's flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowsOptions {
    pub stamp: String,
    pub scale_unit: Option<String>,
    pub roles: Vec<Role>,
    /// Overrides the DNS name Windows reports for itself.
    pub fqdn: Option<String>,
    /// Services to report; see [`default_services`].
    pub services: Vec<String>,
    /// The PowerShell to run: `powershell.exe` (5.1, always present) or `pwsh.exe`.
    pub powershell: String,
}

impl WindowsOptions {
    /// Options with the services that matter for `roles` and Windows PowerShell 5.1.
    pub fn new(stamp: impl Into<String>, roles: Vec<Role>) -> Self {
        WindowsOptions {
            stamp: stamp.into(),
            scale_unit: None,
            services: default_services(&roles),
            roles,
            fqdn: None,
            powershell: "powershell.exe".into(),
        }
    }
}

/// The services whose state the problem rules read, per role: `vmms` on Hyper-V hosts (its
/// start time against the Remote Console root), the gateway and VMM services on theirs.
pub fn default_services(roles: &[Role]) -> Vec<String> {
    let mut names = Vec::new();
    for role in roles {
        let name = match role {
            Role::HypervHost => "vmms",
            Role::RdGateway => "TSGateway",
            Role::VmmServer => "SCVMMService",
            _ => continue,
        };
        names.push(name.to_owned());
    }
    names
}

/// Collects this Windows host. Host facts must succeed; any other section that fails is left
/// "not collected" with a warning, as the capture script leaves its file out. PowerShell
/// missing altogether is an error.
pub fn collect_windows(opts: &WindowsOptions, now: DateTime<Utc>) -> Result<Report, CollectError> {
    if opts.stamp.trim().is_empty() {
        return Err(CollectError::Options("a stamp name is required".into()));
    }
    let shell = Shell { opts };
    let host_json = shell.run(ps::HOST)?;
    let host =
        hostinfo::parse_host(&host_json).map_err(CollectError::parse("host facts (PowerShell)"))?;
    let mut report = new_report(host, now);
    let has = |role| opts.roles.contains(&role);

    report.routes = shell.section("netroute.json", ps::NETROUTE, netroute::parse_netroute)?;
    report.interfaces = shell.section(
        "netipconfiguration.json",
        ps::NETIPCONFIG,
        netipconfig::parse_netipconfig,
    )?;

    let mut stores = vec![
        (MY_STORE, ps::CERT_MY.to_owned()),
        (
            ROOT_STORE,
            format!("{}{}", ps::REGISTRY_HELPER, ps::CERT_ROOT),
        ),
    ];
    if has(Role::VmmServer) {
        stores.push((VMM_STORE, ps::CERT_VMM.to_owned()));
    }
    for (store, script) in stores {
        if let Some(found) =
            shell.section(store, &script, |t| certs::parse_certificates(t, store))?
        {
            report
                .certificates
                .get_or_insert_with(Vec::new)
                .extend(found);
        }
    }
    if !opts.services.is_empty() {
        report.services = shell.section("services.json", ps::SERVICES, services::parse_services)?;
    }

    let mut s = Settings {
        components: shell
            .section(
                "components.json",
                ps::COMPONENTS,
                settings::parse_components,
            )?
            .into(),
        ..Settings::default()
    };
    if has(Role::HypervHost) {
        s.hyperv_terminal_service = shell
            .section(
                "msvm-tssettings.json",
                ps::MSVM_TSSETTINGS,
                settings::parse_ts_settings,
            )?
            .flatten()
            .into();
    }
    if has(Role::RdGateway) {
        let fedauth = shell.section("fedauth.json", ps::FEDAUTH, settings::parse_fedauth)?;
        let tsgateway =
            shell.section("tsgateway.json", ps::TSGATEWAY, settings::parse_tsgateway)?;
        s.rd_gateway = settings::merge_rd_gateway(fedauth, tsgateway.flatten()).into();
    }
    if has(Role::VmmServer) {
        s.vmm = shell
            .section("vmm.json", ps::VMM, settings::parse_vmm)?
            .flatten()
            .into();
    }
    report.settings = Some(s).filter(|s| *s != Settings::default());
    Ok(report)
}

struct Shell<'a> {
    opts: &'a WindowsOptions,
}

impl Shell<'_> {
    /// Runs one snippet after the prelude; `-EncodedCommand` sidesteps Windows' command-line
    /// quoting rules, which PowerShell 5.1 applies inconsistently to embedded quotes.
    fn run(&self, snippet: &str) -> Result<String, CollectError> {
        let script = format!("{}{snippet}", prelude(self.opts));
        let encoded = encode_command(&script);
        command::run(
            &self.opts.powershell,
            &[
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-EncodedCommand",
                &encoded,
            ],
            &[],
        )
    }

    /// Runs an optional section: a failed command or unparsable output leaves it `None`
    /// with a warning; only a missing PowerShell stops the collection.
    fn section<T>(
        &self,
        what: &str,
        snippet: &str,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<Option<T>, CollectError> {
        let result = self.run(snippet).and_then(|out| {
            parse(&out).map_err(CollectError::parse(format!("{what} (PowerShell)")))
        });
        match result {
            Ok(value) => Ok(Some(value)),
            Err(e @ CollectError::ProgramMissing { .. }) => Err(e),
            Err(e) => {
                tracing::warn!(section = what, error = %e, "section not collected");
                Ok(None)
            }
        }
    }
}

/// Variables the snippets read, plus UTF-8 output and errors that stop the snippet. Warnings
/// and progress are silenced because, with stdout redirected, PowerShell writes them into it
/// and they would corrupt the JSON.
fn prelude(opts: &WindowsOptions) -> String {
    let list = |items: &[String]| {
        items
            .iter()
            .map(|s| quote(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let roles: Vec<String> = opts.roles.iter().map(|r| r.as_str().to_owned()).collect();
    format!(
        "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\n\
         $WarningPreference = 'SilentlyContinue'\n$InformationPreference = 'SilentlyContinue'\n\
         [Console]::OutputEncoding = [System.Text.Encoding]::UTF8\n\
         $Stamp = {}\n$ScaleUnit = {}\n$Roles = @({})\n$Fqdn = {}\n$Services = @({})\n",
        quote(&opts.stamp),
        opts.scale_unit
            .as_deref()
            .map_or_else(|| "$null".to_owned(), quote),
        list(&roles),
        opts.fqdn
            .as_deref()
            .map_or_else(|| "$null".to_owned(), quote),
        list(&opts.services),
    )
}

/// A PowerShell single-quoted literal: only `'` needs escaping (doubled); the typographic
/// quotes PowerShell also treats as quote marks are doubled too.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// `-EncodedCommand` takes base64 of the script in UTF-16LE.
fn encode_command(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_powershell_is_a_clear_error() {
        let mut opts = WindowsOptions::new("ams-01", vec![Role::HypervHost]);
        opts.powershell = "stampbook-no-such-powershell.exe".into();
        let err = collect_windows(&opts, Utc::now()).unwrap_err();
        assert!(matches!(err, CollectError::ProgramMissing { .. }), "{err}");
        assert!(err.to_string().contains("stampbook-no-such-powershell.exe"));
    }

    #[test]
    fn prelude_quotes_every_value_safely() {
        let mut opts = WindowsOptions::new("o'brien", vec![Role::HypervHost, Role::RdGateway]);
        opts.scale_unit = Some("r1".into());
        let p = prelude(&opts);
        assert!(p.contains("$Stamp = 'o''brien'"), "{p}");
        assert!(p.contains("$Roles = @('hyperv_host', 'rd_gateway')"), "{p}");
        assert!(p.contains("$Services = @('vmms', 'TSGateway')"), "{p}");
        assert!(
            p.contains("$Fqdn = $null") && p.contains("$ScaleUnit = 'r1'"),
            "{p}"
        );
    }

    #[test]
    fn encoded_command_is_utf16le_base64() {
        assert_eq!(encode_command("ab"), STANDARD.encode([b'a', 0, b'b', 0]));
    }
}
