//! `systemctl show -p LoadState,ActiveState,ExecMainStartTimestamp UNIT` into a wire service.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use stampbook_wire::Service;

use super::ParseError;

/// Parses the `Key=value` lines of `systemctl show` for service `name`. A unit that does not
/// exist (`LoadState=not-found`) is `None`: on Windows a missing service is simply absent from
/// the list too. States map to the Windows words where one exists (`active` is `running`).
pub fn parse_systemctl_show(name: &str, text: &str) -> Result<Option<Service>, ParseError> {
    let mut active = None;
    let mut started = None;
    for (n, line) in text.lines().enumerate() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "LoadState" if value == "not-found" => return Ok(None),
            "ActiveState" => active = Some(value.to_owned()),
            "ExecMainStartTimestamp" => {
                started = parse_timestamp(value).map_err(|reason| ParseError::Layout {
                    line: n + 1,
                    reason,
                })?;
            }
            _ => {}
        }
    }
    let active = active
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ParseError::Unrecognised(format!("no ActiveState for {name}")))?;
    let state = match active.as_str() {
        "active" | "reloading" => "running".to_owned(),
        "inactive" => "stopped".to_owned(),
        "activating" => "start_pending".to_owned(),
        "deactivating" => "stop_pending".to_owned(),
        other => other.replace('-', "_"),
    };
    // systemd keeps the last start time of a stopped unit; it is not a running start.
    let started_at = started.filter(|_| state == "running");
    Ok(Some(Service {
        name: name.to_owned(),
        state,
        started_at,
    }))
}

/// `Thu 2026-11-26 05:28:04 UTC` (or with a numeric offset such as `+0100`); empty and `n/a`
/// mean never started. Zone abbreviations other than UTC are ambiguous, so the collector runs
/// systemctl with `TZ=UTC` and anything else is refused rather than guessed.
pub fn parse_timestamp(value: &str) -> Result<Option<DateTime<Utc>>, String> {
    let value = value.trim();
    if value.is_empty() || value == "n/a" {
        return Ok(None);
    }
    let mut words: Vec<&str> = value.split_whitespace().collect();
    if words
        .first()
        .is_some_and(|w| w.len() == 3 && w.chars().all(|c| c.is_ascii_alphabetic()))
    {
        words.remove(0); // the weekday
    }
    let [date, time, zone] = words.as_slice() else {
        return Err(format!("unrecognised timestamp {value:?}"));
    };
    let naive = NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M:%S%.f")
        .map_err(|_| format!("unrecognised timestamp {value:?}"))?;
    let offset = match *zone {
        "UTC" | "GMT" | "Z" => 0,
        z => parse_offset(z)
            .ok_or_else(|| format!("time zone {z:?} is ambiguous; run systemctl with TZ=UTC"))?,
    };
    FixedOffset::east_opt(offset)
        .and_then(|o| naive.and_local_timezone(o).single())
        .map(|d| Some(d.with_timezone(&Utc)))
        .ok_or_else(|| format!("impossible timestamp {value:?}"))
}

/// `+0100`, `-05:30` into seconds east of UTC.
fn parse_offset(z: &str) -> Option<i32> {
    let sign = match z.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    Some(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn a_running_unit_has_its_start_time() {
        let text = "LoadState=loaded\nActiveState=active\nExecMainStartTimestamp=Thu 2026-11-26 05:28:04 UTC\n";
        let svc = parse_systemctl_show("nginx", text).unwrap().unwrap();
        assert_eq!(svc.state, "running");
        assert_eq!(
            svc.started_at,
            Some(Utc.with_ymd_and_hms(2026, 11, 26, 5, 28, 4).unwrap())
        );
    }

    #[test]
    fn stopped_missing_and_odd_units() {
        let stopped = "ActiveState=inactive\nExecMainStartTimestamp=Wed 2026-11-25 01:00:00 UTC\n";
        let svc = parse_systemctl_show("x", stopped).unwrap().unwrap();
        assert_eq!((svc.state.as_str(), svc.started_at), ("stopped", None));
        assert_eq!(
            parse_systemctl_show("x", "LoadState=not-found\nActiveState=inactive\n").unwrap(),
            None
        );
        assert_eq!(
            parse_systemctl_show("x", "ActiveState=failed\nExecMainStartTimestamp=\n")
                .unwrap()
                .unwrap()
                .state,
            "failed"
        );
        assert!(parse_systemctl_show("x", "").is_err());
        assert!(
            parse_systemctl_show(
                "x",
                "ActiveState=active\nExecMainStartTimestamp=Thu 2026-11-26 05:28:04 CET"
            )
            .is_err()
        );
    }

    #[test]
    fn numeric_offsets_move_the_instant() {
        assert_eq!(
            parse_timestamp("Thu 2026-11-26 06:28:04 +0100").unwrap(),
            Some(Utc.with_ymd_and_hms(2026, 11, 26, 5, 28, 4).unwrap())
        );
        assert_eq!(parse_timestamp("n/a").unwrap(), None);
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = parse_systemctl_show("x", &s);
            let _ = parse_timestamp(&s);
        }
    }
}
