//! Values parsed at the edge into types, so the inside never re-checks them: stamp names,
//! FQDNs, object names, CIDRs. Each parser returns a message a person can act on.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

/// A stamp name: a lowercase DNS label (letters, digits, hyphens; 1 to 63; no hyphen at either end).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct StampName(String);

impl StampName {
    pub fn parse(s: &str) -> Result<StampName, String> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(StampName(s.to_owned()))
        } else {
            Err(format!(
                "'{s}' is not a stamp name: use 1 to 63 lowercase letters, digits and hyphens, \
                 not starting or ending with a hyphen (e.g. ams-01)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StampName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fully qualified host name, kept lower-case (host names compare case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Fqdn(String);

impl Fqdn {
    pub fn parse(s: &str) -> Result<Fqdn, String> {
        let s = s.trim().trim_end_matches('.');
        let lower = s.to_ascii_lowercase();
        let labels_ok = !lower.is_empty()
            && lower.len() <= 253
            && lower.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if labels_ok {
            Ok(Fqdn(lower))
        } else {
            Err(format!(
                "'{s}' is not a host name: use DNS labels of letters, digits and hyphens separated by dots"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fqdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of a network, scale unit or similar child object: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn parse_object_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "'{s}' is not a valid name: use 1 to 64 letters, digits, dots, underscores and hyphens"
        ))
    }
}

/// A WAP plan id: 1 to 128 of `A-Z a-z 0-9 . _ : -` (it is part of URLs).
pub fn parse_plan_id(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "'{s}' is not a valid wap_plan_id: use 1 to 128 letters, digits, dots, colons, underscores and hyphens"
        ))
    }
}

/// A network in CIDR form whose host bits are zero (`10.0.0.0/24`, not `10.0.0.5/24`).
pub fn parse_network_cidr(s: &str) -> Result<IpNet, String> {
    let net: IpNet = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a CIDR network (e.g. 10.0.0.0/24)"))?;
    if net.trunc() != net {
        return Err(format!(
            "'{s}' has host bits set; the network is {}",
            net.trunc()
        ));
    }
    Ok(net)
}

pub fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("'{s}' is not an IP address"))
}

/// Do two networks share any address?
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_names_are_dns_labels() {
        assert!(StampName::parse("ams-01").is_ok());
        for bad in [
            "",
            "AMS-01",
            "-ams",
            "ams-",
            "ams_01",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(StampName::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn fqdns_compare_lower_case_and_reject_garbage() {
        assert_eq!(
            Fqdn::parse("HV01.Ams-01.Example.NET.").unwrap().as_str(),
            "hv01.ams-01.example.net"
        );
        for bad in ["", "a..b", "-a.b", "a b.c", "<script>"] {
            assert!(Fqdn::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn cidrs_must_be_networks() {
        assert_eq!(
            parse_network_cidr("10.0.0.0/24").unwrap().to_string(),
            "10.0.0.0/24"
        );
        let err = parse_network_cidr("10.0.0.5/24").unwrap_err();
        assert!(err.contains("10.0.0.0/24"), "{err}");
        assert!(parse_network_cidr("10.0.0.0/33").is_err());
        assert!(parse_network_cidr("nonsense").is_err());
        assert!(parse_network_cidr("2001:db8::/32").is_ok());
    }

    #[test]
    fn overlap_is_symmetric_and_exact() {
        let a = parse_network_cidr("10.0.0.0/16").unwrap();
        let b = parse_network_cidr("10.0.5.0/24").unwrap();
        let c = parse_network_cidr("10.1.0.0/24").unwrap();
        assert!(overlaps(&a, &b) && overlaps(&b, &a));
        assert!(!overlaps(&a, &c));
    }
}

/// What became of a report, one name everywhere: the answer to the collector, the `reports` row
/// (`reports_outcome_check` allows exactly the [`ReportOutcome::RECORDED`] ones), the
/// `stampbook_reports_ingested_total{outcome}` counter and the ingest span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportOutcome {
    /// Facts changed and were stored.
    Stored,
    /// The same facts as stored: only the host's "last seen" moved.
    Unchanged,
    /// Older than what is stored: kept in history only.
    Late,
    /// The report id was seen before: nothing written.
    Duplicate,
    /// Its stamp is unknown or retired: set aside for replay (422).
    Quarantined,
    /// Not valid or not allowed (4xx): nothing written.
    Refused,
    /// The server could not store it (5xx): the collector retries.
    Failed,
}

impl ReportOutcome {
    pub const ALL: [ReportOutcome; 7] = [
        ReportOutcome::Stored,
        ReportOutcome::Unchanged,
        ReportOutcome::Late,
        ReportOutcome::Duplicate,
        ReportOutcome::Quarantined,
        ReportOutcome::Refused,
        ReportOutcome::Failed,
    ];

    /// The outcomes a `reports` row records.
    pub const RECORDED: [ReportOutcome; 3] = [
        ReportOutcome::Stored,
        ReportOutcome::Unchanged,
        ReportOutcome::Late,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportOutcome::Stored => "stored",
            ReportOutcome::Unchanged => "unchanged",
            ReportOutcome::Late => "late",
            ReportOutcome::Duplicate => "duplicate",
            ReportOutcome::Quarantined => "quarantined",
            ReportOutcome::Refused => "refused",
            ReportOutcome::Failed => "failed",
        }
    }
}

impl fmt::Display for ReportOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A time as PostgreSQL keeps it in a `timestamptz`: to the microsecond, rounded to the nearest
/// (half to even, as its input does). Windows counts 100-ns ticks and agents may send them
/// (`2026-12-02T14:31:19.7410226Z`); a fact compared with what was stored must be rounded the
/// same way, or every report would change it.
pub fn stored_time(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Timelike};
    let nanos = t.nanosecond() % 1_000_000_000; // a leap second's extra second is kept as is
    let (micros, rest) = (nanos / 1_000, nanos % 1_000);
    let truncated = t.trunc_subsecs(6);
    if rest > 500 || (rest == 500 && micros % 2 == 1) {
        // the last representable instant stays as it is rather than overflow
        truncated
            .checked_add_signed(chrono::Duration::microseconds(1))
            .unwrap_or(truncated)
    } else {
        truncated
    }
}

#[cfg(test)]
mod stored_time_tests {
    use chrono::{DateTime, Utc};

    use super::stored_time;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn times_round_to_the_microsecond_as_postgresql_does() {
        let cases = [
            (
                "2026-12-02T14:31:19.7410226Z",
                "2026-12-02T14:31:19.741023Z",
            ),
            (
                "2026-12-02T14:31:19.741022601Z",
                "2026-12-02T14:31:19.741023Z",
            ),
            (
                "2026-12-02T14:31:19.7410224Z",
                "2026-12-02T14:31:19.741022Z",
            ),
            (
                "2026-12-02T14:31:19.7410225Z",
                "2026-12-02T14:31:19.741022Z",
            ),
            (
                "2026-12-02T14:31:19.7410235Z",
                "2026-12-02T14:31:19.741024Z",
            ),
            ("2026-12-02T14:31:19.741023Z", "2026-12-02T14:31:19.741023Z"),
            ("2026-12-31T23:59:59.9999996Z", "2027-01-01T00:00:00Z"),
        ];
        for (given, kept) in cases {
            assert_eq!(stored_time(at(given)), at(kept), "{given}");
        }
        let last = DateTime::<Utc>::MAX_UTC;
        assert!(stored_time(last) <= last, "no overflow at the end of time");
    }
}
