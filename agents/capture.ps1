<#
.SYNOPSIS
    Captures this host's stampbook facts into a folder, for hosts that cannot reach the
    stampbook server (air-gapped stamps).

.DESCRIPTION
    Writes the files of the stampbook agent's capture-dir layout (SPEC section 8) into -OutDir:
    host.json, route-print.txt, netroute.json, netipconfiguration.json, cert-my.json,
    cert-root.json, cert-vmm.json, services.json, msvm-tssettings.json, fedauth.json,
    tsgateway.json, vmm.json, components.json.

    Every section runs on its own: one that fails only leaves its file out (with a warning),
    which the agent reads as "not collected". A section that runs and finds nothing writes an
    empty file, which the agent reads as "collected, none". Role-specific sections run only
    for their roles: Msvm_TerminalServiceSettingData on Hyper-V hosts, FedAuthSettings and
    Win32_TSGatewayServerSettings on RD Gateways, VMConnect settings and certificates on VMM
    servers. JSON is written by ConvertTo-Json -Depth 4 and Out-File -Encoding utf8.

    Carry the folder to a machine with the agent and run:
        stampbook-agent collect --source capture-dir <folder>

    Runs in Windows PowerShell 5.1 (Windows Server 2012 R2) and in PowerShell 7.

.PARAMETER OutDir
    Folder to write the capture into; created if missing. Existing capture files are replaced.

.PARAMETER Stamp
    The stamp (slug) this host belongs to, e.g. ams-01.

.PARAMETER ScaleUnit
    Optional scale unit of the host, e.g. compute-r1.

.PARAMETER Roles
    The host's roles: hyperv_host, nvgre_gateway, rd_gateway, vmm_server, spf_server,
    wap_server, sql_server, other (friendly forms such as HyperVHost are accepted).

.PARAMETER Fqdn
    The host's DNS name. Defaults to [System.Net.Dns]::GetHostByName($env:COMPUTERNAME).HostName.

.PARAMETER Services
    Services to report with their process start time. Defaults by role: vmms on Hyper-V
    hosts, TSGateway on RD Gateways, SCVMMService on VMM servers.

.EXAMPLE
    .\capture.ps1 -OutDir D:\capture\hv01 -Stamp ams-01 -ScaleUnit compute-r1 -Roles hyperv_host

.EXAMPLE
    .\capture.ps1 -OutDir .\vmm01 -Stamp ams-01 -Roles vmm_server,sql_server
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [string] $OutDir,
    [Parameter(Mandatory = $true)] [string] $Stamp,
    [string] $ScaleUnit,
    [string[]] $Roles = @(),
    [string] $Fqdn = [System.Net.Dns]::GetHostByName($env:COMPUTERNAME).HostName,
    [string[]] $Services
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# Roles are compared in one spelling: lower-case letters and digits only.
$roleKeys = @($Roles | ForEach-Object { $_ -split ',' } | ForEach-Object { ($_ -replace '[^A-Za-z0-9]', '').ToLower() })
function Test-Role([string[]] $Keys) {
    foreach ($k in $Keys) { if ($roleKeys -contains $k) { return $true } }
    return $false
}
$isHyperV = Test-Role @('hypervhost', 'hyperv')
$isRdGateway = Test-Role @('rdgateway', 'rdgw', 'rdg')
$isVmm = Test-Role @('vmmserver', 'vmm')

if (-not $Services) {
    $Services = @()
    if ($isHyperV) { $Services += 'vmms' }
    if ($isRdGateway) { $Services += 'TSGateway' }
    if ($isVmm) { $Services += 'SCVMMService' }
}

New-Item -ItemType Directory -Path $OutDir -Force | Out-Null
$OutDir = (Resolve-Path -LiteralPath $OutDir).Path

# Runs one section and writes its output; a failure leaves only that file missing.
function Save-Section([string] $File, [scriptblock] $Collect) {
    $path = Join-Path -Path $OutDir -ChildPath $File
    Remove-Item -LiteralPath $path -ErrorAction SilentlyContinue
    try {
        $json = & $Collect
        # An empty pipeline yields nothing: write an empty file, "collected, none".
        if ($null -eq $json) { $json = '' }
        $json | Out-File -FilePath $path -Encoding utf8
        Write-Verbose "wrote $File"
    } catch {
        Remove-Item -LiteralPath $path -ErrorAction SilentlyContinue
        Write-Warning "$File not captured: $($_.Exception.Message)"
    }
}

Save-Section 'host.json' {
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
}

# route print in the console's language; the agent reads any localisation.
Save-Section 'route-print.txt' {
    $text = & route.exe print
    if ($LASTEXITCODE -ne 0) { throw "route print exited with $LASTEXITCODE" }
    $text -join "`r`n"
}

Save-Section 'netroute.json' {
    $ifMetric = @{}
    Get-NetIPInterface | ForEach-Object { $ifMetric["$($_.InterfaceIndex)/$($_.AddressFamily)"] = $_.InterfaceMetric }
    @(Get-NetRoute -PolicyStore ActiveStore) + @(Get-NetRoute -PolicyStore PersistentStore -ErrorAction SilentlyContinue) |
        Select-Object DestinationPrefix, NextHop, RouteMetric, InterfaceAlias, InterfaceIndex,
            @{n='InterfaceMetric';e={$ifMetric["$($_.InterfaceIndex)/$($_.AddressFamily)"]}},
            @{n='Store';e={[string]$_.Store}} |
        ConvertTo-Json -Depth 4
}

Save-Section 'netipconfiguration.json' {
    Get-NetIPConfiguration | ForEach-Object {
        [pscustomobject]@{
            InterfaceAlias = $_.InterfaceAlias
            IPv4Address = @($_.IPv4Address | ForEach-Object { '{0}/{1}' -f $_.IPAddress, $_.PrefixLength })
            IPv4DefaultGateway = @($_.IPv4DefaultGateway | ForEach-Object { $_.NextHop })
        }
    } | ConvertTo-Json -Depth 4
}

Save-Section 'cert-my.json' {
    Get-ChildItem -Path Cert:\LocalMachine\My |
        Select-Object Thumbprint, Subject, NotAfter, HasPrivateKey,
            @{n='RawData';e={[Convert]::ToBase64String($_.RawData)}},
            @{n='Provider';e={ if ($_.HasPrivateKey) { try { $_.PrivateKey.CspKeyContainerInfo.ProviderName } catch { $null } } }} |
        ConvertTo-Json -Depth 4
}

Save-Section 'cert-root.json' {
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
    Get-ChildItem -Path Cert:\LocalMachine\Root |
        Select-Object Thumbprint, Subject, NotAfter, HasPrivateKey,
            @{n='RawData';e={[Convert]::ToBase64String($_.RawData)}},
            @{n='AddedAt';e={ try { [StampbookRegistry]::CertificateAddedAt('ROOT', $_.Thumbprint) } catch { $null } }} |
        ConvertTo-Json -Depth 4
}

if ($Services) {
    Save-Section 'services.json' {
        Get-Service -Name $Services -ErrorAction SilentlyContinue | ForEach-Object {
            $wmi = Get-CimInstance -ClassName Win32_Service -Filter "Name='$($_.Name)'"
            $started = $null
            if ($wmi.ProcessId) { $started = (Get-Process -Id $wmi.ProcessId -ErrorAction SilentlyContinue).StartTime }
            [pscustomobject]@{ Name = $_.Name; Status = $_.Status; StartTime = $started }
        } | ConvertTo-Json -Depth 4
    }
}

if ($isHyperV) {
    Save-Section 'msvm-tssettings.json' {
        Get-CimInstance -Namespace root\virtualization\v2 -ClassName Msvm_TerminalServiceSettingData |
            Select-Object InstanceID, ListenerPort, DisableSelfSignedCertificateGeneration,
                TrustedIssuerCertificateHashes, AllowedHashAlgorithms |
            ConvertTo-Json -Depth 4
    }
}

if ($isRdGateway) {
    Save-Section 'fedauth.json' {
        Get-CimInstance -Namespace root\TSGatewayFedAuth2 -ClassName FedAuthSettings |
            Select-Object TrustedIssuerCertificates |
            ConvertTo-Json -Depth 4
    }
    Save-Section 'tsgateway.json' {
        Get-CimInstance -Namespace root\CIMV2\TerminalServices -ClassName Win32_TSGatewayServerSettings |
            Select-Object AuthenticationPlugin, AuthorizationPlugin, CentralCAPEnabled, EnforceChannelBinding,
                @{n='SslCertificateThumbprint';e={ (@($_.SSLCertificateSHA1Hash) | ForEach-Object { '{0:X2}' -f $_ }) -join '' }} |
            ConvertTo-Json -Depth 4
    }
}

if ($isVmm) {
    Save-Section 'vmm.json' {
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
    Save-Section 'cert-vmm.json' {
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
    }
}

Save-Section 'components.json' {
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
}

Write-Host "stampbook capture written to $OutDir"
