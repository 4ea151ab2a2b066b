//! How values read on a page: times relative and absolute, counts with digit grouping, sizes,
//! health and severity labels (always a word as well as a colour), and query strings.

use chrono::{DateTime, Utc};

use crate::health::Health;
use crate::inventory::model::Quota;

/// A point in time as a page shows it: `<time datetime=iso title=abs>rel</time>`.
#[derive(Debug, Clone)]
pub struct When {
    pub iso: String,
    pub abs: String,
    pub rel: String,
}

impl When {
    pub fn at(t: DateTime<Utc>, now: DateTime<Utc>) -> When {
        When {
            iso: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            abs: t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            rel: relative(t, now),
        }
    }

    pub fn opt(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<When> {
        t.map(|t| When::at(t, now))
    }
}

/// `just now`, `4 min ago`, `3 h ago`, `12 d ago`, `in 5 d`, `in 2 y`.
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let (past, s) = if secs >= 0 {
        (true, secs)
    } else {
        (false, -secs)
    };
    if s < 45 {
        return if past { "just now" } else { "in a moment" }.to_owned();
    }
    let span = if s < 90 * 60 {
        format!("{} min", ((s + 30) / 60).max(1))
    } else if s < 48 * 3600 {
        format!("{} h", (s + 1800) / 3600)
    } else if s < 730 * 86_400 {
        format!("{} d", s / 86_400)
    } else {
        format!("{} y", s / (365 * 86_400))
    };
    if past {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

/// Whole days from `now` until `t` (negative once past), rounding towards the past like the API.
pub fn days_until(t: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (t - now).num_seconds().div_euclid(86_400)
}

/// `12 345 678`: thin-space digit groups, readable on a wallboard and never mistaken for decimals.
/// Whole numbers as templates hand them over: by value or by reference.
pub trait Whole {
    fn whole(&self) -> i64;
}

impl Whole for i64 {
    fn whole(&self) -> i64 {
        *self
    }
}

impl Whole for i32 {
    fn whole(&self) -> i64 {
        i64::from(*self)
    }
}

impl Whole for usize {
    fn whole(&self) -> i64 {
        i64::try_from(*self).unwrap_or(i64::MAX)
    }
}

impl<T: Whole + ?Sized> Whole for &T {
    fn whole(&self) -> i64 {
        (**self).whole()
    }
}

pub fn int(n: impl Whole) -> String {
    let n = n.whole();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('−');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202F}');
        }
        out.push(c);
    }
    out
}

/// Memory in MiB as `512 GiB`, `1.5 TiB`.
pub fn mib(mb: impl Whole) -> String {
    let mb = mb.whole() as f64;
    if mb >= 1024.0 * 1024.0 {
        format!("{:.1} TiB", mb / (1024.0 * 1024.0))
    } else if mb >= 1024.0 {
        format!("{:.0} GiB", mb / 1024.0)
    } else {
        format!("{mb:.0} MiB")
    }
}

/// Storage in GB as `800 GB`, `1.2 PB`, `96.0 TB`.
pub fn gb(gb: impl Whole) -> String {
    let g = gb.whole() as f64;
    if g >= 1_000_000.0 {
        format!("{:.1} PB", g / 1_000_000.0)
    } else if g >= 1000.0 {
        format!("{:.1} TB", g / 1000.0)
    } else {
        format!("{g:.0} GB")
    }
}

/// A ratio as a percentage (`—` when the base is zero).
pub fn percent(part: f64, whole: f64) -> String {
    if whole <= 0.0 {
        "—".to_owned()
    } else {
        format!("{:.0} %", 100.0 * part / whole)
    }
}

/// A health or severity as a page shows it: CSS class, word and a shape that differs per level
/// (so that it reads without colour, e.g. for colour-blind operators or a monochrome print).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Badge {
    pub class: &'static str,
    pub label: &'static str,
    pub icon: &'static str,
}

pub fn health_badge(h: Health) -> Badge {
    match h {
        Health::Critical => Badge {
            class: "critical",
            label: "CRITICAL",
            icon: "■",
        },
        Health::Degraded => Badge {
            class: "warning",
            label: "DEGRADED",
            icon: "▲",
        },
        Health::Ok => Badge {
            class: "ok",
            label: "OK",
            icon: "●",
        },
    }
}

pub fn severity_badge(severity: &str) -> Badge {
    match severity {
        "critical" => Badge {
            class: "critical",
            label: "CRITICAL",
            icon: "■",
        },
        "warning" => Badge {
            class: "warning",
            label: "WARNING",
            icon: "▲",
        },
        _ => Badge {
            class: "info",
            label: "INFO",
            icon: "◆",
        },
    }
}

/// Percent-encodes a query-string value (everything but RFC 3986 unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `?a=1&b=x%20y` from the pairs whose value is set (empty string when none is).
pub fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", encode(v)))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// A plan's quota in one line: `10 VMs · 20 vCPUs · 64 GiB · 1 TB`.
pub fn quota(q: &Quota) -> String {
    format!(
        "{} VMs · {} vCPUs · {} GiB · {}",
        int(q.vms),
        int(q.vcpus),
        int(q.memory_gb),
        gb(q.storage_gb)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap()
    }

    #[test]
    fn relative_times_read_naturally_both_ways() {
        let n = now();
        assert_eq!(relative(n - Duration::seconds(10), n), "just now");
        assert_eq!(relative(n - Duration::minutes(4), n), "4 min ago");
        assert_eq!(relative(n - Duration::hours(3), n), "3 h ago");
        assert_eq!(relative(n - Duration::days(12), n), "12 d ago");
        assert_eq!(relative(n + Duration::days(5), n), "in 5 d");
        assert_eq!(relative(n + Duration::days(800), n), "in 2 y");
    }

    #[test]
    fn when_carries_iso_and_absolute_forms() {
        let w = When::at(now() - Duration::hours(3), now());
        assert_eq!(w.iso, "2026-11-26T07:00:00Z");
        assert_eq!(w.abs, "2026-11-26 07:00:00 UTC");
        assert_eq!(w.rel, "3 h ago");
    }

    #[test]
    fn numbers_and_sizes_group_and_scale() {
        assert_eq!(int(0), "0");
        assert_eq!(int(1234), "1\u{202F}234");
        assert_eq!(int(-1_234_567), "−1\u{202F}234\u{202F}567");
        assert_eq!(mib(512), "512 MiB");
        assert_eq!(mib(16384), "16 GiB");
        assert_eq!(mib(3 * 1024 * 1024 / 2), "1.5 TiB");
        assert_eq!(gb(96_000), "96.0 TB");
        assert_eq!(percent(1.0, 0.0), "—");
        assert_eq!(percent(1.0, 4.0), "25 %");
    }

    #[test]
    fn days_until_rounds_towards_the_past() {
        assert_eq!(days_until(now() + Duration::hours(36), now()), 1);
        assert_eq!(days_until(now() - Duration::hours(1), now()), -1);
    }

    #[test]
    fn query_strings_encode_values_and_skip_empty_ones() {
        assert_eq!(
            query(&[
                ("stamp", Some("ams-01")),
                ("rule", None),
                ("q", Some("a b&<"))
            ]),
            "?stamp=ams-01&q=a%20b%26%3C"
        );
        assert_eq!(query(&[("x", Some(""))]), "");
    }
}
