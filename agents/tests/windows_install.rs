//! The Windows installer (`agents/windows/*.ps1`) and its release zip (`deploy/package-windows`),
//! checked without Windows: what the scripts ask of Task Scheduler and the file system, that the
//! task's command line uses only real `stampbook-agent push` flags and roles (asked of the built
//! agent), and the zip the packaging script really makes.
#![expect(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn script(name: &str) -> String {
    std::fs::read_to_string(repo().join("agents/windows").join(name)).unwrap()
}

/// The script's code: the `<# ... #>` help block and `#` comment lines removed (the scripts
/// keep `#` out of their strings; a test below holds them to it).
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut in_help = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if in_help {
            in_help = !trimmed.starts_with("#>");
            continue;
        }
        if trimmed.starts_with("<#") {
            in_help = !trimmed.contains("#>");
            continue;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The value of a script-level `$Name = '...'` assignment.
fn assigned(code: &str, variable: &str) -> String {
    let prefix = format!("${variable} = '");
    let line = code
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}...'` in the script"));
    line[prefix.len()..].split('\'').next().unwrap().to_owned()
}

/// A parameter's value in a command: a `'literal'`, or a `$Variable` resolved through
/// [`assigned`], or a bare word.
fn argument(code: &str, call: &str, parameter: &str) -> String {
    let words: Vec<&str> = call.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case(parameter))
        .unwrap_or_else(|| panic!("no {parameter} in `{call}`"));
    let value = words[at + 1];
    if let Some(variable) = value.strip_prefix('$') {
        assigned(code, variable)
    } else {
        value.trim_matches('\'').to_owned()
    }
}

/// Every call of a cmdlet, with its backtick-continued lines joined.
fn calls(code: &str, cmdlet: &str) -> Vec<String> {
    let lines: Vec<&str> = code.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(start) = line.find(cmdlet) else {
            continue;
        };
        if line[..start].trim_end().ends_with("Get-Command") {
            continue;
        }
        let mut call = line[start..].trim_end().to_owned();
        let mut next = i + 1;
        while call.ends_with('`') {
            call.pop();
            call.push(' ');
            call.push_str(lines[next].trim());
            next += 1;
        }
        found.push(call);
    }
    found
}

/// The body of `function Name`, braces matched outside quoted strings.
fn function_body(code: &str, name: &str) -> String {
    let start = code
        .find(&format!("function {name}"))
        .unwrap_or_else(|| panic!("no function {name}"));
    let text = &code[start..];
    let open = text.find('{').unwrap();
    let (mut depth, mut quote) = (0usize, None::<char>);
    for (i, c) in text[open..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '{') => depth += 1,
            (None, '}') => {
                depth -= 1;
                if depth == 0 {
                    return text[open..=open + i].to_owned();
                }
            }
            _ => {}
        }
    }
    panic!("function {name} never closes")
}

fn agent() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stampbook-agent"));
    for (key, _) in std::env::vars() {
        if key.starts_with("STAMPBOOK_") {
            command.env_remove(key);
        }
    }
    command
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const SYSTEM: &str = "S-1-5-18";
const ADMINISTRATORS: &str = "S-1-5-32-544";

#[test]
fn both_scripts_require_powershell_4_and_an_elevated_session() {
    for name in ["install-agent.ps1", "uninstall-agent.ps1"] {
        let text = script(name);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("#Requires -Version 4.0"), "{name}");
        assert_eq!(
            lines.next(),
            Some("#Requires -RunAsAdministrator"),
            "{name}"
        );
        assert!(
            code(&text).contains("$ErrorActionPreference = 'Stop'"),
            "{name}"
        );
    }
}

#[test]
fn scripts_are_ascii_never_use_the_console_and_keep_hashes_out_of_strings() {
    for name in ["install-agent.ps1", "uninstall-agent.ps1"] {
        let text = script(name);
        // Windows PowerShell 5.1 reads a file without BOM in the ANSI code page.
        assert!(text.is_ascii(), "{name} holds non-ASCII text");
        assert!(
            !text.to_ascii_lowercase().contains("[console]"),
            "{name} uses [Console], which a scheduled task or WinRM does not have"
        );
        assert!(
            !code(&text).contains('#'),
            "{name}: a `#` left in code would fool these tests' comment stripping"
        );
    }
}

#[test]
fn the_task_runs_as_system_by_sid_with_highest_privileges() {
    let code = code(&script("install-agent.ps1"));
    let principal = calls(&code, "New-ScheduledTaskPrincipal");
    assert_eq!(principal.len(), 1, "{principal:?}");
    assert_eq!(argument(&code, &principal[0], "-UserId"), SYSTEM);
    assert_eq!(
        argument(&code, &principal[0], "-LogonType"),
        "ServiceAccount"
    );
    assert_eq!(argument(&code, &principal[0], "-RunLevel"), "Highest");
    let register = calls(&code, "Register-ScheduledTask");
    assert_eq!(register.len(), 1, "{register:?}");
    assert!(
        register[0].contains("-Principal $principal"),
        "{}",
        register[0]
    );
    assert!(
        register[0].contains("-Force"),
        "re-running must update the task in place"
    );
    assert_eq!(argument(&code, &register[0], "-TaskPath"), "\\stampbook\\");
    assert_eq!(
        argument(&code, &register[0], "-TaskName"),
        "stampbook-agent"
    );
}

#[test]
fn the_task_never_overlaps_has_a_time_limit_and_restarts_when_it_cannot_start() {
    let code = code(&script("install-agent.ps1"));
    let settings = calls(&code, "New-ScheduledTaskSettingsSet");
    assert_eq!(settings.len(), 1, "{settings:?}");
    let settings = &settings[0];
    assert!(
        settings.contains("-MultipleInstances IgnoreNew"),
        "{settings}"
    );
    assert!(
        settings.contains("-ExecutionTimeLimit $limit"),
        "{settings}"
    );
    assert!(settings.contains("-RestartCount 3"), "{settings}");
    assert!(
        settings.contains("-RestartInterval (New-TimeSpan -Minutes 1)"),
        "{settings}"
    );
    assert!(code.contains("$limit = ConvertTo-StampbookTimeSpan 'TimeLimit' $TimeLimit"));
}

#[test]
fn the_trigger_tries_the_indefinite_form_first_and_the_2012_r2_form_when_refused() {
    let code = code(&script("install-agent.ps1"));
    let body = function_body(&code, "New-StampbookTrigger");
    let triggers = calls(&body, "New-ScheduledTaskTrigger");
    assert_eq!(triggers.len(), 2, "{triggers:?}");
    // Windows Server 2016 and later: no duration means for ever (MaxValue is refused there).
    assert!(triggers[0].contains("-Once") && triggers[0].contains("-RepetitionInterval $Interval"));
    assert!(
        !triggers[0].contains("-RepetitionDuration"),
        "{}",
        triggers[0]
    );
    // Windows Server 2012 R2 demands a duration and reads MaxValue as indefinitely.
    assert!(
        triggers[1].contains("-RepetitionDuration ([TimeSpan]::MaxValue)"),
        "{}",
        triggers[1]
    );
    let fallback = body
        .find("-RepetitionDuration ([TimeSpan]::MaxValue)")
        .unwrap();
    assert!(
        body[..fallback].contains("} catch {"),
        "the 2012 R2 form runs only when the first is refused"
    );
    assert!(code.contains("$trigger = New-StampbookTrigger $interval"));
}

#[test]
fn the_token_acl_grants_only_system_and_administrators_and_removes_inheritance() {
    let code = code(&script("install-agent.ps1"));
    let acl = function_body(&code, "New-StampbookAcl");
    assert!(acl.contains("New-Object System.Security.AccessControl.FileSecurity"));
    // isProtected = true (nothing inherited from %ProgramData%), preserveInheritance = false.
    assert!(
        acl.contains("$acl.SetAccessRuleProtection($true, $false)"),
        "{acl}"
    );
    let granted: BTreeSet<String> = acl
        .lines()
        .find(|l| l.trim_start().starts_with("foreach ($sid in"))
        .unwrap()
        .split('$')
        .filter_map(|w| {
            let name: String = w
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            name.ends_with("Sid").then(|| assigned(&code, &name))
        })
        .collect();
    assert_eq!(
        granted,
        BTreeSet::from([SYSTEM.to_owned(), ADMINISTRATORS.to_owned()])
    );
    assert!(acl.contains("New-Object System.Security.Principal.SecurityIdentifier($sid)"));
    assert!(acl.contains("[System.Security.AccessControl.AccessControlType]::Allow"));
    assert!(acl.contains("$acl.SetOwner((New-Object System.Security.Principal.SecurityIdentifier($AdministratorsSid)))"));
    // One place grants access; no other SID, and no account name (localised on non-English Windows).
    assert_eq!(code.matches("FileSystemAccessRule(").count(), 1);
    assert_eq!(code.matches("AddAccessRule(").count(), 1);
    let sids: BTreeSet<&str> = code
        .match_indices("S-1-")
        .map(|(i, _)| {
            let rest = &code[i..];
            &rest[..rest.find('\'').unwrap()]
        })
        .collect();
    assert_eq!(sids, BTreeSet::from([SYSTEM, ADMINISTRATORS]));
    for name in ["NT AUTHORITY", "BUILTIN\\", "SYSTEM'", "Administrators'"] {
        assert!(
            !code.contains(name),
            "the script names `{name}` instead of using its SID"
        );
    }
    // The token file gets that ACL, once written.
    let protect = code
        .find("Protect-StampbookPath $TokenPath $false")
        .unwrap();
    let write = code
        .find("[System.IO.File]::WriteAllText($TokenPath")
        .unwrap();
    assert!(write < protect);
    assert!(code.contains("Set-Acl -LiteralPath $Path -AclObject (New-StampbookAcl $Directory)"));
}

#[test]
fn the_token_is_written_without_a_bom_and_never_goes_on_the_task_command_line() {
    let code = code(&script("install-agent.ps1"));
    assert!(code.contains("(New-Object System.Text.UTF8Encoding($false))"));
    let args_start = code.find("$agentArgs = @(").unwrap();
    let args_end = code[args_start..].find("$argumentLine =").unwrap() + args_start;
    let args = &code[args_start..args_end];
    assert!(args.contains("'--token-file', $TokenPath"), "{args}");
    for secret in ["$Token ", "$Token,", "$Token)", "$tokenValue"] {
        assert!(
            !args.contains(secret),
            "the token itself is on the command line: {args}"
        );
    }
}

#[test]
fn every_flag_the_task_passes_is_a_flag_of_the_real_agent_push() {
    let help = agent().args(["push", "--help"]).output().unwrap();
    assert!(help.status.success(), "{}", text(&help));
    let help = String::from_utf8(help.stdout).unwrap();
    let real: BTreeSet<String> = help
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(str::to_owned)
        .collect();
    assert!(real.contains("--token-file"), "{real:?}");

    let code = code(&script("install-agent.ps1"));
    // Every '--flag' literal: they all go into the task's arguments.
    let used: BTreeSet<String> = code
        .match_indices("'--")
        .map(|(i, _)| {
            let flag = &code[i + 1..];
            flag[..flag.find('\'').unwrap()].to_owned()
        })
        .collect();
    let required = [
        "--source",
        "--server",
        "--token-file",
        "--stamp",
        "--role",
        "--spool-dir",
        "--ca-file",
        "--scale-unit",
        "--wap-skip-certificate-check",
    ];
    assert_eq!(
        used,
        required
            .iter()
            .map(|f| f.to_string())
            .collect::<BTreeSet<_>>()
    );
    let unknown: Vec<&String> = used.difference(&real).collect();
    assert!(unknown.is_empty(), "not flags of `push`: {unknown:?}");
    assert!(code.contains("$agentArgs = @('push', '--source', 'windows',"));
    assert!(
        help.contains("- windows:"),
        "`windows` is no longer a --source value"
    );
}

#[test]
fn every_role_the_installer_accepts_is_a_role_of_the_real_agent() {
    let code = code(&script("install-agent.ps1"));
    let roles_line = code
        .lines()
        .find(|l| l.starts_with("$WireRoles = @("))
        .unwrap();
    let roles: Vec<&str> = roles_line.split('\'').skip(1).step_by(2).collect();
    assert_eq!(roles.len(), 8, "{roles:?}");
    // capture.ps1 holds the same list.
    let capture = std::fs::read_to_string(repo().join("agents/capture.ps1")).unwrap();
    assert!(
        capture.lines().any(|l| l == roles_line),
        "capture.ps1's $WireRoles differs"
    );

    let dir = tempfile::tempdir().unwrap();
    let collect = |role: &str| {
        agent()
            .args(["collect", "--source", "capture-dir"])
            .arg(dir.path())
            .args([
                "--stamp",
                "ams-01",
                "--fqdn",
                "hv001.example.net",
                "--role",
                role,
            ])
            .output()
            .unwrap()
    };
    for role in &roles {
        let out = collect(role);
        assert!(
            !text(&out).contains("unknown role"),
            "the agent refuses --role {role}: {}",
            text(&out)
        );
    }
    let out = collect("hyperv");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("unknown role"), "{}", text(&out));
}

#[test]
fn install_and_uninstall_agree_on_the_task_and_the_data_folder() {
    let install = code(&script("install-agent.ps1"));
    let uninstall = code(&script("uninstall-agent.ps1"));
    for variable in ["TaskPath", "TaskName"] {
        assert_eq!(assigned(&install, variable), assigned(&uninstall, variable));
    }
    let data_dir = "$DataDir = Join-Path $env:ProgramData 'stampbook'";
    assert!(install.contains(data_dir) && uninstall.contains(data_dir));
    let install_dir = "[string] $InstallDir = (Join-Path $env:ProgramFiles 'stampbook'),";
    assert!(install.contains(install_dir) && uninstall.contains(install_dir));
    assert!(install.contains("$TokenPath = Join-Path $DataDir 'token'"));
    assert!(install.contains("$SpoolDir = Join-Path $DataDir 'spool'"));
}

#[test]
fn uninstall_keeps_the_token_and_spool_unless_purge() {
    let code = code(&script("uninstall-agent.ps1"));
    let unregister = calls(&code, "Unregister-ScheduledTask");
    assert_eq!(unregister.len(), 1);
    assert!(
        unregister[0].contains("-Confirm:$false"),
        "{}",
        unregister[0]
    );
    assert_eq!(code.matches("Remove-Item -LiteralPath $DataDir").count(), 1);
    let remove = code.find("Remove-Item -LiteralPath $DataDir").unwrap();
    let purge = code.find("if ($Purge) {").unwrap();
    let otherwise = code[purge..].find("} elseif").unwrap() + purge;
    assert!(
        purge < remove && remove < otherwise,
        "the data folder goes only with -Purge"
    );
    // A mistyped -InstallDir holding other files is refused, not deleted.
    let guard = code.find("holds files but no stampbook-agent.exe").unwrap();
    assert!(guard < code.find("Remove-Item -LiteralPath $InstallDir").unwrap());
}

fn package(dist: &Path, exe: Option<&Path>) -> Output {
    let mut command = Command::new("bash");
    command
        .arg(repo().join("deploy/package-windows"))
        .env("STAMPBOOK_DIST_DIR", dist);
    if let Some(exe) = exe {
        command.arg(exe);
    }
    command.output().unwrap()
}

/// The entry names of a zip and the folder it was extracted to (Python's zipfile reads it, so
/// the zip is checked by another implementation than the one that wrote it when `zip` exists).
fn unzip(zip: &Path, into: &Path) -> Vec<String> {
    let listing = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nz.extractall(sys.argv[2])\nprint('\\n'.join(z.namelist()))",
        ])
        .arg(zip)
        .arg(into)
        .output()
        .unwrap();
    assert!(listing.status.success(), "{}", text(&listing));
    String::from_utf8(listing.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn package_windows_zips_the_five_files_and_a_second_run_replaces_the_first() {
    let work = tempfile::tempdir().unwrap();
    let exe = work.path().join("stampbook-agent.exe");
    std::fs::write(&exe, b"MZ\x90\x00 not really a program").unwrap();
    let dist = work.path().join("dist");
    let zip = dist.join(format!(
        "stampbook-agent-windows-{}.zip",
        env!("CARGO_PKG_VERSION")
    ));

    for run in 0..2 {
        let out = package(&dist, Some(&exe));
        assert!(out.status.success(), "run {run}: {}", text(&out));
        let into = work.path().join(format!("unzipped-{run}"));
        let names = unzip(&zip, &into);
        assert_eq!(
            names,
            [
                "stampbook-agent.exe",
                "install-agent.ps1",
                "uninstall-agent.ps1",
                "capture.ps1",
                "README.txt"
            ]
        );
        assert_eq!(
            std::fs::read(into.join("stampbook-agent.exe")).unwrap(),
            std::fs::read(&exe).unwrap()
        );
        for (entry, source) in [
            ("install-agent.ps1", "agents/windows/install-agent.ps1"),
            ("uninstall-agent.ps1", "agents/windows/uninstall-agent.ps1"),
            ("capture.ps1", "agents/capture.ps1"),
        ] {
            assert_eq!(
                std::fs::read(into.join(entry)).unwrap(),
                std::fs::read(repo().join(source)).unwrap(),
                "{entry}"
            );
        }
        let readme = std::fs::read_to_string(into.join("README.txt")).unwrap();
        assert!(readme.starts_with(&format!(
            "stampbook agent {} for Windows\r\n",
            env!("CARGO_PKG_VERSION")
        )));
        let lines: Vec<&str> = readme.split('\n').collect();
        assert_eq!(lines.last(), Some(&""), "README.txt ends with a line end");
        assert!(
            lines[..lines.len() - 1].iter().all(|l| l.ends_with('\r')),
            "README.txt has LF-only line ends"
        );
        assert!(readme.contains("install-agent.ps1 -Server"));
        // A real .exe is replaced by the second run.
        std::fs::write(&exe, b"MZ second build").unwrap();
    }
}

#[test]
fn package_windows_refuses_a_program_that_is_not_for_windows() {
    let work = tempfile::tempdir().unwrap();
    let exe = work.path().join("stampbook-agent");
    std::fs::write(&exe, b"\x7fELF\x02\x01\x01").unwrap();
    let dist = work.path().join("dist");
    let out = package(&dist, Some(&exe));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not a Windows program"),
        "{}",
        text(&out)
    );
    assert!(!dist.exists() || std::fs::read_dir(&dist).unwrap().next().is_none());
}

#[test]
fn package_windows_without_an_exe_makes_no_zip_and_says_the_exe_must_be_added() {
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    let out = package(&dist, None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("stampbook-agent.exe is NOT included"),
        "{}",
        text(&out)
    );
    let name = format!("stampbook-agent-windows-{}", env!("CARGO_PKG_VERSION"));
    assert!(!dist.join(format!("{name}.zip")).exists());
    let staged: BTreeSet<String> = std::fs::read_dir(dist.join(&name))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        staged,
        BTreeSet::from(
            [
                "README.txt",
                "capture.ps1",
                "install-agent.ps1",
                "uninstall-agent.ps1"
            ]
            .map(str::to_owned)
        )
    );
}

#[test]
fn dist_is_ignored_by_git() {
    let gitignore = std::fs::read_to_string(repo().join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == "/dist"), "{gitignore}");
}
