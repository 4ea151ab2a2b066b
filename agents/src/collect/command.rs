//! Running one external program and taking its standard output as text, with errors that say
//! which command failed and how.

use std::io::ErrorKind;
use std::process::Command;

use super::CollectError;
use crate::parse::text;

/// Runs `program args...` and returns its decoded stdout. A program that cannot be started is
/// [`CollectError::ProgramMissing`]; a non-zero exit is [`CollectError::CommandFailed`] with
/// the first lines of stderr.
pub fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String, CollectError> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().map_err(|error| match error.kind() {
        ErrorKind::NotFound | ErrorKind::PermissionDenied => CollectError::ProgramMissing {
            program: program.to_owned(),
            error,
        },
        _ => CollectError::CommandFailed {
            command: describe(program, args),
            status: "not started".into(),
            stderr: error.to_string(),
        },
    })?;
    if !output.status.success() {
        let stderr = text::decode_lossy(&output.stderr);
        return Err(CollectError::CommandFailed {
            command: describe(program, args),
            status: output.status.to_string(),
            stderr: stderr.lines().take(5).collect::<Vec<_>>().join(" | "),
        });
    }
    Ok(text::decode_lossy(&output.stdout))
}

/// A short, readable form of the command for error messages (long PowerShell scripts are cut).
fn describe(program: &str, args: &[&str]) -> String {
    let mut s = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    if let Some((cut, _)) = s.char_indices().nth(120) {
        s.truncate(cut);
        s.push_str(" ...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_says_so() {
        let err = run("stampbook-no-such-program", &[], &[]).unwrap_err();
        assert!(matches!(err, CollectError::ProgramMissing { .. }), "{err}");
        assert!(err.to_string().contains("stampbook-no-such-program"));
    }

    #[test]
    fn output_and_failures_are_reported() {
        assert_eq!(
            run("sh", &["-c", "printf 'a\\r\\nb'"], &[]).unwrap(),
            "a\r\nb"
        );
        let err = run("sh", &["-c", "echo boom >&2; exit 3"], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("boom") && err.contains('3'), "{err}");
    }
}
