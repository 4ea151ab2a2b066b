//! `remote_console.rdgw_public_cert`: the certificate tenants' RDP clients are served by the
//! RD Gateway must be publicly trusted and carry the stamp's public gateway name.

use serde_json::{Value, json};
use stampbook_wire::{MY_STORE, thumbprint_key};

use crate::facts::x509::{ParsedCertificate, SERVER_AUTH_EKU};
use crate::rules::describe::{cert_evidence, cert_name, host_finding, store_is};
use crate::rules::model::{Finding, HostFacts, Severity, StampContext};

use super::RDGW_PUBLIC_CERT;

/// The RD Gateway's SSL certificate: the one its settings name, looked up in `My`; when the
/// settings name none, the `My` certificate with a private key a client would most likely be
/// served (matching the public name, then not self-signed, then fit for server
/// authentication, then the latest expiry).
fn ssl_certificate<'a>(ctx: &StampContext, host: &'a HostFacts) -> SslCertificate<'a> {
    let Some(certs) = &host.certificates else {
        return SslCertificate::Unknown;
    };
    let mut my = certs.iter().filter(|c| store_is(&c.store, MY_STORE));
    let named = host
        .settings
        .rd_gateway
        .as_ref()
        .and_then(|rd| rd.ssl_certificate_thumbprint.as_deref())
        .filter(|t| !thumbprint_key(t).is_empty());
    if let Some(thumbprint) = named {
        // Bound to a certificate that is not in My: nothing to judge its name by.
        let key = thumbprint_key(thumbprint);
        return my
            .find(|c| thumbprint_key(&c.cert.thumbprint) == key)
            .map_or(SslCertificate::Unknown, |c| SslCertificate::Named(&c.cert));
    }
    let fqdn = ctx.rd_gateway_fqdn.as_deref().unwrap_or_default();
    my.filter(|c| c.has_private_key)
        .map(|c| c.cert.as_ref())
        .max_by_key(|c| {
            (
                c.matches_dns_name(fqdn),
                !c.self_signed,
                c.eku.is_none() || c.has_eku(SERVER_AUTH_EKU),
                c.not_after,
            )
        })
        .map_or(SslCertificate::NoneWithKey, SslCertificate::BestCandidate)
}

enum SslCertificate<'a> {
    /// Certificates not collected, or the named one is not in `My`: nothing to judge.
    Unknown,
    /// `My` holds no certificate with a private key: the gateway has nothing to serve.
    NoneWithKey,
    /// The one `ssl_certificate_thumbprint` names.
    Named(&'a ParsedCertificate),
    /// No thumbprint reported: the best `My` candidate; if it fails, every candidate does.
    BestCandidate(&'a ParsedCertificate),
}

pub(super) fn rdgw_public_cert(ctx: &StampContext, host: &HostFacts) -> Option<Finding> {
    let fqdn = ctx.rd_gateway_fqdn.as_deref();
    let (cert, named) = match ssl_certificate(ctx, host) {
        SslCertificate::Named(cert) => (cert, true),
        SslCertificate::BestCandidate(cert) => (cert, false),
        SslCertificate::Unknown => return None,
        SslCertificate::NoneWithKey => {
            let name = fqdn.unwrap_or("the stamp's public RD Gateway name");
            let message = format!(
                "{}: RD Gateway has no certificate with a private key in LocalMachine\\My to \
                 serve {name}; install a publicly trusted certificate for {name}",
                host.fqdn
            );
            let subject = fqdn.unwrap_or("ssl_certificate");
            return Some(host_finding(
                RDGW_PUBLIC_CERT,
                Severity::Warning,
                host,
                subject,
                message,
                json!({"rd_gateway_fqdn": fqdn, "certificate": Value::Null}),
            ));
        }
    };
    let mut problems = Vec::new();
    if cert.self_signed {
        problems.push(
            "is self-signed (tenants' browsers and RDP clients will not trust it)".to_owned(),
        );
    }
    if let Some(fqdn) = fqdn
        && !cert.matches_dns_name(fqdn)
    {
        let names: Vec<&str> = cert
            .subject_cn
            .iter()
            .chain(&cert.san_dns)
            .map(String::as_str)
            .collect();
        problems.push(format!(
            "does not name {fqdn} (CN/SAN: {})",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ));
    }
    if problems.is_empty() {
        return None;
    }
    let which = if named {
        format!("the RD Gateway's SSL certificate {}", cert_name(cert))
    } else {
        format!(
            "no certificate with a private key in LocalMachine\\My is fit to be the RD Gateway's \
             SSL certificate (it reports no thumbprint): the best candidate {}",
            cert_name(cert)
        )
    };
    let message = format!(
        "{}: {which} {}; bind a publicly trusted certificate for {}",
        host.fqdn,
        problems.join(" and "),
        fqdn.unwrap_or("the stamp's public RD Gateway name")
    );
    let evidence = json!({
        "rd_gateway_fqdn": fqdn,
        "ssl_certificate_thumbprint": host.settings.rd_gateway.as_ref()
            .and_then(|rd| rd.ssl_certificate_thumbprint.as_deref()),
        "certificate": cert_evidence(cert),
        "inferred": !named,
    });
    Some(host_finding(
        RDGW_PUBLIC_CERT,
        Severity::Warning,
        host,
        &cert.thumbprint,
        message,
        evidence,
    ))
}
