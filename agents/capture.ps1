#Requires -Version 4.0
#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Captures this host's stampbook facts into a folder, for hosts that cannot reach the
    stampbook server (air-gapped stamps).

.DESCRIPTION
    Writes the files of the stampbook agent's capture-dir layout (SPEC section 8) into -OutDir:
    capture.json, host.json, route-print.txt, netroute.json, netipconfiguration.json,
    cert-my.json, cert-root.json, cert-vmm.json, services.json, msvm-tssettings.json,
    fedauth.json, tsgateway.json, vmm.json, components.json, wap-plans.json, errors.json.

    Every section runs on its own: one that fails leaves its file out and is listed in
    errors.json ({Section, Source, Message}), which the agent reports as a collection error.
    A section that runs and finds nothing writes an empty file ("collected, none"). Role
    sections run for the roles given; for a role not given, a settings file holding null is
    written only when the role's WMI class or registry key is certainly absent (the agent then
    clears what the server holds). Every command used is cited in docs/COLLECTION.md.

    Carry the folder to a machine with the agent and run:
        stampbook-agent collect --source capture-dir <folder>

    Runs in Windows PowerShell 4.0 (Windows Server 2012 R2), 5.1 and PowerShell 7, from a
    console, a scheduled task or WinRM, and in Constrained Language Mode (where root
    certificates are captured without their registry time).

.PARAMETER OutDir
    Folder to write the capture into; created if missing. Existing capture files are replaced.

.PARAMETER Stamp
    The stamp (slug) this host belongs to, e.g. ams-01.

.PARAMETER ScaleUnit
    Optional scale unit of the host, e.g. compute-r1.

.PARAMETER Roles
    The host's roles: hyperv_host, nvgre_gateway, rd_gateway, vmm_server, spf_server,
    wap_server, sql_server, other (the short forms of $RoleAliases, such as hyperv or rdgw,
    and friendly forms such as HyperVHost are accepted).

.PARAMETER Fqdn
    The host's DNS name. Defaults to Win32_ComputerSystem's DNSHostName and Domain.

.PARAMETER Services
    Services to report with their process start time. Defaults by role: vmms on Hyper-V
    hosts, TSGateway on RD Gateways, SCVMMService on VMM servers.

.PARAMETER WapAdminUri
    The WAP admin API, on a wap_server. Default https://localhost:30004.

.PARAMETER WapAuthSite
    The WAP Windows authentication site, on a wap_server. Default https://localhost:30072.

.PARAMETER WapSkipCertificateCheck
    Accept WAP's self-signed certificates (-DisableCertificateValidation).

.EXAMPLE
    .\capture.ps1 -OutDir D:\capture\hv01 -Stamp ams-01 -ScaleUnit compute-r1 -Roles hyperv_host

.EXAMPLE
    .\capture.ps1 -OutDir .\wap01 -Stamp ams-01 -Roles wap_server -WapSkipCertificateCheck
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [string] $OutDir,
    [Parameter(Mandatory = $true)] [string] $Stamp,
    [string] $ScaleUnit,
    [string[]] $Roles = @(),
    [string] $Fqdn,
    [string[]] $Services,
    [string] $WapAdminUri = 'https://localhost:30004',
    [string] $WapAuthSite = 'https://localhost:30072',
    [switch] $WapSkipCertificateCheck
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$ScriptVersion = '2'
$CapturedAt = (Get-Date).ToUniversalTime().ToString('o')
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

# Role spellings: squashed (lower-case letters and digits) short names to wire names. The agent's
# parser holds the same table (hostinfo::ROLE_ALIASES; a test keeps them identical).
$RoleAliases = @{
    'hyperv' = 'hyperv_host'
    'nvgre' = 'nvgre_gateway'
    'nvgregw' = 'nvgre_gateway'
    'hnvgateway' = 'nvgre_gateway'
    'rdgw' = 'rd_gateway'
    'rdg' = 'rd_gateway'
    'rdsgateway' = 'rd_gateway'
    'vmm' = 'vmm_server'
    'spf' = 'spf_server'
    'wap' = 'wap_server'
    'sql' = 'sql_server'
}
$WireRoles = @('hyperv_host', 'nvgre_gateway', 'rd_gateway', 'vmm_server', 'spf_server', 'wap_server', 'sql_server', 'other')
$Roles = @(@($Roles | ForEach-Object { $_ -split '[,;]' }) | Where-Object { $_.Trim() } | ForEach-Object {
    $key = ($_ -replace '[^A-Za-z0-9]', '').ToLower()
    if ($RoleAliases.ContainsKey($key)) { $RoleAliases[$key] }
    else {
        $wire = @($WireRoles | Where-Object { ($_ -replace '_', '') -eq $key })
        if ($wire.Count -eq 1) { $wire[0] } else { throw "unknown role '$_' (one of: $($WireRoles -join ', '))" }
    }
} | Select-Object -Unique)
$isHyperV = $Roles -contains 'hyperv_host'
$isRdGateway = $Roles -contains 'rd_gateway'
$isVmm = $Roles -contains 'vmm_server'
$isWap = $Roles -contains 'wap_server'

if (-not $Services) {
    $Services = @()
    if ($isHyperV) { $Services += 'vmms' }
    if ($isRdGateway) { $Services += 'TSGateway' }
    if ($isVmm) { $Services += 'SCVMMService' }
}

New-Item -ItemType Directory -Path $OutDir -Force | Out-Null
$OutDir = (Resolve-Path -LiteralPath $OutDir).Path
$CaptureErrors = @()

# Runs one section and writes its output; a failure leaves only that file missing and is
# recorded for errors.json under the report section it would have filled.
function Save-Section([string] $File, [string] $Section, [string] $Source, [scriptblock] $Collect) {
    $path = Join-Path -Path $OutDir -ChildPath $File
    Remove-Item -LiteralPath $path -ErrorAction SilentlyContinue
    try {
        $json = & $Collect
        # An empty pipeline yields nothing: write an empty file, "collected, none".
        if ($null -eq $json) { $json = '' }
        ($json -join "`r`n") | Out-File -FilePath $path -Encoding utf8
        Write-Verbose "wrote $File"
    } catch {
        Remove-Item -LiteralPath $path -ErrorAction SilentlyContinue
        $script:CaptureErrors += [pscustomobject]@{ Section = $Section; Source = $Source; Message = $_.Exception.Message }
        Write-Warning "$File not captured: $($_.Exception.Message)"
    }
}

# For a role not given: null when the probe is certain the role is absent, else no file.
function Save-AbsentRole([string[]] $Files, [scriptblock] $Probe) {
    $presence = 'unknown'
    try { $presence = [string](& $Probe) } catch { $presence = 'unknown' }
    if ($presence.Trim() -eq 'absent') {
        foreach ($file in $Files) { 'null' | Out-File -FilePath (Join-Path -Path $OutDir -ChildPath $file) -Encoding utf8 }
    }
}

Save-Section 'host.json' 'host' 'Win32_OperatingSystem' {
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
}

# route print in the console's language; the agent reads any localisation.
Save-Section 'route-print.txt' 'routes' 'route print' {
    $text = @(& route.exe print)
    if ($LASTEXITCODE -ne 0) { throw "route print exited with $LASTEXITCODE" }
    $text -join "`r`n"
}

Save-Section 'netroute.json' 'routes' 'Get-NetRoute' {
    $ifMetric = @{}
    @(Get-NetIPInterface) | ForEach-Object { $ifMetric["$($_.InterfaceIndex)/$($_.AddressFamily)"] = $_.InterfaceMetric }
    @(@(Get-NetRoute -PolicyStore ActiveStore) + @(Get-NetRoute -PolicyStore PersistentStore -ErrorAction SilentlyContinue)) |
        Select-Object DestinationPrefix, NextHop, RouteMetric, InterfaceAlias, InterfaceIndex,
            @{n='InterfaceMetric';e={$ifMetric["$($_.InterfaceIndex)/$($_.AddressFamily)"]}},
            @{n='Store';e={[string]$_.Store}} |
        ConvertTo-Json -Depth 4
}

Save-Section 'netipconfiguration.json' 'interfaces' 'Get-NetIPConfiguration' {
    @(Get-NetIPConfiguration -All) | ForEach-Object {
        [pscustomobject]@{
            InterfaceAlias = $_.InterfaceAlias
            IPv4Address = @($_.IPv4Address | ForEach-Object { '{0}/{1}' -f $_.IPAddress, $_.PrefixLength })
            IPv4DefaultGateway = @($_.IPv4DefaultGateway | ForEach-Object { $_.NextHop })
        }
    } | ConvertTo-Json -Depth 4
}

Save-Section 'cert-my.json' 'certificates' 'Cert:\LocalMachine\My' {
    @(Get-ChildItem -Path Cert:\LocalMachine\My) |
        Select-Object Thumbprint, Subject, @{n='NotAfter';e={ConvertTo-StampbookDate $_.NotAfter}}, HasPrivateKey,
            @{n='RawData';e={[Convert]::ToBase64String($_.RawData)}},
            @{n='Provider';e={ if ($_.HasPrivateKey) { try { $_.PrivateKey.CspKeyContainerInfo.ProviderName } catch { $null } } }} |
        ConvertTo-Json -Depth 4
}

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

Save-Section 'cert-root.json' 'certificates' 'Cert:\LocalMachine\Root' {
    @(Get-ChildItem -Path Cert:\LocalMachine\Root) | ForEach-Object {
        $addedAt = $null
        if ($StampbookKeyTimes) { try { $addedAt = ConvertTo-StampbookDate ([StampbookRegistry]::CertificateAddedAt('ROOT', $_.Thumbprint)) } catch { $addedAt = $null } }
        [pscustomobject]@{
            Thumbprint = $_.Thumbprint; Subject = $_.Subject; NotAfter = ConvertTo-StampbookDate $_.NotAfter
            HasPrivateKey = $_.HasPrivateKey; RawData = [Convert]::ToBase64String($_.RawData)
            AddedAt = $addedAt; AddedAtSource = $(if ($addedAt) { 'RegistryKeyLastWrite' } else { $null })
        }
    } | ConvertTo-Json -Depth 4
}

if ($Services) {
    Save-Section 'services.json' 'services' 'Get-Service' {
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
    }
}

if ($isHyperV) {
    Save-Section 'msvm-tssettings.json' 'settings.hyperv_terminal_service' 'Msvm_TerminalServiceSettingData' {
        @(Get-CimInstance -Namespace root\virtualization\v2 -ClassName Msvm_TerminalServiceSettingData) |
            Select-Object InstanceID, ListenerPort, DisableSelfSignedCertificateGeneration,
                @{n='TrustedIssuerCertificateHashes';e={@($_.TrustedIssuerCertificateHashes)}},
                @{n='AllowedHashAlgorithms';e={@($_.AllowedHashAlgorithms)}} |
            ConvertTo-Json -Depth 4
    }
} else {
    Save-AbsentRole @('msvm-tssettings.json') {
        Get-StampbookCimPresence -Namespace root\virtualization\v2 -ClassName Msvm_TerminalServiceSettingData
    }
}

if ($isRdGateway) {
    Save-Section 'fedauth.json' 'settings.rd_gateway' 'FedAuthSettings' {
        @(Get-CimInstance -Namespace root\TSGatewayFedAuth2 -ClassName FedAuthSettings) |
            Select-Object TrustedIssuerCertificates |
            ConvertTo-Json -Depth 4
    }
    Save-Section 'tsgateway.json' 'settings.rd_gateway' 'Win32_TSGatewayServerSettings' {
        @(Get-CimInstance -Namespace root\CIMV2\TerminalServices -ClassName Win32_TSGatewayServerSettings) |
            Select-Object AuthenticationPluginName, AuthorizationPluginName, CentralCAPEnabled, EnforceChannelBinding,
                @{n='CertHash';e={ (@($_.CertHash) | ForEach-Object { '{0:X2}' -f $_ }) -join '' }} |
            ConvertTo-Json -Depth 4
    }
} else {
    Save-AbsentRole @('fedauth.json', 'tsgateway.json') {
        Get-StampbookCimPresence -Namespace root\CIMV2\TerminalServices -ClassName Win32_TSGatewayServerSettings
    }
}

if ($isVmm) {
    Save-Section 'vmm.json' 'settings.vmm' 'Get-SCVMMServer' {
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
    }
    Save-Section 'cert-vmm.json' 'certificates' 'Get-SCVMMServer' {
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
    }
} else {
    Save-AbsentRole @('vmm.json') {
        if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Microsoft System Center Virtual Machine Manager Server\Setup') { 'present' } else { 'absent' }
    }
}

Save-Section 'components.json' 'settings.components' 'registry (VMM Setup, Uninstall, Windows Installer patches)' {
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
}

if ($isWap) {
    Save-Section 'wap-plans.json' 'wap' 'Get-MgmtSvcPlan' {
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
    }
}

# What the capture is: when (the report's collected_at), by which script and shell.
[pscustomobject]@{
    CapturedAt = $CapturedAt; ScriptVersion = $ScriptVersion
    PSVersion = [string]$PSVersionTable.PSVersion; Elevated = (Test-StampbookElevated)
} | ConvertTo-Json -Depth 2 | Out-File -FilePath (Join-Path -Path $OutDir -ChildPath 'capture.json') -Encoding utf8
ConvertTo-Json -InputObject @($CaptureErrors) -Depth 3 | Out-File -FilePath (Join-Path -Path $OutDir -ChildPath 'errors.json') -Encoding utf8

Write-Output "stampbook capture written to $OutDir ($(@($CaptureErrors).Count) section(s) not captured)"
