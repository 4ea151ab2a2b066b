//! Remote Console rules about one host's side of the chain: Hyper-V hosts must hold and trust
//! the VMConnect Hyper-V certificate, RD Gateways the gateway one, and the RD Gateway must be
//! set up for federated (VMM token) authorisation behind a public certificate.

use std::collections::BTreeSet;

use serde_json::json;
use stampbook_wire::{MY_STORE, ROOT_STORE, Role, thumbprint_key};

use crate::facts::x509::ParsedCertificate;
use crate::rules::describe::{cert_evidence, cert_name, host_finding, store_is};
use crate::rules::model::{Finding, HostCert, HostFacts, Severity, StampContext};

use super::public_cert::rdgw_public_cert;
use super::{
    CERT_NOT_DEPLOYED, FED_AUTH_PLUGIN, FED_AUTHENTICATION_PLUGIN, FED_AUTHORIZATION_PLUGIN,
    HOST_TRUSTED_ISSUER, RDGW_PLUGIN, RDGW_TRUSTED_ISSUER, ROOT_UNTRUSTED, RemoteConsoleContext,
    VMMS_RESTART_NEEDED, VmConnectCert,
};

/// All host-level `remote_console.*` findings for one host.
pub fn evaluate_host(
    ctx: &StampContext,
    rc: &RemoteConsoleContext,
    host: &HostFacts,
) -> Vec<Finding> {
    // What this host must hold and trust: Hyper-V hosts the Hyper-V certificate, RD Gateways
    // the gateway one (often the same certificate; then one finding, not two).
    let mut needed: Vec<&VmConnectCert> = Vec::new();
    if host.has_role(Role::HypervHost) {
        needed.extend(&rc.hyperv);
    }
    if host.has_role(Role::RdGateway) {
        needed.extend(&rc.gateway);
    }
    let mut findings = Vec::new();
    let mut subjects = BTreeSet::new();
    for vc in needed {
        for f in [not_deployed(host, vc), root_untrusted(host, vc)]
            .into_iter()
            .flatten()
        {
            if subjects.insert((f.rule, f.subject.clone())) {
                findings.push(f);
            }
        }
    }
    if host.has_role(Role::HypervHost)
        && let Some(vc) = &rc.hyperv
    {
        findings.extend(vmms_restart(host, vc));
        findings.extend(host_trusted_issuer(host, vc));
    }
    if host.has_role(Role::RdGateway) {
        if let Some(vc) = &rc.gateway {
            findings.extend(rdgw_trusted_issuer(host, vc));
        }
        findings.extend(rdgw_plugins(host));
        findings.extend(rdgw_public_cert(ctx, host));
    }
    findings
}

/// The host's entries of `store`; `None` when certificates were not collected.
fn store<'a>(host: &'a HostFacts, name: &'a str) -> Option<impl Iterator<Item = &'a HostCert>> {
    let certs = host.certificates.as_ref()?;
    Some(certs.iter().filter(move |c| store_is(&c.store, name)))
}

fn find_in<'a>(
    host: &'a HostFacts,
    name: &'a str,
    thumbprint: &str,
) -> Option<Option<&'a HostCert>> {
    let key = thumbprint_key(thumbprint);
    Some(store(host, name)?.find(|c| thumbprint_key(&c.cert.thumbprint) == key))
}

fn not_deployed(host: &HostFacts, vc: &VmConnectCert) -> Option<Finding> {
    if find_in(host, MY_STORE, &vc.thumbprint)?.is_some() {
        return None;
    }
    let message = format!(
        "{}: the {} that VMM ({}) signs Remote Console tokens with is not in LocalMachine\\My; \
         import it there on {}",
        host.fqdn,
        vc.name(),
        vc.reported_by.1,
        host.fqdn
    );
    let evidence = json!({"vmconnect": vc.evidence(), "store": MY_STORE});
    Some(host_finding(
        CERT_NOT_DEPLOYED,
        Severity::Critical,
        host,
        &vc.thumbprint,
        message,
        evidence,
    ))
}

/// `the root "CA" (thumbprint …) of the VMConnect … certificate "…"`, or the certificate itself
/// when it is its own root.
fn root_phrase(vc: &VmConnectCert, root: &ParsedCertificate) -> String {
    if root.thumbprint == vc.thumbprint {
        format!("the self-signed {}", vc.name())
    } else {
        format!("the root {} of the {}", cert_name(root), vc.name())
    }
}

fn root_untrusted(host: &HostFacts, vc: &VmConnectCert) -> Option<Finding> {
    let cert = vc.cert.as_ref()?;
    let (subject, what) = match &vc.root {
        Some(root) => {
            if find_in(host, ROOT_STORE, &root.thumbprint)?.is_some() {
                return None;
            }
            (root.thumbprint.clone(), root_phrase(vc, root))
        }
        // The issuer is in no Root store of the stamp: this host cannot trust it either (as
        // long as its Root store was collected at all).
        None => {
            host.certificates.as_ref()?;
            (
                cert.issuer.clone(),
                format!(
                    "{}, the issuer of the {} (found in no Root store of the stamp),",
                    cert.issuer,
                    vc.name()
                ),
            )
        }
    };
    let message = format!(
        "{}: {what} is not in LocalMachine\\Root, so the host does not trust VMM's Remote \
         Console tokens; import it into LocalMachine\\Root on {}{}",
        host.fqdn,
        host.fqdn,
        if host.has_role(Role::HypervHost) {
            ", then restart vmms"
        } else {
            ""
        }
    );
    let evidence = json!({"vmconnect": vc.evidence(), "store": ROOT_STORE});
    Some(host_finding(
        ROOT_UNTRUSTED,
        Severity::Critical,
        host,
        subject,
        message,
        evidence,
    ))
}

fn vmms_restart(host: &HostFacts, vc: &VmConnectCert) -> Option<Finding> {
    let root = vc.root.as_ref()?;
    // Absent from Root is root_untrusted's business; unknown start time is no evidence.
    let entry = find_in(host, ROOT_STORE, &root.thumbprint)??;
    // Without AddedAt, the first report showing the root is the best date there is; but when that
    // is the host's very first report the root may have been there for years: no evidence.
    if entry.added_at.is_none()
        && entry.first_seen_at <= host.first_seen_at + chrono::Duration::minutes(1)
    {
        return None;
    }
    let appeared = entry.added_at.unwrap_or(entry.first_seen_at);
    let vmms = host
        .services
        .as_ref()?
        .iter()
        .find(|s| s.name.trim().eq_ignore_ascii_case("vmms"))?;
    let started = vmms.started_at?;
    if started >= appeared {
        return None;
    }
    let message = format!(
        "{}: restart vmms on {} (Restart-Service vmms): it started at {} UTC, before {} \
         appeared in LocalMachine\\Root at {} UTC{}, so it does not trust VMM's Remote Console \
         tokens yet",
        host.fqdn,
        host.fqdn,
        started.format("%Y-%m-%d %H:%M"),
        root_phrase(vc, root),
        appeared.format("%Y-%m-%d %H:%M"),
        match (entry.added_at.is_some(), entry.added_at_upper_bound) {
            (true, false) => "",
            (true, true) => {
                " (its registry key's last write time: an upper bound, it may have been there \
                 earlier)"
            }
            (false, _) => " (first report showing it)",
        }
    );
    let evidence = json!({
        "vmms": {"state": vmms.state, "started_at": started},
        "root": cert_evidence(root),
        "root_added_at": entry.added_at,
        "root_added_at_is_upper_bound": entry.added_at.is_some() && entry.added_at_upper_bound,
        "root_first_seen_at": entry.first_seen_at,
        "vmconnect": vc.evidence(),
    });
    Some(host_finding(
        VMMS_RESTART_NEEDED,
        Severity::Critical,
        host,
        "vmms",
        message,
        evidence,
    ))
}

/// Whether an `AllowedHashAlgorithms` entry means SHA-256: a name in any usual spelling
/// (`SHA256`, `sha-256`, `SHA_256`, `SHA2-256`, `CALG_SHA_256`) or the CryptoAPI algorithm id
/// `CALG_SHA_256` as a number (32780 / 0x800C).
pub fn is_sha256(entry: &str) -> bool {
    let compact: String = entry
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    matches!(
        compact.as_str(),
        "SHA256" | "SHA2256" | "CALGSHA256" | "32780" | "0X800C" | "800C"
    )
}

/// Thumbprint lists may be hand-maintained: `;`/`,`/line separated in one entry.
fn lists(entries: &[String], vc: &VmConnectCert) -> bool {
    entries
        .iter()
        .flat_map(|e| e.split([';', ',', '\n', '\r']))
        .any(|t| vc.is(t))
}

fn host_trusted_issuer(host: &HostFacts, vc: &VmConnectCert) -> Option<Finding> {
    let ts = host.settings.hyperv_terminal_service.as_ref()?;
    let mut problems = Vec::new();
    if !lists(&ts.trusted_issuer_certificate_hashes, vc) {
        problems.push(format!(
            "TrustedIssuerCertificateHashes ({}) lacks {}",
            shown(&ts.trusted_issuer_certificate_hashes),
            vc.thumbprint
        ));
    }
    if !ts.allowed_hash_algorithms.is_empty()
        && !ts.allowed_hash_algorithms.iter().any(|a| is_sha256(a))
    {
        problems.push(format!(
            "AllowedHashAlgorithms ({}) does not allow SHA256",
            shown(&ts.allowed_hash_algorithms)
        ));
    }
    if problems.is_empty() {
        return None;
    }
    let message = format!(
        "{}: Hyper-V will refuse Remote Console tokens signed by the {}: {}; fix \
         Msvm_TerminalServiceSettingData on {}",
        host.fqdn,
        vc.name(),
        problems.join(" and "),
        host.fqdn
    );
    let evidence = json!({"hyperv_terminal_service": ts, "vmconnect": vc.evidence()});
    Some(host_finding(
        HOST_TRUSTED_ISSUER,
        Severity::Critical,
        host,
        &vc.thumbprint,
        message,
        evidence,
    ))
}

fn shown(entries: &[String]) -> String {
    if entries.is_empty() {
        "empty".to_owned()
    } else {
        entries.join(", ")
    }
}

fn rdgw_trusted_issuer(host: &HostFacts, vc: &VmConnectCert) -> Option<Finding> {
    let rd = host.settings.rd_gateway.as_ref()?;
    // FedAuthSettings not collected: nothing to judge
    let trusted = rd.trusted_issuer_certificates.as_deref()?;
    if lists(trusted, vc) {
        return None;
    }
    let message = format!(
        "{}: the RD Gateway's FedAuthSettings TrustedIssuerCertificates ({}) lacks the {}; set \
         it to {} so the gateway accepts VMM's Remote Console tokens",
        host.fqdn,
        shown(trusted),
        vc.name(),
        vc.thumbprint
    );
    let evidence = json!({"rd_gateway": rd, "vmconnect": vc.evidence()});
    Some(host_finding(
        RDGW_TRUSTED_ISSUER,
        Severity::Critical,
        host,
        &vc.thumbprint,
        message,
        evidence,
    ))
}

fn rdgw_plugins(host: &HostFacts) -> Vec<Finding> {
    let Some(rd) = host.settings.rd_gateway.as_ref() else {
        return Vec::new();
    };
    [
        (
            "authentication_plugin",
            "AuthenticationPluginName",
            &rd.authentication_plugin,
            FED_AUTHENTICATION_PLUGIN,
        ),
        (
            "authorization_plugin",
            "AuthorizationPluginName",
            &rd.authorization_plugin,
            FED_AUTHORIZATION_PLUGIN,
        ),
    ]
    .into_iter()
    .filter_map(|(subject, setting, value, installed_name)| {
        // Not reported is not evidence (tsgateway.json may be missing from a capture).
        let value = value.as_deref()?.trim();
        // VMM's documentation and the Console Connect installer name the plugin differently;
        // both are correct (SPEC §5)
        if value.eq_ignore_ascii_case(FED_AUTH_PLUGIN) || value.eq_ignore_ascii_case(installed_name)
        {
            return None;
        }
        let message = format!(
            "{}: RD Gateway {setting} is \"{value}\", not the Console Connect plugin \
             ({installed_name}, or {FED_AUTH_PLUGIN} as VMM's documentation names it), so Remote \
             Console tokens from VMM are not honoured; set it in Win32_TSGatewayServerSettings",
            host.fqdn
        );
        Some(host_finding(
            RDGW_PLUGIN,
            Severity::Critical,
            host,
            subject,
            message,
            json!({"rd_gateway": rd}),
        ))
    })
    .collect()
}
