#Requires -Version 4.0
#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Installs the stampbook agent on this Windows host: a scheduled task that runs
    "stampbook-agent.exe push --source windows" as SYSTEM every 5 minutes.

.DESCRIPTION
    What it does, in order (each step says what failed if it fails):
      1. creates %ProgramData%\stampbook (SYSTEM and Administrators only, nothing inherited),
         writes the token to %ProgramData%\stampbook\token with the same protection, and creates
         the spool %ProgramData%\stampbook\spool;
      2. copies stampbook-agent.exe, capture.ps1 and uninstall-agent.ps1 from this script's
         folder to -InstallDir (waiting for, then stopping, a push still running);
      3. registers the task \stampbook\stampbook-agent: SYSTEM, highest privileges, every -Every,
         no overlapping runs, an execution time limit, restarted when it cannot start;
      4. runs the task once and shows its result (the agent's exit status).

    Running it again updates everything in place. The command line describes the whole
    configuration, with one exception: without -Token or -TokenFile the token already installed
    is kept, so that an update never needs the secret again. Without -CaFile a CA file from an
    earlier install is removed.

    Windows PowerShell 4.0 (Windows Server 2012 R2), 5.1 and PowerShell 7, elevated. Every
    cmdlet, class and well-known SID used here is cited in agents/windows/SOURCES.md.

.PARAMETER Server
    The stampbook server's base URL, e.g. https://stampbook.example.net.

.PARAMETER Token
    The collector token. Prefer -TokenFile: a token on the command line can end up in the
    PowerShell history or a transcript.

.PARAMETER TokenFile
    A file holding the collector token (one line; UTF-8 or UTF-16 with or without BOM). Its
    content is copied to the protected token file; the original can be deleted afterwards.

.PARAMETER Stamp
    The stamp (slug) this host belongs to, e.g. ams-01.

.PARAMETER Role
    The host's roles: hyperv_host, nvgre_gateway, rd_gateway, vmm_server, spf_server,
    wap_server, sql_server, other. Several: -Role hyperv_host,rd_gateway (a single
    comma-separated string works too, as "powershell -File" passes one).

.PARAMETER ScaleUnit
    Optional scale unit of the host, e.g. compute-r1.

.PARAMETER Every
    How often the task runs: 5m (the default), 90s, 1h, 1h30m, 1d. At least one minute and at
    most 31 days (Task Scheduler's limits for a repetition interval).

.PARAMETER InstallDir
    Where the agent is installed. Default: $env:ProgramFiles\stampbook.

.PARAMETER CaFile
    A PEM file with the CA certificate(s) of the server's certificate, when it comes from a
    private CA. Copied to %ProgramData%\stampbook\ca.pem and passed as --ca-file.

.PARAMETER WapSkipCertificateCheck
    On a wap_server: accept WAP's self-signed certificates (--wap-skip-certificate-check).

.PARAMETER TimeLimit
    The task's execution time limit: a run still going after this is stopped. Default 30m.

.PARAMETER WaitSeconds
    How long to wait for the first run to finish before reporting. Default 300; 0 skips the
    first run.

.EXAMPLE
    .\install-agent.ps1 -Server https://stampbook.example.net -TokenFile C:\temp\token `
        -Stamp ams-01 -Role hyperv_host

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File .\install-agent.ps1 -Server https://sb.corp.local `
        -TokenFile D:\token.txt -Stamp ams-01 -Role rd_gateway,other -CaFile D:\corp-root.pem -Every 10m
#>
[CmdletBinding(DefaultParameterSetName = 'TokenFile')]
param(
    [Parameter(Mandatory = $true)] [string] $Server,
    [Parameter(Mandatory = $true, ParameterSetName = 'Token')] [string] $Token,
    [Parameter(ParameterSetName = 'TokenFile')] [string] $TokenFile,
    [Parameter(Mandatory = $true)] [string] $Stamp,
    [string[]] $Role = @(),
    [string] $ScaleUnit,
    [string] $Every = '5m',
    [string] $InstallDir = (Join-Path $env:ProgramFiles 'stampbook'),
    [string] $CaFile,
    [switch] $WapSkipCertificateCheck,
    [string] $TimeLimit = '30m',
    [ValidateRange(0, 3600)] [int] $WaitSeconds = 300
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# Names shared with uninstall-agent.ps1 (a test keeps them identical).
$TaskPath = '\stampbook\'
$TaskName = 'stampbook-agent'
$DataDir = Join-Path $env:ProgramData 'stampbook'
$TokenPath = Join-Path $DataDir 'token'
$SpoolDir = Join-Path $DataDir 'spool'
$CaPath = Join-Path $DataDir 'ca.pem'
# Well-known SIDs, never the account names: those are localised ("NT-AUTORITAET\SYSTEM").
$SystemSid = 'S-1-5-18'
$AdministratorsSid = 'S-1-5-32-544'
# The agent's --role values (stampbook_wire::Role::ALL; a test runs each through the agent).
$WireRoles = @('hyperv_host', 'nvgre_gateway', 'rd_gateway', 'vmm_server', 'spf_server', 'wap_server', 'sql_server', 'other')
# Task Scheduler's LastTaskResult while the task runs, and before it ever ran.
$SchedTaskRunning = 0x41301
$SchedTaskHasNotRun = 0x41303

function Write-Step([string] $Message) {
    Write-Host "install-agent: $Message"
}

# Runs one step; a failure becomes "could not <what>: <why>" and stops the install.
function Invoke-Step([string] $What, [scriptblock] $Action) {
    Write-Step $What
    try {
        & $Action
    } catch {
        throw "could not $($What): $($_.Exception.Message)"
    }
}

# "30s", "5m", "1h30m", "2d" (the agent's --every syntax) to a TimeSpan. A bare number is
# refused: "5" would be ambiguous, and [TimeSpan]'5' means five days.
function ConvertTo-StampbookTimeSpan([string] $Name, [string] $Text) {
    $m = [regex]::Match($Text.Trim(), '^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$')
    if (-not $m.Success -or $Text.Trim() -eq '') {
        throw "-$Name '$Text' is not a duration: write e.g. 30s, 5m, 1h or 1h30m"
    }
    $parts = @(1..4 | ForEach-Object { if ($m.Groups[$_].Success) { [int]$m.Groups[$_].Value } else { 0 } })
    New-TimeSpan -Days $parts[0] -Hours $parts[1] -Minutes $parts[2] -Seconds $parts[3]
}

# Quotes one argument for the Microsoft C runtime's command-line parser, which the agent's
# (Rust std's) parser follows: backslashes are literal unless they precede a double quote.
function ConvertTo-CommandLineArgument([string] $Value) {
    if ($Value -ne '' -and $Value -notmatch '[\s"]') { return $Value }
    $escaped = $Value -replace '(\\*)"', '$1$1\"'
    $escaped = $escaped -replace '(\\+)$', '$1$1'
    '"' + $escaped + '"'
}

# A security descriptor that grants SYSTEM and Administrators full control and nothing to anyone
# else, owned by Administrators, with inheritance from the parent removed (%ProgramData% lets
# Users read and create).
function New-StampbookAcl([bool] $Directory) {
    if ($Directory) {
        $acl = New-Object System.Security.AccessControl.DirectorySecurity
        $inheritance = [System.Security.AccessControl.InheritanceFlags]'ContainerInherit, ObjectInherit'
    } else {
        $acl = New-Object System.Security.AccessControl.FileSecurity
        $inheritance = [System.Security.AccessControl.InheritanceFlags]::None
    }
    $acl.SetAccessRuleProtection($true, $false)
    $acl.SetOwner((New-Object System.Security.Principal.SecurityIdentifier($AdministratorsSid)))
    foreach ($sid in @($SystemSid, $AdministratorsSid)) {
        $identity = New-Object System.Security.Principal.SecurityIdentifier($sid)
        $rule = New-Object System.Security.AccessControl.FileSystemAccessRule($identity,
            [System.Security.AccessControl.FileSystemRights]::FullControl, $inheritance,
            [System.Security.AccessControl.PropagationFlags]::None,
            [System.Security.AccessControl.AccessControlType]::Allow)
        $acl.AddAccessRule($rule)
    }
    $acl
}

function Protect-StampbookPath([string] $Path, [bool] $Directory) {
    Set-Acl -LiteralPath $Path -AclObject (New-StampbookAcl $Directory)
}

function Read-StampbookToken([string] $Text, [string] $From) {
    $value = ([string]$Text).Trim()
    if ($value -eq '') { throw "the token from $From is empty" }
    if ($value -match '\s') { throw "the token from $From holds more than one line or a space" }
    $value
}

function Get-StampbookTask {
    Get-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath -ErrorAction SilentlyContinue
}

# The trigger: once, now + the interval, then repeated for ever. Windows Server 2016 and later
# repeat for ever when -RepetitionDuration is left out, and refuse [TimeSpan]::MaxValue (its XML
# form P99999999DT23H59M59S is out of range); Windows Server 2012 R2 (PowerShell 4.0) refuses
# -RepetitionInterval without -RepetitionDuration ("must be specified together") and takes
# MaxValue as "indefinitely". So: the modern form first, the 2012 R2 form when it is refused.
function New-StampbookTrigger([TimeSpan] $Interval) {
    $at = (Get-Date).Add($Interval)
    try {
        New-ScheduledTaskTrigger -Once -At $at -RepetitionInterval $Interval -ErrorAction Stop
    } catch {
        $modern = $_.Exception.Message
        try {
            New-ScheduledTaskTrigger -Once -At $at -RepetitionInterval $Interval `
                -RepetitionDuration ([TimeSpan]::MaxValue) -ErrorAction Stop
        } catch {
            throw "both trigger forms were refused: '$modern', then '$($_.Exception.Message)'"
        }
    }
}

function Wait-StampbookTaskIdle([int] $Seconds) {
    $waited = 0
    $task = Get-StampbookTask
    while ($task -and $task.State -eq 'Running' -and $waited -lt $Seconds) {
        Start-Sleep -Seconds 5
        $waited += 5
        $task = Get-StampbookTask
    }
    $task
}

try {
    # --- what was asked ------------------------------------------------------------------------
    if ($Server -notmatch '^https?://[^\s/]+') {
        throw "-Server '$Server' must be an http:// or https:// URL"
    }
    if ($Stamp.Trim() -eq '') { throw '-Stamp must not be empty' }
    $roles = @(@($Role | ForEach-Object { $_ -split '[,;]' }) | ForEach-Object { $_.Trim().ToLowerInvariant() } |
        Where-Object { $_ -ne '' } | Select-Object -Unique)
    foreach ($r in $roles) {
        if ($WireRoles -notcontains $r) { throw "unknown role '$r' (one of: $($WireRoles -join ', '))" }
    }
    $interval = ConvertTo-StampbookTimeSpan 'Every' $Every
    if ($interval -lt (New-TimeSpan -Minutes 1) -or $interval -gt (New-TimeSpan -Days 31)) {
        throw "-Every $Every is outside Task Scheduler's range for a repetition interval (1 minute to 31 days)"
    }
    $limit = ConvertTo-StampbookTimeSpan 'TimeLimit' $TimeLimit
    if ($limit -lt (New-TimeSpan -Minutes 1)) { throw "-TimeLimit $TimeLimit is shorter than a minute" }
    if ($CaFile -and -not (Test-Path -LiteralPath $CaFile -PathType Leaf)) {
        throw "-CaFile '$CaFile' is not a file"
    }
    if ($TokenFile -and -not (Test-Path -LiteralPath $TokenFile -PathType Leaf)) {
        throw "-TokenFile '$TokenFile' is not a file"
    }
    $sourceDir = $PSScriptRoot
    $sourceExe = Join-Path $sourceDir 'stampbook-agent.exe'
    if (-not (Test-Path -LiteralPath $sourceExe -PathType Leaf)) {
        throw "stampbook-agent.exe is not beside this script (in $sourceDir); unpack the whole release zip"
    }
    if (-not (Get-Command Register-ScheduledTask -ErrorAction SilentlyContinue)) {
        throw 'the ScheduledTasks module (Windows Server 2012 or later) is not available'
    }

    # --- token, spool and CA under %ProgramData%\stampbook -------------------------------------
    Invoke-Step "protect $DataDir (SYSTEM and Administrators only)" {
        New-Item -ItemType Directory -Path $DataDir -Force | Out-Null
        Protect-StampbookPath $DataDir $true
    }
    if ($PSCmdlet.ParameterSetName -eq 'Token') {
        $tokenValue = Read-StampbookToken $Token '-Token'
    } elseif ($TokenFile) {
        $tokenValue = Read-StampbookToken (Get-Content -LiteralPath $TokenFile -Raw) $TokenFile
    } elseif (Test-Path -LiteralPath $TokenPath -PathType Leaf) {
        $tokenValue = $null
        Write-Step "keeping the token already in $TokenPath"
    } else {
        throw "no token: give -TokenFile (or -Token); none is installed yet in $TokenPath"
    }
    Invoke-Step "write the token to $TokenPath" {
        if ($null -ne $tokenValue) {
            # UTF-8 without a byte order mark: the agent would take a BOM for part of the token.
            [System.IO.File]::WriteAllText($TokenPath, $tokenValue + "`n", (New-Object System.Text.UTF8Encoding($false)))
        }
        Protect-StampbookPath $TokenPath $false
    }
    Invoke-Step "create the spool $SpoolDir" {
        New-Item -ItemType Directory -Path $SpoolDir -Force | Out-Null
    }
    if ($CaFile) {
        Invoke-Step "copy the CA file to $CaPath" {
            Copy-Item -LiteralPath $CaFile -Destination $CaPath -Force
            Protect-StampbookPath $CaPath $false
        }
    } elseif (Test-Path -LiteralPath $CaPath) {
        Invoke-Step "remove the CA file of an earlier install ($CaPath), as -CaFile is not given" {
            Remove-Item -LiteralPath $CaPath -Force
        }
    }

    # --- the program ---------------------------------------------------------------------------
    $task = Get-StampbookTask
    if ($task -and $task.State -eq 'Running') {
        Write-Step 'a push is running; waiting up to 120 s for it to finish before replacing the program'
        $task = Wait-StampbookTaskIdle 120
        if ($task -and $task.State -eq 'Running') {
            Invoke-Step 'stop the running push' { Stop-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath }
        }
    }
    Invoke-Step "copy the agent to $InstallDir" {
        New-Item -ItemType Directory -Path $InstallDir -Force | Out-Null
        $target = (Resolve-Path -LiteralPath $InstallDir).Path
        if ($target.TrimEnd('\') -ne (Resolve-Path -LiteralPath $sourceDir).Path.TrimEnd('\')) {
            foreach ($file in @('stampbook-agent.exe', 'capture.ps1', 'uninstall-agent.ps1')) {
                $source = Join-Path $sourceDir $file
                if (Test-Path -LiteralPath $source -PathType Leaf) {
                    Copy-Item -LiteralPath $source -Destination (Join-Path $target $file) -Force
                } else {
                    Write-Warning "$file is not beside this script; not installed"
                }
            }
        }
        # Files out of a downloaded zip carry the internet zone mark; capture.ps1 would be refused
        # under the RemoteSigned policy.
        Get-ChildItem -LiteralPath $target -File | Unblock-File
    }
    # The task needs an absolute path; -InstallDir may have been given relative.
    $InstallDir = (Resolve-Path -LiteralPath $InstallDir).Path
    $exePath = Join-Path $InstallDir 'stampbook-agent.exe'

    # --- the task ------------------------------------------------------------------------------
    $agentArgs = @('push', '--source', 'windows', '--server', $Server, '--token-file', $TokenPath,
        '--stamp', $Stamp.Trim(), '--spool-dir', $SpoolDir)
    if ($ScaleUnit) { $agentArgs += @('--scale-unit', $ScaleUnit.Trim()) }
    foreach ($r in $roles) { $agentArgs += @('--role', $r) }
    if ($CaFile) { $agentArgs += @('--ca-file', $CaPath) }
    if ($WapSkipCertificateCheck) { $agentArgs += '--wap-skip-certificate-check' }
    $argumentLine = (@($agentArgs | ForEach-Object { ConvertTo-CommandLineArgument $_ }) -join ' ')

    Invoke-Step "register the task $TaskPath$TaskName (SYSTEM, every $interval)" {
        # The program path is quoted (it holds a space under Program Files); the working
        # directory must not be: Task Scheduler takes quotes there literally.
        $action = New-ScheduledTaskAction -Execute ('"' + $exePath + '"') -Argument $argumentLine -WorkingDirectory $InstallDir
        $trigger = New-StampbookTrigger $interval
        $principal = New-ScheduledTaskPrincipal -UserId $SystemSid -LogonType ServiceAccount -RunLevel Highest
        # IgnoreNew: a push still running (a slow server, a long spool replay) skips the next
        # start instead of racing it for the spool. RestartCount/RestartInterval cover a start
        # that fails; a push that fails is retried by the next run, its report kept in the spool.
        $settings = New-ScheduledTaskSettingsSet -MultipleInstances IgnoreNew -ExecutionTimeLimit $limit `
            -RestartCount 3 -RestartInterval (New-TimeSpan -Minutes 1)
        Register-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath -Action $action -Trigger $trigger `
            -Principal $principal -Settings $settings -Force `
            -Description "stampbook agent: pushes this host's facts to $Server (installed by install-agent.ps1)" | Out-Null
    }
    $registered = Get-StampbookTask
    $repetition = $registered.Triggers[0].Repetition
    Write-Step "registered: runs `"$exePath`" $argumentLine"
    Write-Step "repetition: every $($repetition.Interval), for $(if ($repetition.Duration) { $repetition.Duration } else { 'ever' })"

    # --- the first run -------------------------------------------------------------------------
    if ($WaitSeconds -eq 0) {
        Write-Step "installed; the first run is due in $interval"
        exit 0
    }
    $before = (Get-ScheduledTaskInfo -TaskName $TaskName -TaskPath $TaskPath).LastRunTime
    Invoke-Step 'run the task once' { Start-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath }
    $waited = 0
    do {
        Start-Sleep -Seconds 2
        $waited += 2
        $info = Get-ScheduledTaskInfo -TaskName $TaskName -TaskPath $TaskPath
        $state = (Get-StampbookTask).State
    } while ($waited -lt $WaitSeconds -and ($state -eq 'Running' -or $info.LastRunTime -eq $before))
    $result = [int64]$info.LastTaskResult
    switch ($result) {
        0 { Write-Step "first run done: exit 0, the report was delivered"; exit 0 }
        1 {
            Write-Warning ("install-agent: installed, but the first run failed (exit 1: collection or delivery). " +
                "Run it by hand to see why: & `"$exePath`" $argumentLine")
            exit 1
        }
        2 {
            Write-Warning "install-agent: installed, but the agent refused its options (exit 2). Run by hand: & `"$exePath`" $argumentLine"
            exit 1
        }
        default {
            if ($state -eq 'Running' -or $result -eq $SchedTaskRunning) {
                Write-Step "installed; the first run is still going after $WaitSeconds s (Get-ScheduledTaskInfo -TaskPath '$TaskPath' -TaskName '$TaskName' shows its result later)"
                exit 0
            }
            if ($result -eq $SchedTaskHasNotRun) {
                Write-Warning "install-agent: installed, but the task has not run yet (0x41303)"
                exit 1
            }
            Write-Warning ("install-agent: installed, but the first run ended with 0x{0:X8} (a Task Scheduler or Windows error code)" -f $result)
            exit 1
        }
    }
} catch {
    Write-Error -Message "install-agent: $($_.Exception.Message)" -ErrorAction Continue
    exit 1
}
