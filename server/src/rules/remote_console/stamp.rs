//! Remote Console rules about the VMConnect certificates themselves (stamp-wide; the finding's
//! host is the VMM server that reports the certificate): Key Usage, EKU, key provider.

use std::collections::BTreeSet;

use serde_json::json;

use crate::facts::x509::{CLIENT_AUTH_EKU, KeyUsageFlag, ParsedCertificate, SERVER_AUTH_EKU};
use crate::rules::model::{Finding, Severity};

use super::{
    CERT_EKU, CERT_KEY_USAGE, CERT_PROVIDER, REQUIRED_PROVIDER, RemoteConsoleContext, VmConnectCert,
};

/// The stamp-wide `remote_console.*` findings. A certificate serving as both the gateway and
/// the Hyper-V one is judged once (Hyper-V named first).
pub fn evaluate_stamp(rc: &RemoteConsoleContext) -> Vec<Finding> {
    let mut seen = BTreeSet::new();
    let mut findings = Vec::new();
    for vc in rc.certificates() {
        if !seen.insert(vc.thumbprint.clone()) {
            continue;
        }
        let Some(cert) = vc.cert.as_deref() else {
            // Not found in any store: cert_not_deployed names it on every host that needs it.
            continue;
        };
        let uses = roles(rc, vc);
        findings.extend(key_usage(vc, cert, &uses));
        findings.extend(eku(vc, cert, &uses));
        findings.extend(provider(vc, &uses));
    }
    findings
}

/// `VMConnect Hyper-V and gateway certificate "…" (thumbprint …)` when shared.
fn roles(rc: &RemoteConsoleContext, vc: &VmConnectCert) -> String {
    let shared = rc
        .certificates()
        .filter(|o| o.thumbprint == vc.thumbprint)
        .count()
        > 1;
    if shared {
        vc.name().replacen(
            "VMConnect Hyper-V certificate",
            "VMConnect Hyper-V and gateway certificate",
            1,
        )
    } else {
        vc.name()
    }
}

fn finding(rule: &'static str, severity: Severity, vc: &VmConnectCert, message: String) -> Finding {
    Finding {
        rule,
        severity,
        host_id: Some(vc.reported_by.0),
        plan_id: None,
        subject: vc.thumbprint.clone(),
        message,
        evidence: json!({"vmconnect": vc.evidence()}),
    }
}

fn key_usage(vc: &VmConnectCert, cert: &ParsedCertificate, name: &str) -> Option<Finding> {
    let has = match &cert.key_usage {
        None => "has no Key Usage extension".to_owned(),
        Some(_) if cert.has_key_usage(KeyUsageFlag::DigitalSignature) => return None,
        Some(flags) => format!(
            "has Key Usage {} without digitalSignature",
            flags
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let message = format!(
        "The {name}, reported by VMM on {}, {has}: Remote Console tokens cannot be signed with \
         it; issue a new certificate with Key Usage digitalSignature and set it in VMM",
        vc.reported_by.1
    );
    Some(finding(CERT_KEY_USAGE, Severity::Critical, vc, message))
}

fn eku_name(oid: &str) -> String {
    match oid {
        CLIENT_AUTH_EKU => "Client Authentication".to_owned(),
        SERVER_AUTH_EKU => "Server Authentication".to_owned(),
        crate::facts::x509::ANY_EKU => "anyExtendedKeyUsage".to_owned(),
        other => other.to_owned(),
    }
}

/// No EKU extension fires too: the SPEC says the EKU must list Client Authentication, and
/// anyExtendedKeyUsage alone does not list it.
fn eku(vc: &VmConnectCert, cert: &ParsedCertificate, name: &str) -> Option<Finding> {
    if cert.has_eku(CLIENT_AUTH_EKU) {
        return None;
    }
    let has = match &cert.eku {
        None => "has no Enhanced Key Usage extension".to_owned(),
        Some(oids) => format!(
            "has Enhanced Key Usage {} without Client Authentication",
            oids.iter()
                .map(|o| eku_name(o))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let message = format!(
        "The {name}, reported by VMM on {}, {has} ({CLIENT_AUTH_EKU}); issue a new certificate \
         with EKU Client Authentication and set it in VMM",
        vc.reported_by.1
    );
    Some(finding(CERT_EKU, Severity::Critical, vc, message))
}

/// A provider that was not reported is not judged.
fn provider(vc: &VmConnectCert, name: &str) -> Option<Finding> {
    let provider = vc.provider.as_deref()?.trim();
    if provider.eq_ignore_ascii_case(REQUIRED_PROVIDER) {
        return None;
    }
    let message = format!(
        "The {name}: VMM on {} keeps its key in \"{provider}\", which cannot sign with SHA-256; \
         re-import the PFX with certutil -csp \"{REQUIRED_PROVIDER}\" -importpfx and set it in \
         VMM again",
        vc.reported_by.1
    );
    Some(finding(CERT_PROVIDER, Severity::Warning, vc, message))
}
