//! The PowerShell that gathers each section, shared word for word by `--source windows` and
//! `agents/capture.ps1` (a test checks the script still contains every snippet), so a live
//! collection and an air-gapped capture see the same facts. Windows PowerShell 5.1 syntax
//! only: no `??`, no ternary, no `-Parallel`.
//!
//! Snippets read the variables `$Stamp`, `$ScaleUnit`, `$Roles`, `$Fqdn` and `$Services`,
//! which the script gets as parameters and the Windows source sets in a prelude.

/// Host facts: the caller's parameters plus WMI. Cores are physical cores (`NumberOfCores`),
/// the unit of the stamp's CPU overcommit threshold.
pub const HOST: &str = r#"
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$cs = Get-CimInstance -ClassName Win32_ComputerSystem
$cores = (Get-CimInstance -ClassName Win32_Processor | Measure-Object -Property NumberOfCores -Sum).Sum
$disk = (Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType=3' | Measure-Object -Property Size -Sum).Sum
$vms = @()
if (Get-Command -Name Get-VM -ErrorAction SilentlyContinue) { $vms = @(Get-VM) }
if (-not $Fqdn) { $Fqdn = [System.Net.Dns]::GetHostByName($env:COMPUTERNAME).HostName }
[pscustomobject]@{
    Fqdn = $Fqdn; Stamp = $Stamp; ScaleUnit = $ScaleUnit; Roles = @($Roles)
    OsName = $os.Caption; OsVersion = $os.Version
    CpuCores = [int]$cores; MemoryMB = [int64][math]::Round($cs.TotalPhysicalMemory / 1MB)
    StorageGB = [int64][math]::Round($disk / 1GB); VmCount = $vms.Count
    VmVcpus = [int](($vms | Measure-Object -Property ProcessorCount -Sum).Sum)
    VmMemoryMB = [int64][math]::Round(($vms | Measure-Object -Property MemoryStartup -Sum).Sum / 1MB)
} | ConvertTo-Json -Depth 4
"#;

/// Routes with the interface metric joined in, active and persistent stores both, so the
/// parser can compute the effective metric and mark persistent routes.
pub const NETROUTE: &str = r#"
$ifMetric = @{}
Get-NetIPInterface | ForEach-Object { $ifMetric["$($_.InterfaceIndex)/$($_.AddressFamily)"] = $_.InterfaceMetric }
@(Get-NetRoute -PolicyStore ActiveStore) + @(Get-NetRoute -PolicyStore PersistentStore -ErrorAction SilentlyContinue) |
    Select-Object DestinationPrefix, NextHop, RouteMetric, InterfaceAlias, InterfaceIndex,
        @{n='InterfaceMetric';e={$ifMetric["$($_.InterfaceIndex)/$($_.AddressFamily)"]}},
        @{n='Store';e={[string]$_.Store}} |
    ConvertTo-Json -Depth 4
"#;

/// Interfaces flattened to strings: the raw CIM objects would serialise their whole graph.
pub const NETIPCONFIG: &str = r#"
Get-NetIPConfiguration | ForEach-Object {
    [pscustomobject]@{
        InterfaceAlias = $_.InterfaceAlias
        IPv4Address = @($_.IPv4Address | ForEach-Object { '{0}/{1}' -f $_.IPAddress, $_.PrefixLength })
        IPv4DefaultGateway = @($_.IPv4DefaultGateway | ForEach-Object { $_.NextHop })
    }
} | ConvertTo-Json -Depth 4
"#;

/// The personal store, with the key's provider (CNG keys throw on `PrivateKey`: no provider).
pub const CERT_MY: &str = r#"
Get-ChildItem -Path Cert:\LocalMachine\My |
    Select-Object Thumbprint, Subject, NotAfter, HasPrivateKey,
        @{n='RawData';e={[Convert]::ToBase64String($_.RawData)}},
        @{n='Provider';e={ if ($_.HasPrivateKey) { try { $_.PrivateKey.CspKeyContainerInfo.ProviderName } catch { $null } } }} |
    ConvertTo-Json -Depth 4
"#;

/// When a certificate entered a store is not kept by Windows; the last write time of its
/// registry key is the closest record (it is what `vmms` restart checks need).
pub const REGISTRY_HELPER: &str = r#"
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
"#;

/// The trusted root store, with when each root arrived (see [`REGISTRY_HELPER`]).
pub const CERT_ROOT: &str = r#"
Get-ChildItem -Path Cert:\LocalMachine\Root |
    Select-Object Thumbprint, Subject, NotAfter, HasPrivateKey,
        @{n='RawData';e={[Convert]::ToBase64String($_.RawData)}},
        @{n='AddedAt';e={ try { [StampbookRegistry]::CertificateAddedAt('ROOT', $_.Thumbprint) } catch { $null } }} |
    ConvertTo-Json -Depth 4
"#;

/// The VMConnect certificates VMM signs Remote Console tokens with. VMM keeps them in its
/// database; the server object exposes them (or at least their thumbprints, in which case
/// the copy in the VMM server's personal store is exported).
pub const CERT_VMM: &str = r#"
Import-Module -Name virtualmachinemanager -DisableNameChecking
$vmm = Get-SCVMMServer -ComputerName localhost
$(foreach ($kind in 'Gateway', 'HyperV') {
    $cert = $vmm."VMConnect${kind}Certificate"
    if (-not ($cert -is [System.Security.Cryptography.X509Certificates.X509Certificate2])) {
        $thumb = $vmm."VMConnect${kind}CertificateThumbprint"
        $cert = $null
        if ($thumb) { $cert = Get-Item -Path "Cert:\LocalMachine\My\$thumb" -ErrorAction SilentlyContinue }
    }
    if ($cert) {
        [pscustomobject]@{
            Thumbprint = $cert.Thumbprint; Subject = $cert.Subject; NotAfter = $cert.NotAfter
            HasPrivateKey = $cert.HasPrivateKey; RawData = [Convert]::ToBase64String($cert.RawData)
            Provider = $(try { $cert.PrivateKey.CspKeyContainerInfo.ProviderName } catch { $null })
        }
    }
}) | Sort-Object -Property Thumbprint -Unique | ConvertTo-Json -Depth 4
"#;

/// The named services with the start time of their process (what `vmms` restart checks need).
pub const SERVICES: &str = r#"
Get-Service -Name $Services -ErrorAction SilentlyContinue | ForEach-Object {
    $wmi = Get-CimInstance -ClassName Win32_Service -Filter "Name='$($_.Name)'"
    $started = $null
    if ($wmi.ProcessId) { $started = (Get-Process -Id $wmi.ProcessId -ErrorAction SilentlyContinue).StartTime }
    [pscustomobject]@{ Name = $_.Name; Status = $_.Status; StartTime = $started }
} | ConvertTo-Json -Depth 4
"#;

/// Hyper-V's trust for Remote Console tokens.
pub const MSVM_TSSETTINGS: &str = r#"
Get-CimInstance -Namespace root\virtualization\v2 -ClassName Msvm_TerminalServiceSettingData |
    Select-Object InstanceID, ListenerPort, DisableSelfSignedCertificateGeneration,
        TrustedIssuerCertificateHashes, AllowedHashAlgorithms |
    ConvertTo-Json -Depth 4
"#;

/// The RD Gateway's trust for VMM's token-signing certificate.
pub const FEDAUTH: &str = r#"
Get-CimInstance -Namespace root\TSGatewayFedAuth2 -ClassName FedAuthSettings |
    Select-Object TrustedIssuerCertificates |
    ConvertTo-Json -Depth 4
"#;

/// The RD Gateway's plugins and SSL certificate (the SHA-1 hash is a byte array in WMI).
pub const TSGATEWAY: &str = r#"
Get-CimInstance -Namespace root\CIMV2\TerminalServices -ClassName Win32_TSGatewayServerSettings |
    Select-Object AuthenticationPlugin, AuthorizationPlugin, CentralCAPEnabled, EnforceChannelBinding,
        @{n='SslCertificateThumbprint';e={ (@($_.SSLCertificateSHA1Hash) | ForEach-Object { '{0:X2}' -f $_ }) -join '' }} |
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

/// Installed versions of the stamp's software: VMM from the server object, WAP from its
/// registry hive, agents and the rest from the uninstall entries.
pub const COMPONENTS: &str = r#"
$found = [ordered]@{}
if (Get-Module -ListAvailable -Name virtualmachinemanager) {
    try {
        Import-Module -Name virtualmachinemanager -DisableNameChecking
        $v = (Get-SCVMMServer -ComputerName localhost).ProductVersion
        if ($v) { $found['vmm_server'] = [string]$v }
    } catch { }
}
Get-ChildItem -Path HKLM:\SOFTWARE\Microsoft\MgmtSvc -ErrorAction SilentlyContinue | ForEach-Object {
    $v = (Get-ItemProperty -Path $_.PSPath -ErrorAction SilentlyContinue).Version
    if ($v) { $found['wap_' + ($_.PSChildName -replace '[^A-Za-z0-9]+', '_').ToLower()] = [string]$v }
}
$uninstall = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*'
Get-ItemProperty -Path $uninstall -ErrorAction SilentlyContinue | ForEach-Object {
    $n = [string]$_.DisplayName
    $name = $null
    if ($n -like 'Windows Azure Pack - *') { $name = 'wap_' + ($n.Substring(21) -replace '[^A-Za-z0-9]+', '_').Trim('_').ToLower() }
    elseif ($n -like '*Virtual Machine Manager Agent*') { $name = 'vmm_agent' }
    elseif ($n -like '*Service Provider Foundation*') { $name = 'spf_server' }
    if ($name -and $_.DisplayVersion -and -not $found.Contains($name)) { $found[$name] = [string]$_.DisplayVersion }
}
$found.GetEnumerator() | ForEach-Object { [pscustomobject]@{ Name = $_.Key; Version = $_.Value } } | ConvertTo-Json -Depth 4
"#;

/// Every snippet with the capture file it fills, for the script-consistency test.
pub const ALL: [(&str, &str); 13] = [
    ("host.json", HOST),
    ("netroute.json", NETROUTE),
    ("netipconfiguration.json", NETIPCONFIG),
    ("cert-my.json", CERT_MY),
    ("(helper)", REGISTRY_HELPER),
    ("cert-root.json", CERT_ROOT),
    ("cert-vmm.json", CERT_VMM),
    ("services.json", SERVICES),
    ("msvm-tssettings.json", MSVM_TSSETTINGS),
    ("fedauth.json", FEDAUTH),
    ("tsgateway.json", TSGATEWAY),
    ("vmm.json", VMM),
    ("components.json", COMPONENTS),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn squash(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn capture_script_runs_the_same_powershell_as_the_windows_source() {
        let script = squash(include_str!("../../capture.ps1"));
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
        assert!(script.contains("Save-Section 'route-print.txt'"));
    }

    #[test]
    fn snippets_stay_windows_powershell_5_compatible() {
        let script = include_str!("../../capture.ps1");
        for (name, text) in ALL
            .iter()
            .map(|(f, s)| (*f, *s))
            .chain([("capture.ps1", script)])
        {
            assert!(
                !text.contains("??"),
                "{name}: null-coalescing is PowerShell 7 only"
            );
            assert!(
                !text.contains("-Parallel"),
                "{name}: -Parallel is PowerShell 7 only"
            );
            assert!(
                text.is_ascii(),
                "{name}: 5.1 reads BOM-less scripts in the ANSI code page"
            );
        }
        assert!(script.starts_with("<#") && script.contains(".PARAMETER OutDir"));
    }
}
