//! The PowerShell that collects each section, shared word for word by `--source windows` (one
//! snippet per run) and `agents/capture.ps1` (a test checks that the script contains every
//! snippet). Every cmdlet, class, property and registry value here is cited in
//! `docs/COLLECTION.md`.
//!
//! Written for the oldest shell in the field, Windows PowerShell 4.0 on Server 2012 R2, and for
//! no console (scheduled task, WinRM) and Constrained Language Mode: no `[Console]`, `Add-Type`
//! only behind a FullLanguage check, `@(...)` around pipelines, explicit `-Depth`, dates written
//! as UTC ISO 8601 strings and byte arrays as hex by the snippet itself.

/// Functions the snippets use: dates as UTC ISO 8601, elevation, and whether a WMI class is
/// there at all (the difference between "this host has no RD Gateway" and "we could not see").
pub const HELPERS: &str = r#"
function ConvertTo-StampbookDate($Date) {
    if ($null -eq $Date) { return $null }
    ([datetime]$Date).ToUniversalTime().ToString('o')
}
function Test-StampbookElevated {
    try {
        $principal = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
        $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
    } catch { $false }
}
function Get-StampbookCimPresence([string] $Namespace, [string] $ClassName) {
    try {
        $null = Get-CimClass -Namespace $Namespace -ClassName $ClassName -ErrorAction Stop
        'present'
    } catch {
        if (@('InvalidNamespace', 'InvalidClass', 'NotFound') -contains [string]$_.Exception.NativeErrorCode) { 'absent' } else { 'unknown' }
    }
}
"#;

/// Host facts: the operator's parameters, OS and size from WMI, the FQDN from
/// `Win32_ComputerSystem`, and the VM figures only where Hyper-V runs (`vmms` exists) and the
/// shell is elevated; otherwise `VmVitalsError` says why they are missing.
pub const HOST: &str = r#"
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$cs = Get-CimInstance -ClassName Win32_ComputerSystem
$cores = (@(Get-CimInstance -ClassName Win32_Processor) | Measure-Object -Property NumberOfCores -Sum).Sum
$disk = (@(Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType=3') | Measure-Object -Property Size -Sum).Sum
$vmCount = $null; $vmVcpus = $null; $vmMemoryMB = $null; $vmError = $null
if (Get-Service -Name vmms -ErrorAction SilentlyContinue) {
    if (-not (Test-StampbookElevated)) {
        $vmError = 'the shell is not elevated: Get-VM was not run'
    } else {
        try {
            $vms = @(Get-VM -ErrorAction Stop)
            $vmCount = $vms.Count
            $vmVcpus = [int](($vms | Measure-Object -Property ProcessorCount -Sum).Sum)
            $vmMemoryMB = [int64][math]::Round(($vms | Measure-Object -Property MemoryStartup -Sum).Sum / 1MB)
        } catch { $vmError = $_.Exception.Message }
    }
}
if (-not $Fqdn) {
    $Fqdn = [string]$cs.DNSHostName
    if ($cs.PartOfDomain) { $Fqdn = '{0}.{1}' -f $cs.DNSHostName, $cs.Domain }
}
[pscustomobject]@{
    Fqdn = $Fqdn; Stamp = $Stamp; ScaleUnit = $ScaleUnit; Roles = @($Roles)
    OsName = [string]$os.Caption; OsVersion = [string]$os.Version
    CpuCores = [int]$cores; MemoryMB = [int64][math]::Round($cs.TotalPhysicalMemory / 1MB)
    StorageGB = [int64][math]::Round($disk / 1GB)
    VmCount = $vmCount; VmVcpus = $vmVcpus; VmMemoryMB = $vmMemoryMB; VmVitalsError = $vmError
} | ConvertTo-Json -Depth 4
"#;

/// Routes with the interface metric joined in, active and persistent stores both, so the
/// parser can compute the effective metric and mark persistent routes.
pub const NETROUTE: &str = r#"
$ifMetric = @{}
@(Get-NetIPInterface) | ForEach-Object { $ifMetric["$($_.InterfaceIndex)/$($_.AddressFamily)"] = $_.InterfaceMetric }
@(@(Get-NetRoute -PolicyStore ActiveStore) + @(Get-NetRoute -PolicyStore PersistentStore -ErrorAction SilentlyContinue)) |
    Select-Object DestinationPrefix, NextHop, RouteMetric, InterfaceAlias, InterfaceIndex,
        @{n='InterfaceMetric';e={$ifMetric["$($_.InterfaceIndex)/$($_.AddressFamily)"]}},
        @{n='Store';e={[string]$_.Store}} |
    ConvertTo-Json -Depth 4
"#;

/// Interfaces flattened to strings (the raw CIM objects would serialise their whole graph);
/// `-All` includes disconnected adapters, whose addresses still say which network they are on.
pub const NETIPCONFIG: &str = r#"
@(Get-NetIPConfiguration -All) | ForEach-Object {
    [pscustomobject]@{
        InterfaceAlias = $_.InterfaceAlias
        IPv4Address = @($_.IPv4Address | ForEach-Object { '{0}/{1}' -f $_.IPAddress, $_.PrefixLength })
        IPv4DefaultGateway = @($_.IPv4DefaultGateway | ForEach-Object { $_.NextHop })
    }
} | ConvertTo-Json -Depth 4
"#;

/// The personal store, with the key's provider (CNG keys throw on `PrivateKey`: no provider).
pub const CERT_MY: &str = r#"
@(Get-ChildItem -Path Cert:\LocalMachine\My) |
    Select-Object Thumbprint, Subject, @{n='NotAfter';e={ConvertTo-StampbookDate $_.NotAfter}}, HasPrivateKey,
        @{n='RawData';e={[Convert]::ToBase64String($_.RawData)}},
        @{n='Provider';e={ if ($_.HasPrivateKey) { try { $_.PrivateKey.CspKeyContainerInfo.ProviderName } catch { $null } } }} |
    ConvertTo-Json -Depth 4
"#;

/// Windows keeps no "added to the store" time. The last write time of the certificate's
/// registry key is the closest record, and only an upper bound (anything that rewrites the key
/// moves it); .NET cannot read it, so it takes P/Invoke through `Add-Type`, which Constrained
/// Language Mode forbids: there the root store is collected without it.
pub const REGISTRY_HELPER: &str = r#"
$StampbookKeyTimes = $false
if ($ExecutionContext.SessionState.LanguageMode -eq 'FullLanguage') {
    try {
        if (-not ('StampbookRegistry' -as [type])) {
            Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
public static class StampbookRegistry {
    [DllImport("advapi32.dll", CharSet = CharSet.Unicode)]
    static extern int RegOpenKeyEx(IntPtr key, string subKey, int options, int sam, out IntPtr result);
    [DllImport("advapi32.dll", CharSet = CharSet.Unicode)]
    static extern int RegQueryInfoKey(IntPtr key, IntPtr cls, IntPtr clsLen, IntPtr reserved, IntPtr subKeys,
        IntPtr maxSubKeyLen, IntPtr maxClassLen, IntPtr values, IntPtr maxValueNameLen, IntPtr maxValueLen,
        IntPtr securityDescriptor, out long lastWriteTime);
    [DllImport("advapi32.dll")]
    static extern int RegCloseKey(IntPtr key);
    public static object CertificateAddedAt(string store, string thumbprint) {
        string[] roots = { @"SOFTWARE\Microsoft\SystemCertificates\", @"SOFTWARE\Policies\Microsoft\SystemCertificates\",
                           @"SOFTWARE\Microsoft\EnterpriseCertificates\" };
        IntPtr hklm = new IntPtr(unchecked((int)0x80000002));
        foreach (string root in roots) {
            IntPtr key;
            if (RegOpenKeyEx(hklm, root + store + @"\Certificates\" + thumbprint, 0, 0x20019, out key) != 0) { continue; }
            try {
                long written;
                if (RegQueryInfoKey(key, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero,
                        IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, out written) == 0) {
                    return DateTime.FromFileTimeUtc(written);
                }
            } finally { RegCloseKey(key); }
        }
        return null;
    }
}
'@
        }
        $StampbookKeyTimes = $true
    } catch { $StampbookKeyTimes = $false }
}
"#;

/// The trusted root store, with the upper bound of when each root arrived where it can be read
/// (see [`REGISTRY_HELPER`]); `AddedAtSource` says what the time is.
pub const CERT_ROOT: &str = r#"
@(Get-ChildItem -Path Cert:\LocalMachine\Root) | ForEach-Object {
    $addedAt = $null
    if ($StampbookKeyTimes) { try { $addedAt = ConvertTo-StampbookDate ([StampbookRegistry]::CertificateAddedAt('ROOT', $_.Thumbprint)) } catch { $addedAt = $null } }
    [pscustomobject]@{
        Thumbprint = $_.Thumbprint; Subject = $_.Subject; NotAfter = ConvertTo-StampbookDate $_.NotAfter
        HasPrivateKey = $_.HasPrivateKey; RawData = [Convert]::ToBase64String($_.RawData)
        AddedAt = $addedAt; AddedAtSource = $(if ($addedAt) { 'RegistryKeyLastWrite' } else { $null })
    }
} | ConvertTo-Json -Depth 4
"#;

/// The VMConnect certificates VMM signs Remote Console tokens with. VMM keeps them in its
/// database; the server object exposes them (or at least their thumbprints, in which case
/// the copy in the VMM server's personal store is exported).
pub const CERT_VMM: &str = r#"
Import-Module -Name virtualmachinemanager -DisableNameChecking
$vmm = Get-SCVMMServer -ComputerName localhost
@(foreach ($kind in 'Gateway', 'HyperV') {
    $cert = $vmm."VMConnect${kind}Certificate"
    if (-not ($cert -is [System.Security.Cryptography.X509Certificates.X509Certificate2])) {
        $thumb = $vmm."VMConnect${kind}CertificateThumbprint"
        $cert = $null
        if ($thumb) { $cert = Get-Item -Path "Cert:\LocalMachine\My\$thumb" -ErrorAction SilentlyContinue }
    }
    if ($cert) {
        [pscustomobject]@{
            Thumbprint = $cert.Thumbprint; Subject = $cert.Subject; NotAfter = ConvertTo-StampbookDate $cert.NotAfter
            HasPrivateKey = $cert.HasPrivateKey; RawData = [Convert]::ToBase64String($cert.RawData)
            Provider = $(try { $cert.PrivateKey.CspKeyContainerInfo.ProviderName } catch { $null })
        }
    }
}) | Sort-Object -Property Thumbprint -Unique | ConvertTo-Json -Depth 4
"#;

/// The named services with the start time of their process (what `vmms` restart checks need).
/// A protected process hides its start time from a shell that is not elevated (PowerShell then
/// reads `$null`): `Win32_Process.CreationDate` is tried next, and if that fails too,
/// `StartTimeError` says so instead of a silent null.
pub const SERVICES: &str = r#"
@(Get-Service -Name $Services -ErrorAction SilentlyContinue) | ForEach-Object {
    $svc = $_
    $started = $null; $startError = $null
    $wmi = Get-CimInstance -ClassName Win32_Service -Filter "Name='$($svc.Name)'"
    if ($wmi.ProcessId) {
        try { $started = ConvertTo-StampbookDate (Get-Process -Id $wmi.ProcessId -ErrorAction Stop).StartTime } catch { $startError = $_.Exception.Message }
        if (-not $started) {
            try {
                $started = ConvertTo-StampbookDate (Get-CimInstance -ClassName Win32_Process -Filter "ProcessId=$($wmi.ProcessId)").CreationDate
            } catch { $startError = $_.Exception.Message }
        }
        if ($started) { $startError = $null } elseif (-not $startError) { $startError = 'the process start time is not readable (run elevated)' }
    }
    [pscustomobject]@{ Name = $svc.Name; Status = [string]$svc.Status; StartTime = $started; StartTimeError = $startError }
} | ConvertTo-Json -Depth 4
"#;

/// Hyper-V's trust for Remote Console tokens.
pub const MSVM_TSSETTINGS: &str = r#"
@(Get-CimInstance -Namespace root\virtualization\v2 -ClassName Msvm_TerminalServiceSettingData) |
    Select-Object InstanceID, ListenerPort, DisableSelfSignedCertificateGeneration,
        @{n='TrustedIssuerCertificateHashes';e={@($_.TrustedIssuerCertificateHashes)}},
        @{n='AllowedHashAlgorithms';e={@($_.AllowedHashAlgorithms)}} |
    ConvertTo-Json -Depth 4
"#;

/// The RD Gateway's trust for VMM's token-signing certificate (the Console Connect plugin).
pub const FEDAUTH: &str = r#"
@(Get-CimInstance -Namespace root\TSGatewayFedAuth2 -ClassName FedAuthSettings) |
    Select-Object TrustedIssuerCertificates |
    ConvertTo-Json -Depth 4
"#;

/// The RD Gateway's plugins and HTTPS certificate under the class's own property names; the
/// `CertHash` byte array is written as hex here, explicitly, rather than left to the JSON writer.
pub const TSGATEWAY: &str = r#"
@(Get-CimInstance -Namespace root\CIMV2\TerminalServices -ClassName Win32_TSGatewayServerSettings) |
    Select-Object AuthenticationPluginName, AuthorizationPluginName, CentralCAPEnabled, EnforceChannelBinding,
        @{n='CertHash';e={ (@($_.CertHash) | ForEach-Object { '{0:X2}' -f $_ }) -join '' }} |
    ConvertTo-Json -Depth 4
"#;

/// VMM's VMConnect settings; the enum is written by name.
pub const VMM: &str = r#"
Import-Module -Name virtualmachinemanager -DisableNameChecking
$vmm = Get-SCVMMServer -ComputerName localhost
$gw = $vmm.VMConnectGatewayCertificateThumbprint
if (-not $gw -and $vmm.VMConnectGatewayCertificate) { $gw = $vmm.VMConnectGatewayCertificate.Thumbprint }
$hv = $vmm.VMConnectHyperVCertificateThumbprint
if (-not $hv -and $vmm.VMConnectHyperVCertificate) { $hv = $vmm.VMConnectHyperVCertificate.Thumbprint }
[pscustomobject]@{
    VMConnectGatewayCertificateThumbprint = $gw
    VMConnectHyperVCertificateThumbprint = $hv
    VMConnectHostIdentificationMode = [string]$vmm.VMConnectHostIdentificationMode
    VMConnectTimeToLiveInMinutes = $vmm.VMConnectTimeToLiveInMinutes
} | ConvertTo-Json -Depth 4
"#;

/// Installed versions of the stamp's software. VMM from its Setup key's `ProductVersion`;
/// agents, SPF and WAP from their uninstall entries; SPF's update rollups from the Windows
/// Installer patches registered under its product (a rollup is a patch: the product's own
/// version does not change), as the highest "Update Rollup N" among their names.
pub const COMPONENTS: &str = r#"
$found = [ordered]@{}
$vmmSetup = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Microsoft System Center Virtual Machine Manager Server\Setup' -ErrorAction SilentlyContinue
if ($vmmSetup -and $vmmSetup.ProductVersion) { $found['vmm_server'] = [string]$vmmSetup.ProductVersion }
foreach ($entry in @(Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*' -ErrorAction SilentlyContinue)) {
    $n = [string]$entry.DisplayName
    $name = $null
    if ($n -like 'Windows Azure Pack - *') { $name = 'wap_' + ($n.Substring(21) -replace '[^A-Za-z0-9]+', '_').Trim('_').ToLower() }
    elseif ($n -like '*Virtual Machine Manager Agent*') { $name = 'vmm_agent' }
    elseif ($n -like '*Service Provider Foundation*') { $name = 'spf_server' }
    if ($name -and $entry.DisplayVersion -and -not $found.Contains($name)) { $found[$name] = [string]$entry.DisplayVersion }
}
$products = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Installer\UserData\S-1-5-18\Products'
foreach ($product in @(Get-ChildItem -LiteralPath $products -ErrorAction SilentlyContinue)) {
    $install = Get-ItemProperty -LiteralPath (Join-Path -Path $product.PSPath -ChildPath 'InstallProperties') -ErrorAction SilentlyContinue
    if (-not $install -or [string]$install.DisplayName -notlike '*Service Provider Foundation*') { continue }
    $rollup = $null
    foreach ($patch in @(Get-ChildItem -LiteralPath (Join-Path -Path $product.PSPath -ChildPath 'Patches') -ErrorAction SilentlyContinue)) {
        $p = Get-ItemProperty -LiteralPath $patch.PSPath -ErrorAction SilentlyContinue
        if ($p -and [string]$p.DisplayName -match 'Update Rollup (\d+(\.\d+)?)') {
            if ($null -eq $rollup -or [double]$Matches[1] -gt [double]$rollup) { $rollup = $Matches[1] }
        }
    }
    # an SPF server without rollup patches is at RTM: '0', so that drift against patched ones shows
    if ($rollup) { $found['spf_update_rollup'] = [string]$rollup } else { $found['spf_update_rollup'] = '0' }
}
@($found.GetEnumerator() | ForEach-Object { [pscustomobject]@{ Name = $_.Key; Version = $_.Value } }) | ConvertTo-Json -Depth 4
"#;

/// The plans of the WAP Service Management admin API, with a Windows token for the account the
/// collector runs as (`Get-MgmtSvcToken` without `-User`), flattened to plain values.
pub const WAP_PLANS: &str = r#"
Import-Module -Name MgmtSvcAdmin
$tokenArgs = @{ Type = 'Windows'; AuthenticationSite = $WapAuthSite; ClientRealm = 'http://azureservices/AdminSite' }
$planArgs = @{ AdminUri = $WapAdminUri }
if ($WapSkipCertificateCheck) { $tokenArgs['DisableCertificateValidation'] = $true; $planArgs['DisableCertificateValidation'] = $true }
$planArgs['Token'] = Get-MgmtSvcToken @tokenArgs
@(Get-MgmtSvcPlan @planArgs) | ForEach-Object {
    [pscustomobject]@{
        Id = $_.Id; DisplayName = $_.DisplayName; State = [string]$_.State; SubscriptionCount = $_.SubscriptionCount
        ServiceQuotas = @(@($_.ServiceQuotas) | ForEach-Object {
            [pscustomobject]@{
                ServiceName = $_.ServiceName; ServiceInstanceId = $_.ServiceInstanceId
                Settings = @(@($_.Settings) | ForEach-Object { [pscustomobject]@{ Key = $_.Key; Value = [string]$_.Value } })
            }
        })
    }
} | ConvertTo-Json -Depth 6
"#;

/// Whether this host has Hyper-V's Remote Console settings at all (asked on hosts that do not
/// claim `hyperv_host`): `absent` makes the part cleared, anything else leaves it alone.
pub const PROBE_HYPERV: &str = r#"
Get-StampbookCimPresence -Namespace root\virtualization\v2 -ClassName Msvm_TerminalServiceSettingData
"#;

/// Whether this host is an RD Gateway at all (the class comes with the role).
pub const PROBE_RDGW: &str = r#"
Get-StampbookCimPresence -Namespace root\CIMV2\TerminalServices -ClassName Win32_TSGatewayServerSettings
"#;

/// Whether this host is a VMM server at all (its Setup key comes with the installation).
pub const PROBE_VMM: &str = r#"
if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Microsoft System Center Virtual Machine Manager Server\Setup') { 'present' } else { 'absent' }
"#;

/// Every snippet with the capture file it fills, for the script-consistency test.
pub const ALL: [(&str, &str); 18] = [
    ("(helpers)", HELPERS),
    ("host.json", HOST),
    ("netroute.json", NETROUTE),
    ("netipconfiguration.json", NETIPCONFIG),
    ("cert-my.json", CERT_MY),
    ("(registry helper)", REGISTRY_HELPER),
    ("cert-root.json", CERT_ROOT),
    ("cert-vmm.json", CERT_VMM),
    ("services.json", SERVICES),
    ("msvm-tssettings.json", MSVM_TSSETTINGS),
    ("fedauth.json", FEDAUTH),
    ("tsgateway.json", TSGATEWAY),
    ("vmm.json", VMM),
    ("components.json", COMPONENTS),
    ("wap-plans.json", WAP_PLANS),
    ("(probe hyperv)", PROBE_HYPERV),
    ("(probe rdgw)", PROBE_RDGW),
    ("(probe vmm)", PROBE_VMM),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::hostinfo::{ROLE_ALIASES, parse_role};

    const SCRIPT: &str = include_str!("../../capture.ps1");

    fn squash(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn capture_script_runs_the_same_powershell_as_the_windows_source() {
        let script = squash(SCRIPT);
        for (file, snippet) in ALL {
            assert!(
                script.contains(&squash(snippet)),
                "capture.ps1 lacks the snippet for {file}"
            );
            if file.ends_with(".json") {
                assert!(
                    script.contains(&format!("Save-Section '{file}'")),
                    "capture.ps1 never writes {file}"
                );
            }
        }
        for file in ["route-print.txt", "capture.json", "errors.json"] {
            assert!(script.contains(file), "capture.ps1 never writes {file}");
        }
    }

    #[test]
    fn snippets_stay_windows_powershell_4_compatible_and_console_free() {
        for (name, text) in ALL
            .iter()
            .map(|(f, s)| (*f, *s))
            .chain([("capture.ps1", SCRIPT)])
        {
            for (bad, why) in [
                ("??", "null-coalescing is PowerShell 7 only"),
                ("-Parallel", "-Parallel is PowerShell 7 only"),
                (
                    "[Console]",
                    "there is no console under WinRM or a scheduled task",
                ),
                ("-AsArray", "ConvertTo-Json -AsArray is PowerShell 6+"),
                (
                    "ConvertTo-Json\n",
                    "ConvertTo-Json needs an explicit -Depth",
                ),
            ] {
                assert!(!text.contains(bad), "{name}: {why}");
            }
            assert!(
                text.is_ascii(),
                "{name}: 5.1 reads BOM-less scripts in the ANSI code page"
            );
            for (i, _) in text.match_indices("ConvertTo-Json") {
                let rest = &text[i..text[i..].find('\n').map_or(text.len(), |n| i + n)];
                assert!(rest.contains("-Depth"), "{name}: `{rest}` lacks -Depth");
            }
        }
        assert!(
            SCRIPT.starts_with("#Requires -Version 4.0\r\n#Requires -RunAsAdministrator")
                || SCRIPT.starts_with("#Requires -Version 4.0\n#Requires -RunAsAdministrator")
        );
    }

    #[test]
    fn add_type_only_runs_in_full_language_mode() {
        for (name, text) in ALL
            .iter()
            .map(|(f, s)| (*f, *s))
            .chain([("capture.ps1", SCRIPT)])
        {
            for (i, _) in text.match_indices("Add-Type") {
                let before = &text[..i];
                let guard = before.rfind("LanguageMode -eq 'FullLanguage'");
                assert!(
                    guard.is_some(),
                    "{name}: Add-Type without a FullLanguage check"
                );
            }
        }
    }

    /// The script's `$RoleAliases` table, parsed from its `'alias' = 'wire_role'` lines.
    fn script_aliases() -> Vec<(String, String)> {
        let start = SCRIPT
            .find("$RoleAliases = @{")
            .expect("capture.ps1 has $RoleAliases");
        let end = start + SCRIPT[start..].find('}').expect("table ends");
        SCRIPT[start..end]
            .split(['\n', ';'])
            .filter_map(|l| {
                let (k, v) = l.split_once('=')?;
                let k = k.trim().trim_matches('\'');
                let v = v.trim().trim_matches('\'');
                (!k.is_empty() && !k.starts_with('$')).then(|| (k.to_owned(), v.to_owned()))
            })
            .collect()
    }

    #[test]
    fn role_spellings_are_identical_in_script_and_parser() {
        let script = script_aliases();
        let mut from_script: Vec<(String, String)> = script.clone();
        from_script.sort();
        let mut from_parser: Vec<(String, String)> = ROLE_ALIASES
            .iter()
            .map(|(a, r)| ((*a).to_owned(), r.as_str().to_owned()))
            .collect();
        from_parser.sort();
        assert_eq!(from_script, from_parser);
        for (alias, role) in &script {
            assert_eq!(parse_role(alias).expect("parses").as_str(), role);
        }
    }
}
