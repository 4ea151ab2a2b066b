//! How findings name things: certificates, durations and host lists, worded the same way by
//! every rule so a NOC operator reads one vocabulary on the wallboard.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::facts::x509::ParsedCertificate;

use super::model::{Finding, HostFacts, Severity};

/// `"Remote Console Connect" (thumbprint 90D0…)`: the CN operators recognise and the
/// thumbprint they paste into `Get-ChildItem Cert:\...\<thumbprint>`.
pub(crate) fn cert_name(cert: &ParsedCertificate) -> String {
    let name = cert.subject_cn.as_deref().unwrap_or(cert.subject.as_str());
    format!("\"{name}\" (thumbprint {})", cert.thumbprint)
}

/// The facts of a certificate that rules reason about, for evidence.
pub(crate) fn cert_evidence(cert: &ParsedCertificate) -> Value {
    json!({
        "thumbprint": cert.thumbprint,
        "subject": cert.subject,
        "issuer": cert.issuer,
        "not_after": cert.not_after,
        "signature_algorithm": cert.signature_algorithm,
        "key_algorithm": cert.key_algorithm,
        "key_bits": cert.key_bits,
        "key_usage": cert.key_usage,
        "eku": cert.eku,
        "san_dns": cert.san_dns,
        "self_signed": cert.self_signed,
    })
}

/// Whether a reported store name is `expected`. Agents write the wire constants, but a store
/// name typed into a capture by hand may differ in case, and Windows ignores case there.
pub(crate) fn store_is(store: &str, expected: &str) -> bool {
    store.trim().eq_ignore_ascii_case(expected)
}

/// `3 days`, `5 h 10 min`, `42 min`: precise enough to act on, short enough for a tile.
pub(crate) fn human_duration(d: TimeDelta) -> String {
    let d = d.abs();
    let days = d.num_days();
    let hours = d.num_hours() % 24;
    let minutes = d.num_minutes() % 60;
    match (days, hours) {
        (0, 0) => format!("{minutes} min"),
        (0, h) => format!("{h} h {minutes} min"),
        (1, 0) => "1 day".to_owned(),
        (1, h) => format!("1 day {h} h"),
        (d, _) => format!("{d} days"),
    }
}

/// `a, b, c and 4 more`: a message stays one readable line; evidence keeps the full list.
pub(crate) fn name_list(names: &[String], max: usize) -> String {
    if names.len() <= max {
        return names.join(", ");
    }
    format!("{} and {} more", names[..max].join(", "), names.len() - max)
}

/// A finding about one host.
pub(crate) fn host_finding(
    rule: &'static str,
    severity: Severity,
    host: &HostFacts,
    subject: impl Into<String>,
    message: String,
    evidence: Value,
) -> Finding {
    Finding {
        rule,
        severity,
        host_id: Some(host.host_id),
        plan_id: None,
        subject: subject.into(),
        message,
        evidence,
    }
}

/// A finding about the whole stamp (no host, no plan).
pub(crate) fn stamp_finding(
    rule: &'static str,
    severity: Severity,
    subject: impl Into<String>,
    message: String,
    evidence: Value,
) -> Finding {
    Finding {
        rule,
        severity,
        host_id: None,
        plan_id: None,
        subject: subject.into(),
        message,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human_duration(TimeDelta::minutes(42)), "42 min");
        assert_eq!(human_duration(TimeDelta::minutes(310)), "5 h 10 min");
        assert_eq!(human_duration(TimeDelta::hours(30)), "1 day 6 h");
        assert_eq!(human_duration(TimeDelta::hours(24)), "1 day");
        assert_eq!(human_duration(-TimeDelta::days(3)), "3 days");
    }

    #[test]
    fn long_host_lists_are_cut_in_messages() {
        let names: Vec<String> = (1..=6).map(|i| format!("hv0{i}")).collect();
        assert_eq!(name_list(&names[..2], 5), "hv01, hv02");
        assert_eq!(
            name_list(&names, 5),
            "hv01, hv02, hv03, hv04, hv05 and 1 more"
        );
    }
}
