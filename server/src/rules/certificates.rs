//! Certificate hygiene (`cert.*`): expiry and weak crypto of the certificates a host can
//! actually use, i.e. those with a private key in its `LocalMachine\My` store (SPEC §5).
//!
//! Decisions where the SPEC is silent:
//! - A certificate that has expired fires `cert.expired` only, not `cert.expiring` as well: one
//!   problem per fact on the wallboard.
//! - "days left" is `not_after - now` compared as a duration with `cert_warning_days` whole
//!   days, so a certificate expiring exactly `warning_days` from now fires and one a second
//!   later than that does not.
//! - The same certificate listed twice in the store yields one finding per rule.
//! - Root and intermediate stores, the `VMM` pseudo-store and certificates without a private
//!   key are never judged here (a root about to expire is the issuing team's business; an
//!   expired VMConnect certificate shows up on the hosts' `My` stores, where it is deployed).
//! - `certificates: None` (never collected) yields nothing.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use stampbook_wire::MY_STORE;

use crate::facts::x509::KeyAlgorithm;

use super::describe::{cert_evidence, cert_name, host_finding, human_duration, store_is};
use super::model::{Finding, HostCert, HostFacts, Severity, StampContext};

pub const EXPIRED: &str = "cert.expired";
pub const EXPIRING: &str = "cert.expiring";
pub const WEAK_SIGNATURE: &str = "cert.weak_signature";
pub const WEAK_KEY: &str = "cert.weak_key";

/// RSA keys below this many bits are weak (`cert.weak_key`).
pub const MIN_RSA_BITS: u32 = 2048;

/// All `cert.*` findings for one host.
pub fn evaluate(ctx: &StampContext, host: &HostFacts, now: DateTime<Utc>) -> Vec<Finding> {
    let mut seen = BTreeSet::new();
    let mut findings = Vec::new();
    for entry in usable_certificates(host) {
        if !seen.insert(entry.cert.thumbprint.as_str()) {
            continue;
        }
        findings.extend(expiry(ctx, host, entry, now));
        findings.extend(weak_signature(host, entry));
        findings.extend(weak_key(host, entry));
    }
    findings
}

/// Certificates with a private key in the machine's personal store: what services can bind.
fn usable_certificates(host: &HostFacts) -> impl Iterator<Item = &HostCert> {
    host.certificates
        .iter()
        .flatten()
        .filter(|c| c.has_private_key && store_is(&c.store, MY_STORE))
}

fn expiry(
    ctx: &StampContext,
    host: &HostFacts,
    entry: &HostCert,
    now: DateTime<Utc>,
) -> Option<Finding> {
    let cert = &entry.cert;
    let left = cert.not_after - now;
    let warning = TimeDelta::days(i64::from(ctx.thresholds.cert_warning_days));
    let critical = TimeDelta::days(i64::from(ctx.thresholds.cert_critical_days));
    // most certificates are far from expiry: decided before any words or evidence are built
    let expired = left <= TimeDelta::zero();
    if !expired && left > warning {
        return None;
    }
    let evidence = json!({
        "store": entry.store,
        "certificate": cert_evidence(cert),
        "days_left": left.num_days(),
        "cert_warning_days": ctx.thresholds.cert_warning_days,
        "cert_critical_days": ctx.thresholds.cert_critical_days,
    });
    let name = cert_name(cert);
    let date = cert.not_after.format("%Y-%m-%d %H:%M UTC");
    if expired {
        let message = format!(
            "{}: certificate {name} in LocalMachine\\My expired on {date} ({} ago); \
             renew it and rebind the services that use it",
            host.fqdn,
            human_duration(left)
        );
        return Some(host_finding(
            EXPIRED,
            Severity::Critical,
            host,
            &cert.thumbprint,
            message,
            evidence,
        ));
    }
    let severity = if left <= critical {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let days_left = match left.num_days() {
        0 => format!("{} left", human_duration(left)),
        1 => "1 day left".to_owned(),
        n => format!("{n} days left"),
    };
    let message = format!(
        "{}: certificate {name} in LocalMachine\\My expires on {date} ({days_left}); renew it \
         before then",
        host.fqdn
    );
    Some(host_finding(
        EXPIRING,
        severity,
        host,
        &cert.thumbprint,
        message,
        evidence,
    ))
}

fn weak_signature(host: &HostFacts, entry: &HostCert) -> Option<Finding> {
    let cert = &entry.cert;
    let hash = cert.signature_hash.filter(|h| h.is_weak())?;
    let message = format!(
        "{}: certificate {} in LocalMachine\\My is signed with {} ({}), which can be forged; \
         reissue it with SHA-256",
        host.fqdn,
        cert_name(cert),
        hash.as_str().to_uppercase(),
        cert.signature_algorithm
    );
    let evidence = json!({"store": entry.store, "certificate": cert_evidence(cert)});
    Some(host_finding(
        WEAK_SIGNATURE,
        Severity::Warning,
        host,
        &cert.thumbprint,
        message,
        evidence,
    ))
}

fn weak_key(host: &HostFacts, entry: &HostCert) -> Option<Finding> {
    let cert = &entry.cert;
    // An RSA key whose size could not be read is not reported as weak: no guessing.
    let bits = cert.key_bits.filter(|b| *b < MIN_RSA_BITS)?;
    if cert.key_algorithm != KeyAlgorithm::Rsa {
        return None;
    }
    let message = format!(
        "{}: certificate {} in LocalMachine\\My has a {bits}-bit RSA key (under {MIN_RSA_BITS}); \
         reissue it with a {MIN_RSA_BITS}-bit or larger key",
        host.fqdn,
        cert_name(cert)
    );
    let evidence = json!({"store": entry.store, "certificate": cert_evidence(cert)});
    Some(host_finding(
        WEAK_KEY,
        Severity::Warning,
        host,
        &cert.thumbprint,
        message,
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use stampbook_agent::certgen::{self, CertSpec, GeneratedCert, KeyKind};
    use stampbook_wire::{ROOT_STORE, Role};

    use super::super::testkit::{at, host, in_store, my, root, stamp};
    use super::*;

    fn now() -> DateTime<Utc> {
        at(2024, 2, 24, 10)
    }

    fn expiring_in(left: TimeDelta) -> GeneratedCert {
        certgen::self_signed(&CertSpec {
            not_before: at(2023, 1, 1, 0),
            not_after: now() + left,
            key: KeyKind::EcdsaP256,
            ..CertSpec::new("hv01.ams-01.example.net")
        })
        .unwrap()
    }

    fn run(certs: Vec<HostCert>) -> Vec<Finding> {
        let mut h = host(7, "hv01.ams-01.example.net", &[Role::HypervHost]);
        h.certificates = Some(certs);
        evaluate(&stamp(), &h, now())
    }

    fn only(findings: &[Finding], rule: &str) -> Vec<Finding> {
        findings
            .iter()
            .filter(|f| f.rule == rule)
            .cloned()
            .collect()
    }

    /// Words and evidence move by the day (or the minute on the last day), not with the instant
    /// of the evaluation: a whole run an hour later rewrites nothing.
    #[test]
    fn an_expiry_finding_is_the_same_an_hour_later() {
        for left in [
            -TimeDelta::days(3),
            TimeDelta::hours(12 * 24 + 5),
            TimeDelta::hours(3 * 24 + 5),
        ] {
            let cert = expiring_in(left);
            let mut h = host(7, "hv01.ams-01.example.net", &[Role::HypervHost]);
            h.certificates = Some(vec![my(&cert)]);
            let first = evaluate(&stamp(), &h, now());
            let later = evaluate(&stamp(), &h, now() + TimeDelta::hours(1));
            assert_eq!(first.len(), 1, "{first:#?}");
            assert_eq!(first, later, "{left}");
        }
    }

    #[test]
    fn expired_certificate_with_key_in_my_is_critical_and_named() {
        let cert = expiring_in(-TimeDelta::days(2));
        let findings = run(vec![my(&cert)]);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(
            (f.rule, f.severity, f.host_id),
            (EXPIRED, Severity::Critical, Some(7))
        );
        assert_eq!(f.subject, cert.thumbprint);
        assert!(
            f.message.contains("hv01.ams-01.example.net"),
            "{}",
            f.message
        );
        assert!(f.message.contains(&cert.thumbprint), "{}", f.message);
        assert!(f.message.contains("2 days ago"), "{}", f.message);
    }

    #[test]
    fn expired_certificate_in_root_without_key_never_fires() {
        let cert = expiring_in(-TimeDelta::days(400));
        assert!(run(vec![root(&cert)]).is_empty());
        assert!(run(vec![in_store(&cert, ROOT_STORE, true)]).is_empty());
        assert!(run(vec![in_store(&cert, MY_STORE, false)]).is_empty());
    }

    #[test]
    fn expiring_exactly_at_warning_days_fires_and_one_day_later_does_not() {
        let at_limit = expiring_in(TimeDelta::days(30));
        let findings = run(vec![my(&at_limit)]);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(
            (findings[0].rule, findings[0].severity),
            (EXPIRING, Severity::Warning)
        );
        assert!(findings[0].message.contains("30 days left"));
        assert!(findings[0].message.contains("\"hv01.ams-01.example.net\""));

        let beyond = expiring_in(TimeDelta::days(31));
        assert!(run(vec![my(&beyond)]).is_empty());
    }

    #[test]
    fn expiring_within_critical_days_is_critical() {
        let cert = expiring_in(TimeDelta::days(7));
        let findings = only(&run(vec![my(&cert)]), EXPIRING);
        assert_eq!(findings[0].severity, Severity::Critical);
        let cert = expiring_in(TimeDelta::days(7) + TimeDelta::hours(1));
        let findings = only(&run(vec![my(&cert)]), EXPIRING);
        assert_eq!(findings[0].severity, Severity::Warning);
    }

    #[test]
    fn sha1_and_md5_signatures_are_weak_sha256_is_not() {
        for weak in [certgen::weak_sha1_rsa(), certgen::weak_md5_rsa()] {
            let findings = only(&run(vec![my(&weak)]), WEAK_SIGNATURE);
            assert_eq!(findings.len(), 1, "{}", weak.subject_cn);
            assert_eq!(findings[0].severity, Severity::Warning);
            assert_eq!(findings[0].subject, weak.thumbprint);
            assert!(findings[0].message.contains(&weak.subject_cn));
        }
        let strong = certgen::self_signed(&CertSpec::new("hv01")).unwrap();
        assert!(run(vec![my(&strong)]).is_empty());
    }

    #[test]
    fn rsa_1024_is_a_weak_key_rsa_2048_and_ecdsa_are_not() {
        let weak = certgen::weak_rsa1024();
        let findings = only(&run(vec![my(&weak)]), WEAK_KEY);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].subject, weak.thumbprint);
        assert!(
            findings[0].message.contains("1024-bit"),
            "{}",
            findings[0].message
        );
        // weak_sha1_rsa is RSA-2048: weak signature, strong key.
        assert!(only(&run(vec![my(&certgen::weak_sha1_rsa())]), WEAK_KEY).is_empty());
        let ec = expiring_in(TimeDelta::days(300));
        assert!(run(vec![my(&ec)]).is_empty());
    }

    #[test]
    fn a_certificate_listed_twice_fires_once() {
        let cert = expiring_in(-TimeDelta::days(1));
        assert_eq!(run(vec![my(&cert), my(&cert)]).len(), 1);
    }

    #[test]
    fn certificates_never_collected_yield_nothing() {
        let h = host(7, "hv01.ams-01.example.net", &[]);
        assert!(evaluate(&stamp(), &h, now()).is_empty());
    }
}
