//! Linux host facts from `/proc/cpuinfo`, `/proc/meminfo` and `/etc/os-release`.

use stampbook_wire::Os;

use super::ParseError;

/// Physical cores: distinct (`physical id`, `core id`) pairs of `/proc/cpuinfo`, which is what
/// Windows' `NumberOfCores` counts, so capacity compares like with like across both. Where
/// the kernel does not print topology (some VMs, ARM) every `processor` counts as a core.
pub fn cpu_cores(cpuinfo: &str) -> Result<u32, ParseError> {
    let mut processors = 0usize;
    let mut cores = std::collections::BTreeSet::new();
    let (mut socket, mut core) = (None, None);
    for line in cpuinfo.lines().chain(std::iter::once("")) {
        let (key, value) = line
            .split_once(':')
            .map_or((line.trim(), ""), |(k, v)| (k.trim(), v.trim()));
        match key {
            "processor" => processors += 1,
            "physical id" => socket = Some(value.to_owned()),
            "core id" => core = Some(value.to_owned()),
            // A blank line ends one processor's block.
            "" => {
                if let (Some(s), Some(c)) = (socket.take(), core.take()) {
                    cores.insert((s, c));
                }
            }
            _ => {}
        }
    }
    let count = if cores.is_empty() {
        processors
    } else {
        cores.len()
    };
    match u32::try_from(count) {
        Ok(0) | Err(_) => Err(ParseError::Unrecognised(
            "no processor lines in /proc/cpuinfo".into(),
        )),
        Ok(n) => Ok(n),
    }
}

/// `MemTotal` of `/proc/meminfo` in MiB (rounded).
pub fn memory_mb(meminfo: &str) -> Result<u64, ParseError> {
    for (n, line) in meminfo.lines().enumerate() {
        let Some(rest) = line.strip_prefix("MemTotal:") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let kb: u64 =
            words
                .next()
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| ParseError::Layout {
                    line: n + 1,
                    reason: format!("MemTotal is not a number: {line:?}"),
                })?;
        // Rounded, as the Windows capture rounds TotalPhysicalMemory.
        return Ok(kb.saturating_add(512) / 1024);
    }
    Err(ParseError::Unrecognised(
        "no MemTotal in /proc/meminfo".into(),
    ))
}

/// `PRETTY_NAME` (else `NAME`) and `VERSION_ID` of `/etc/os-release`.
pub fn os_release(text: &str) -> Os {
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_owned())
    };
    Os {
        name: get("PRETTY_NAME")
            .or_else(|| get("NAME"))
            .unwrap_or_else(|| "Linux".into()),
        version: get("VERSION_ID").unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counts_memory_and_names_are_read() {
        let cpuinfo = "processor\t: 0\nmodel name\t: X\n\nprocessor\t: 1\nmodel name\t: X\n";
        assert_eq!(cpu_cores(cpuinfo).unwrap(), 2);
        let smt = "processor\t: 0\nphysical id\t: 0\ncore id\t: 0\n\nprocessor\t: 1\nphysical id\t: 0\ncore id\t: 0\n\n\
                   processor\t: 2\nphysical id\t: 1\ncore id\t: 0\n";
        assert_eq!(
            cpu_cores(smt).unwrap(),
            2,
            "two sockets of one hyper-threaded core each"
        );
        assert!(cpu_cores("").is_err());
        assert_eq!(
            memory_mb("MemTotal:       16318480 kB\nMemFree: 1 kB\n").unwrap(),
            15936
        );
        assert!(memory_mb("MemTotal: lots\n").is_err());
        let os = os_release(
            "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"13\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n",
        );
        assert_eq!(os.name, "Debian GNU/Linux 13 (trixie)");
        assert_eq!(os.version, "13");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = cpu_cores(&s);
            let _ = memory_mb(&s);
            let _ = os_release(&s);
        }
    }
}
