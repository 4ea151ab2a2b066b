#Requires -Version 4.0
#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Removes the stampbook agent installed by install-agent.ps1.

.DESCRIPTION
    Stops a push still running, unregisters the task \stampbook\stampbook-agent (and the empty
    \stampbook\ task folder), and removes -InstallDir. The token, the spool (reports not yet
    delivered) and the CA file under %ProgramData%\stampbook are kept, so that a reinstall
    carries on where this one stopped, unless -Purge is given.

    Running it again, or on a host without the agent, changes nothing and says so.
    Windows PowerShell 4.0 (Windows Server 2012 R2), 5.1 and PowerShell 7, elevated. Every
    cmdlet and class used here is cited in agents/windows/SOURCES.md.

.PARAMETER InstallDir
    Where the agent was installed. Default: $env:ProgramFiles\stampbook. A folder that holds
    other files but no stampbook-agent.exe is refused, never deleted.

.PARAMETER Purge
    Also delete %ProgramData%\stampbook: the token, the spool with any undelivered reports, and
    the CA file.

.EXAMPLE
    .\uninstall-agent.ps1

.EXAMPLE
    & "$env:ProgramFiles\stampbook\uninstall-agent.ps1" -Purge
#>
[CmdletBinding()]
param(
    [string] $InstallDir = (Join-Path $env:ProgramFiles 'stampbook'),
    [switch] $Purge
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# Names shared with install-agent.ps1 (a test keeps them identical).
$TaskPath = '\stampbook\'
$TaskName = 'stampbook-agent'
$DataDir = Join-Path $env:ProgramData 'stampbook'

function Write-Step([string] $Message) {
    Write-Host "uninstall-agent: $Message"
}

# Runs one step; a failure becomes "could not <what>: <why>" and stops the uninstall.
function Invoke-Step([string] $What, [scriptblock] $Action) {
    Write-Step $What
    try {
        & $Action
    } catch {
        throw "could not $($What): $($_.Exception.Message)"
    }
}

try {
    $task = Get-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath -ErrorAction SilentlyContinue
    if ($task) {
        if ($task.State -eq 'Running') {
            Invoke-Step 'stop the running push' { Stop-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath }
        }
        Invoke-Step "unregister the task $TaskPath$TaskName" {
            Unregister-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath -Confirm:$false
        }
    } else {
        Write-Step "no task $TaskPath$TaskName; nothing to unregister"
    }

    # The ScheduledTasks cmdlets leave the folder behind; the Task Scheduler scripting objects
    # remove it. Only when empty: someone may have put a task of their own there.
    try {
        $service = New-Object -ComObject 'Schedule.Service'
        $service.Connect()
        $folder = $service.GetFolder($TaskPath.TrimEnd('\'))
        if ($folder.GetTasks(1).Count -eq 0 -and $folder.GetFolders(0).Count -eq 0) {
            $service.GetFolder('\').DeleteFolder($folder.Name, 0)
            Write-Step "removed the empty task folder $TaskPath"
        } else {
            Write-Step "kept the task folder $($TaskPath): it holds other tasks"
        }
    } catch {
        # No such folder (already removed), or the scripting objects unavailable: nothing to do.
        Write-Verbose "task folder $($TaskPath): $($_.Exception.Message)"
    }

    if (Test-Path -LiteralPath $InstallDir -PathType Container) {
        $agentExe = Join-Path $InstallDir 'stampbook-agent.exe'
        $entries = @(Get-ChildItem -LiteralPath $InstallDir -Force)
        if ($entries.Count -gt 0 -and -not (Test-Path -LiteralPath $agentExe -PathType Leaf)) {
            throw "$InstallDir holds files but no stampbook-agent.exe: not an agent install, not deleted"
        }
        Invoke-Step "remove $InstallDir" { Remove-Item -LiteralPath $InstallDir -Recurse -Force }
    } else {
        Write-Step "no $InstallDir; nothing to remove"
    }

    if ($Purge) {
        if (Test-Path -LiteralPath $DataDir) {
            Invoke-Step "remove $DataDir (token, spool, CA file)" { Remove-Item -LiteralPath $DataDir -Recurse -Force }
        } else {
            Write-Step "no $DataDir; nothing to purge"
        }
    } elseif (Test-Path -LiteralPath $DataDir) {
        Write-Step "kept $DataDir (token, spool, CA file); -Purge removes it"
    }
    Write-Step 'done'
    exit 0
} catch {
    Write-Error -Message "uninstall-agent: $($_.Exception.Message)" -ErrorAction Continue
    exit 1
}
