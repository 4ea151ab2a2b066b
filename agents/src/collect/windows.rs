//! `collect --source windows`: runs the capture script's PowerShell live, one section at a time,
//! writes nothing to disk, and feeds the output to the same parsers as `capture-dir`. A section
//! that fails is a collection error of that section; only a missing PowerShell (or host facts
//! that cannot be had and are not given by flags) fails the collection.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use stampbook_wire::{
    Certificate, CollectionError, HostSection, MY_STORE, Part, ROOT_STORE, Report, Role, Settings,
    VMM_STORE,
};

use super::{CollectError, command, new_report, ps_scripts as ps};
use crate::parse::{
    ParseError, certs, hostinfo, netipconfig, netroute, services, settings, text, wap,
};

/// Where the WAP admin API listens, for a `wap_server` (WAP's defaults: admin API on 30004, the
/// Windows authentication site on 30072).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WapOptions {
    pub admin_uri: String,
    pub auth_site: String,
    /// `-DisableCertificateValidation`, for WAP's self-signed default certificates.
    pub skip_certificate_check: bool,
}

impl Default for WapOptions {
    fn default() -> Self {
        WapOptions {
            admin_uri: "https://localhost:30004".into(),
            auth_site: "https://localhost:30072".into(),
            skip_certificate_check: false,
        }
    }
}

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
    pub wap: WapOptions,
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
            wap: WapOptions::default(),
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

/// Collects this Windows host.
pub fn collect_windows(opts: &WindowsOptions, now: DateTime<Utc>) -> Result<Report, CollectError> {
    if opts.stamp.trim().is_empty() {
        return Err(CollectError::Options("a stamp name is required".into()));
    }
    let mut shell = Shell {
        opts,
        errors: Vec::new(),
    };
    let host = host(&mut shell)?;
    let mut report = new_report(host, now);
    let has = |role| opts.roles.contains(&role);

    report.routes = shell.section(
        "routes",
        "Get-NetRoute",
        ps::NETROUTE,
        netroute::parse_netroute,
    )?;
    report.interfaces = shell.section(
        "interfaces",
        "Get-NetIPConfiguration",
        ps::NETIPCONFIG,
        netipconfig::parse_netipconfig,
    )?;
    report.certificates = certificates(&mut shell, has(Role::VmmServer))?;
    if !opts.services.is_empty() {
        report.services = shell
            .section(
                "services",
                "Get-Service",
                ps::SERVICES,
                services::parse_services_capture,
            )?
            .map(|(found, errors)| {
                shell.errors.extend(errors);
                found
            });
    }

    let mut s = Settings {
        components: shell
            .section(
                "settings.components",
                "registry (VMM Setup, Uninstall, Windows Installer patches)",
                ps::COMPONENTS,
                settings::parse_components,
            )?
            .into(),
        ..Settings::default()
    };
    s.hyperv_terminal_service = if has(Role::HypervHost) {
        shell
            .section(
                "settings.hyperv_terminal_service",
                "Msvm_TerminalServiceSettingData",
                ps::MSVM_TSSETTINGS,
                settings::parse_ts_settings,
            )?
            .flatten()
            .into()
    } else {
        shell.absent_role(ps::PROBE_HYPERV)?
    };
    s.rd_gateway = if has(Role::RdGateway) {
        rd_gateway(&mut shell)?
    } else {
        shell.absent_role(ps::PROBE_RDGW)?
    };
    s.vmm = if has(Role::VmmServer) {
        shell
            .section(
                "settings.vmm",
                "Get-SCVMMServer",
                ps::VMM,
                settings::parse_vmm,
            )?
            .flatten()
            .into()
    } else {
        shell.absent_role(ps::PROBE_VMM)?
    };
    report.settings = Some(s).filter(|s| *s != Settings::default());
    if has(Role::WapServer) {
        report.wap = shell.section(
            "wap",
            "Get-MgmtSvcPlan",
            ps::WAP_PLANS,
            wap::parse_wap_plans,
        )?;
    }
    report.collection_errors = Some(shell.errors).filter(|e| !e.is_empty());
    Ok(report)
}

/// Host facts; when they cannot be had, the flags stand in if they name the host.
fn host(shell: &mut Shell<'_>) -> Result<HostSection, CollectError> {
    let opts = shell.opts;
    let found = shell.run(ps::HOST).and_then(|out| {
        hostinfo::parse_host_capture(&out).map_err(CollectError::parse("host facts (PowerShell)"))
    });
    match found {
        Ok((host, errors)) => {
            shell.errors.extend(errors);
            Ok(host)
        }
        Err(e @ CollectError::ProgramMissing { .. }) => Err(e),
        Err(e) => match &opts.fqdn {
            Some(fqdn) => {
                shell.fail("host", "Win32_OperatingSystem", &e);
                Ok(HostSection {
                    fqdn: fqdn.to_ascii_lowercase(),
                    stamp: opts.stamp.clone(),
                    scale_unit: opts.scale_unit.clone(),
                    roles: opts.roles.clone(),
                    os: None,
                    vitals: None,
                    unknown_roles: Vec::new(),
                })
            }
            None => Err(e),
        },
    }
}

/// The stores are one section (see `capture_dir`): any store failing withholds them all.
fn certificates(
    shell: &mut Shell<'_>,
    vmm: bool,
) -> Result<Option<Vec<Certificate>>, CollectError> {
    let mut stores = vec![
        (MY_STORE, "Cert:\\LocalMachine\\My", ps::CERT_MY.to_owned()),
        (
            ROOT_STORE,
            "Cert:\\LocalMachine\\Root",
            format!("{}{}", ps::REGISTRY_HELPER, ps::CERT_ROOT),
        ),
    ];
    if vmm {
        stores.push((VMM_STORE, "Get-SCVMMServer", ps::CERT_VMM.to_owned()));
    }
    let before = shell.errors.len();
    let mut found = Vec::new();
    for (store, source, script) in stores {
        if let Some(certs) = shell.section("certificates", source, &script, |t| {
            certs::parse_certificates(t, store)
        })? {
            found.extend(certs);
        }
    }
    Ok(Some(found).filter(|_| shell.errors.len() == before))
}

/// Both RD Gateway sources, or nothing: half a gateway would read as a misconfigured one.
fn rd_gateway(
    shell: &mut Shell<'_>,
) -> Result<Part<stampbook_wire::RdGatewaySettings>, CollectError> {
    let before = shell.errors.len();
    let fedauth = shell.section(
        "settings.rd_gateway",
        "FedAuthSettings",
        ps::FEDAUTH,
        settings::parse_fedauth,
    )?;
    let tsgateway = shell.section(
        "settings.rd_gateway",
        "Win32_TSGatewayServerSettings",
        ps::TSGATEWAY,
        settings::parse_tsgateway,
    )?;
    if shell.errors.len() > before {
        return Ok(Part::Absent);
    }
    Ok(settings::merge_rd_gateway(fedauth, tsgateway.flatten()).into())
}

struct Shell<'a> {
    opts: &'a WindowsOptions,
    errors: Vec<CollectionError>,
}

impl Shell<'_> {
    /// Runs one snippet after the prelude; `-EncodedCommand` sidesteps Windows' command-line
    /// quoting rules, which PowerShell 5.1 applies inconsistently to embedded quotes. The
    /// snippet's output comes back as base64 of its UTF-8 (see [`envelope`]).
    fn run(&self, snippet: &str) -> Result<String, CollectError> {
        let script = format!("{}{}", prelude(self.opts), envelope(snippet));
        let encoded = encode_command(&script);
        let out = command::run(
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
        )?;
        let compact: String = out.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = STANDARD
            .decode(compact)
            .map_err(|e| CollectError::CommandFailed {
                command: "powershell (snippet output)".into(),
                status: "unreadable output".into(),
                stderr: format!("not the base64 envelope: {e}"),
            })?;
        text::decode(&bytes).map_err(CollectError::parse("PowerShell output"))
    }

    fn fail(&mut self, section: &str, source: &str, error: &CollectError) {
        tracing::warn!(section, source, %error, "section not collected");
        self.errors.push(CollectionError {
            section: section.to_owned(),
            source: Some(source.to_owned()),
            message: error.to_string(),
        });
    }

    /// Runs a section: a failed command or unparsable output is a collection error of
    /// `section` and `None`; only a missing PowerShell stops the collection.
    fn section<T>(
        &mut self,
        section: &str,
        source: &str,
        snippet: &str,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<Option<T>, CollectError> {
        let result = self.run(snippet).and_then(|out| {
            parse(&out).map_err(CollectError::parse(format!("{source} (PowerShell)")))
        });
        match result {
            Ok(value) => Ok(Some(value)),
            Err(e @ CollectError::ProgramMissing { .. }) => Err(e),
            Err(e) => {
                self.fail(section, source, &e);
                Ok(None)
            }
        }
    }

    /// For a role the host does not claim: cleared when the probe is certain the role's class
    /// or key is absent, else left alone (never an error: the host was not asked to have it).
    fn absent_role<T>(&mut self, probe: &str) -> Result<Part<T>, CollectError> {
        match self.run(probe) {
            Ok(out) if out.trim() == "absent" => Ok(Part::Cleared),
            Ok(_) => Ok(Part::Absent),
            Err(e @ CollectError::ProgramMissing { .. }) => Err(e),
            Err(e) => {
                tracing::debug!(error = %e, "role probe failed; part left alone");
                Ok(Part::Absent)
            }
        }
    }
}

/// Variables the snippets read and the helper functions. Errors stop the snippet; warnings and
/// progress are silenced because, with stdout redirected, PowerShell writes them into it.
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
         $Stamp = {}\n$ScaleUnit = {}\n$Roles = @({})\n$Fqdn = {}\n$Services = @({})\n\
         $WapAdminUri = {}\n$WapAuthSite = {}\n$WapSkipCertificateCheck = ${}\n{}",
        quote(&opts.stamp),
        opts.scale_unit
            .as_deref()
            .map_or_else(|| "$null".to_owned(), quote),
        list(&roles),
        opts.fqdn
            .as_deref()
            .map_or_else(|| "$null".to_owned(), quote),
        list(&opts.services),
        quote(&opts.wap.admin_uri),
        quote(&opts.wap.auth_site),
        opts.wap.skip_certificate_check,
        ps::HELPERS,
    )
}

/// The snippet's text output as base64 of its UTF-8: with stdout redirected, Windows
/// PowerShell writes in the console's OEM code page (a certificate subject or an interface
/// alias with an umlaut would arrive mangled), and changing `[Console]::OutputEncoding` fails
/// where there is no console (WinRM, a scheduled task). Base64 is ASCII whatever the code page.
fn envelope(snippet: &str) -> String {
    format!(
        "$StampbookOut = @(& {{\n{snippet}\n}}) -join \"`r`n\"\n\
         [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes([string]$StampbookOut))\n"
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
    fn prelude_and_envelope_need_no_console() {
        let opts = WindowsOptions::new("ams-01", vec![Role::WapServer]);
        let script = format!("{}{}", prelude(&opts), envelope("'x'"));
        assert!(!script.contains("[Console]"), "{script}");
        assert!(
            script.contains("$WapSkipCertificateCheck = $false"),
            "{script}"
        );
        assert!(script.contains("ToBase64String"), "{script}");
    }

    #[test]
    fn encoded_command_is_utf16le_base64() {
        assert_eq!(encode_command("ab"), STANDARD.encode([b'a', 0, b'b', 0]));
    }
}
