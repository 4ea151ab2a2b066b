//! The stamp's VMConnect certificates, resolved once per evaluation from what every host of the
//! stamp reported: thumbprints from VMM's settings, the certificates by thumbprint from any
//! store, the key provider from the `VMM` pseudo-store, and the root from the Root stores.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use stampbook_wire::{VMM_STORE, VmmSettings, thumbprint_key};

use crate::facts::x509::ParsedCertificate;
use crate::rules::describe::{cert_evidence, store_is};
use crate::rules::model::HostCert;

/// What the engine gathers for [`context`].
#[derive(Debug, Clone, Default)]
pub struct RemoteConsoleInputs {
    /// `(host_id, fqdn, settings)` of every host of the stamp that reported VMM settings.
    pub vmm: Vec<(i64, String, VmmSettings)>,
    /// Every store entry, on any host of the stamp, of a certificate whose thumbprint is a
    /// VMConnect thumbprint (the `VMM` pseudo-store included).
    pub sightings: Vec<(i64, String, HostCert)>,
    /// The certificates found in any host's `LocalMachine\Root` of the stamp.
    pub root_candidates: Vec<Arc<ParsedCertificate>>,
}

/// Which of VMM's two VMConnect settings a certificate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VmConnectRole {
    /// `VMConnectGatewayCertificateThumbprint`: what the RD Gateway trusts.
    Gateway,
    /// `VMConnectHyperVCertificateThumbprint`: what Hyper-V hosts trust.
    Hyperv,
}

impl VmConnectRole {
    pub fn label(self) -> &'static str {
        match self {
            VmConnectRole::Gateway => "gateway",
            VmConnectRole::Hyperv => "Hyper-V",
        }
    }
}

/// One VMConnect certificate as the stamp knows it.
#[derive(Debug, Clone)]
pub struct VmConnectCert {
    pub role: VmConnectRole,
    /// Normalised ([`thumbprint_key`]).
    pub thumbprint: String,
    /// The VMM host whose setting is used (the finding's host for stamp-wide rules).
    pub reported_by: (i64, String),
    /// Every VMM host's value, when they disagree; empty when they agree.
    pub disagreement: Vec<(i64, String, String)>,
    /// The certificate, found by thumbprint in any store of any host of the stamp.
    pub cert: Option<Arc<ParsedCertificate>>,
    /// The key's provider as the `VMM` pseudo-store reports it.
    pub provider: Option<String>,
    /// The certificate itself when self-signed, else its issuer among the stamp's Root stores.
    pub root: Option<Arc<ParsedCertificate>>,
}

impl VmConnectCert {
    /// `VMConnect Hyper-V certificate "Remote Console Connect" (thumbprint 90D0…)`.
    pub fn name(&self) -> String {
        let what = format!("VMConnect {} certificate", self.role.label());
        match &self.cert {
            Some(cert) => format!("{what} {}", crate::rules::describe::cert_name(cert)),
            None => format!("{what} (thumbprint {})", self.thumbprint),
        }
    }

    /// Whether `raw` (as pasted into some setting) names this certificate.
    pub fn is(&self, raw: &str) -> bool {
        thumbprint_key(raw) == self.thumbprint
    }

    pub fn evidence(&self) -> Value {
        json!({
            "role": self.role,
            "thumbprint": self.thumbprint,
            "reported_by": {"host_id": self.reported_by.0, "fqdn": self.reported_by.1},
            "vmm_disagreement": self.disagreement.iter().map(|(id, fqdn, t)| json!({
                "host_id": id, "fqdn": fqdn, "thumbprint": t,
            })).collect::<Vec<_>>(),
            "certificate": self.cert.as_deref().map(cert_evidence),
            "provider": self.provider,
            "root": self.root.as_deref().map(cert_evidence),
        })
    }
}

/// The stamp's two VMConnect certificates; `None` where no VMM host reported the setting.
#[derive(Debug, Clone, Default)]
pub struct RemoteConsoleContext {
    pub gateway: Option<VmConnectCert>,
    pub hyperv: Option<VmConnectCert>,
}

impl RemoteConsoleContext {
    /// Both certificates, Hyper-V first.
    pub fn certificates(&self) -> impl Iterator<Item = &VmConnectCert> {
        self.hyperv.iter().chain(&self.gateway)
    }
}

/// Resolve the stamp's VMConnect certificates from what its hosts reported.
pub fn context(inputs: &RemoteConsoleInputs) -> RemoteConsoleContext {
    RemoteConsoleContext {
        gateway: resolve(inputs, VmConnectRole::Gateway),
        hyperv: resolve(inputs, VmConnectRole::Hyperv),
    }
}

fn resolve(inputs: &RemoteConsoleInputs, role: VmConnectRole) -> Option<VmConnectCert> {
    let mut reports: Vec<(i64, String, String)> = inputs
        .vmm
        .iter()
        .filter_map(|(id, fqdn, settings)| {
            let raw = match role {
                VmConnectRole::Gateway => &settings.vmconnect_gateway_certificate_thumbprint,
                VmConnectRole::Hyperv => &settings.vmconnect_hyperv_certificate_thumbprint,
            };
            let key = thumbprint_key(raw.as_deref()?);
            (!key.is_empty()).then(|| (*id, fqdn.clone(), key))
        })
        .collect();
    reports.sort_by_key(|(id, _, _)| *id);
    // Several VMM servers (an HA pair) should agree; when they do not, the value most of them
    // report wins, ties to the lowest host id, and the evidence lists them all.
    let chosen = reports
        .iter()
        .max_by_key(|(id, _, key)| {
            let votes = reports.iter().filter(|(_, _, k)| k == key).count();
            (votes, std::cmp::Reverse(*id))
        })?
        .clone();
    let disagreement = if reports.iter().all(|(_, _, k)| *k == chosen.2) {
        Vec::new()
    } else {
        reports.clone()
    };
    let (host_id, fqdn, thumbprint) = chosen;
    let sightings: Vec<&(i64, String, HostCert)> = inputs
        .sightings
        .iter()
        .filter(|(_, _, c)| thumbprint_key(&c.cert.thumbprint) == thumbprint)
        .collect();
    let cert = sightings.first().map(|(_, _, c)| Arc::clone(&c.cert));
    let provider = sightings
        .iter()
        .filter(|(_, _, c)| store_is(&c.store, VMM_STORE) && c.provider.is_some())
        .min_by_key(|(id, _, _)| *id != host_id)
        .and_then(|(_, _, c)| c.provider.clone());
    let root = cert
        .as_ref()
        .and_then(|c| root_of(c, &inputs.root_candidates));
    Some(VmConnectCert {
        role,
        thumbprint,
        reported_by: (host_id, fqdn),
        disagreement,
        cert,
        provider,
        root,
    })
}

/// Itself when self-signed, else the issuer by subject among Root certificates, preferring a
/// self-signed one (a cross-signed copy of the same name may sit in Root too).
fn root_of(
    cert: &Arc<ParsedCertificate>,
    candidates: &[Arc<ParsedCertificate>],
) -> Option<Arc<ParsedCertificate>> {
    if cert.self_signed {
        return Some(Arc::clone(cert));
    }
    candidates
        .iter()
        .filter(|c| c.subject == cert.issuer)
        .max_by_key(|c| c.self_signed)
        .cloned()
}
