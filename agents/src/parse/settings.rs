//! Role settings captures: Hyper-V terminal service settings, RD Gateway federation and server
//! settings, VMM's VMConnect settings, and component versions.
//!
//! Thumbprints are kept as written (spaces, U+200E and all): the server normalises them, and
//! keeping the raw form lets the NOC see what an operator actually pasted.

use stampbook_wire::{Component, HypervTerminalService, RdGatewaySettings, VmmSettings};

use super::{ParseError, certhash, item, psjson};

/// `msvm-tssettings.json`: `{TrustedIssuerCertificateHashes[], AllowedHashAlgorithms[]}`.
/// Algorithms may be numbers or names; they are kept as strings. Blank text is `None`.
pub fn parse_ts_settings(text: &str) -> Result<Option<HypervTerminalService>, ParseError> {
    let Some(obj) = psjson::parse_object(text)? else {
        return Ok(None);
    };
    Ok(Some(HypervTerminalService {
        trusted_issuer_certificate_hashes: split_thumbprints(&psjson::get_strings(
            &obj,
            "TrustedIssuerCertificateHashes",
            "",
        )?),
        allowed_hash_algorithms: psjson::get_strings(&obj, "AllowedHashAlgorithms", "")?,
    }))
}

/// `fedauth.json`: `{TrustedIssuerCertificates}` as a string or an array. Blank text (the
/// WMI class has no instance) is an empty list: collected, nothing trusted.
pub fn parse_fedauth(text: &str) -> Result<Vec<String>, ParseError> {
    let Some(obj) = psjson::parse_object(text)? else {
        return Ok(Vec::new());
    };
    Ok(split_thumbprints(&psjson::get_strings(
        &obj,
        "TrustedIssuerCertificates",
        "",
    )?))
}

/// `tsgateway.json`: `Win32_TSGatewayServerSettings` as the class names its properties
/// (`AuthenticationPluginName`, `AuthorizationPluginName`, `CertHash`), or the older capture
/// keys (`AuthenticationPlugin`, `AuthorizationPlugin` as VMM's how-to spells them,
/// `SslCertificateThumbprint`). Plugin names are passed through as written: the installer's
/// `FedAuthAuthenticationPlugin` / `FedAuthAuthorizationPlugin` and the documentation's
/// `FedAuthorizationPlugin` are all judged by the server. The trusted issuers come from
/// `fedauth.json`; see [`merge_rd_gateway`].
pub fn parse_tsgateway(text: &str) -> Result<Option<RdGatewaySettings>, ParseError> {
    let Some(obj) = psjson::parse_object(text)? else {
        return Ok(None);
    };
    let plugin = |keys: &[&str]| match psjson::get_any(&obj, keys) {
        Some((_, i)) => psjson::get_str(&obj, keys[i], ""),
        None => Ok(None),
    };
    Ok(Some(RdGatewaySettings {
        trusted_issuer_certificates: None,
        authentication_plugin: plugin(&["AuthenticationPluginName", "AuthenticationPlugin"])?,
        authorization_plugin: plugin(&["AuthorizationPluginName", "AuthorizationPlugin"])?,
        ssl_certificate_thumbprint: match psjson::get(&obj, "CertHash") {
            Some(v) => {
                certhash::thumbprint(v).map_err(|r| ParseError::invalid("", "CertHash", r))?
            }
            None => psjson::get_str(&obj, "SslCertificateThumbprint", "")?,
        },
    }))
}

/// The RD Gateway settings from its two sources; `None` when neither was collected.
pub fn merge_rd_gateway(
    fedauth: Option<Vec<String>>,
    tsgateway: Option<RdGatewaySettings>,
) -> Option<RdGatewaySettings> {
    if fedauth.is_none() && tsgateway.is_none() {
        return None;
    }
    let mut merged = tsgateway.unwrap_or_default();
    merged.trusted_issuer_certificates = fedauth;
    Some(merged)
}

/// `vmm.json`: `{VMConnectGatewayCertificateThumbprint, VMConnectHyperVCertificateThumbprint,
/// VMConnectHostIdentificationMode, VMConnectTimeToLiveInMinutes}`. Blank text is `None`.
pub fn parse_vmm(text: &str) -> Result<Option<VmmSettings>, ParseError> {
    let Some(obj) = psjson::parse_object(text)? else {
        return Ok(None);
    };
    Ok(Some(VmmSettings {
        vmconnect_gateway_certificate_thumbprint: psjson::get_str(
            &obj,
            "VMConnectGatewayCertificateThumbprint",
            "",
        )?,
        vmconnect_hyperv_certificate_thumbprint: psjson::get_str(
            &obj,
            "VMConnectHyperVCertificateThumbprint",
            "",
        )?,
        // The capture script writes the enum's name; a bare number (an unconverted enum) is
        // kept as its digits rather than guessed into a name.
        host_identification_mode: psjson::get_str(&obj, "VMConnectHostIdentificationMode", "")?,
        vmconnect_ttl_minutes: psjson::get_u32(&obj, "VMConnectTimeToLiveInMinutes", "")?,
    }))
}

/// `components.json`: `[{Name, Version}]`.
pub fn parse_components(text: &str) -> Result<Vec<Component>, ParseError> {
    let mut out = Vec::new();
    for (index, value) in psjson::parse_list(text)?.iter().enumerate() {
        let obj = psjson::as_object(value, index)?;
        let ctx = item(index);
        out.push(Component {
            name: psjson::req_str(obj, "Name", &ctx)?,
            version: psjson::req_str(obj, "Version", &ctx)?,
        });
    }
    Ok(out)
}

/// Splits hand-maintained thumbprint lists on `;`, `,` and line breaks. Spaces alone do not
/// split, because a thumbprint copied from the certificate dialog has a space between every
/// hex pair; only when every space-separated word is itself thumbprint-sized are they taken as
/// several thumbprints.
pub fn split_thumbprints(values: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for value in values {
        for piece in value.split([';', ',', '\n', '\r']) {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            let words: Vec<&str> = piece.split_whitespace().collect();
            let hex_len = |w: &str| w.chars().filter(char::is_ascii_hexdigit).count();
            if words.len() > 1 && words.iter().all(|w| hex_len(w) >= 40) {
                out.extend(words.into_iter().map(str::to_owned));
            } else {
                out.push(piece.to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const A: &str = "90D0A19F51A0EA8B4D9925D6A956485C8D06F805";
    const B: &str = "901050FAEE38FB93047BFD563064B282BF9F7B7B";

    fn ts_only() -> Option<RdGatewaySettings> {
        parse_tsgateway(r#"{"AuthenticationPlugin":"FedAuthorizationPlugin"}"#).unwrap()
    }

    #[test]
    fn thumbprint_lists_split_on_separators_but_not_on_pasted_spaces() {
        let pasted = "\u{200e}90 d0 a1 9f 51 a0 ea 8b 4d 99 25 d6 a9 56 48 5c 8d 06 f8 05";
        let cases: [(&str, Vec<&str>); 5] = [
            (A, vec![A]),
            (&format!("{A};{B}"), vec![A, B]),
            (&format!("{A}, {B}\r\n"), vec![A, B]),
            (&format!("{A} {B}"), vec![A, B]),
            (pasted, vec![pasted]),
        ];
        for (input, want) in cases {
            assert_eq!(split_thumbprints(&[input.to_owned()]), want, "{input:?}");
        }
    }

    #[test]
    fn vmm_settings_read_names_numbers_and_strings() {
        let text = r#"{"VMConnectGatewayCertificateThumbprint":"AB","VMConnectHyperVCertificateThumbprint":null,
                      "VMConnectHostIdentificationMode":"FQDN","VMConnectTimeToLiveInMinutes":"2"}"#;
        let vmm = parse_vmm(text).unwrap().unwrap();
        assert_eq!(
            vmm.vmconnect_gateway_certificate_thumbprint.as_deref(),
            Some("AB")
        );
        assert_eq!(vmm.vmconnect_hyperv_certificate_thumbprint, None);
        assert_eq!(vmm.host_identification_mode.as_deref(), Some("FQDN"));
        assert_eq!(vmm.vmconnect_ttl_minutes, Some(2));
        assert_eq!(parse_vmm("").unwrap(), None);
    }

    #[test]
    fn rd_gateway_merges_its_two_sources() {
        let ts = parse_tsgateway(
            r#"{"AuthenticationPlugin":"FedAuthorizationPlugin","SslCertificateThumbprint":"CD"}"#,
        )
        .unwrap();
        let merged = merge_rd_gateway(Some(vec![A.into()]), ts).unwrap();
        assert_eq!(merged.trusted_issuer_certificates, Some(vec![A.to_owned()]));
        assert_eq!(
            merged.authentication_plugin.as_deref(),
            Some("FedAuthorizationPlugin")
        );
        assert_eq!(merged.authorization_plugin, None);
        assert_eq!(merge_rd_gateway(None, None), None);
        assert_eq!(
            merge_rd_gateway(Some(vec![]), None)
                .unwrap()
                .trusted_issuer_certificates,
            Some(vec![]),
            "collected, none"
        );
        // FedAuthSettings not collected: the trusted issuers are unknown, not empty
        assert_eq!(
            merge_rd_gateway(None, ts_only())
                .unwrap()
                .trusted_issuer_certificates,
            None
        );
    }

    #[test]
    fn algorithms_may_be_numbers_and_components_need_both_fields() {
        let ts = parse_ts_settings(
            r#"{"TrustedIssuerCertificateHashes":"AB","AllowedHashAlgorithms":[3,"SHA256"]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(ts.allowed_hash_algorithms, vec!["3", "SHA256"]);
        assert_eq!(ts.trusted_issuer_certificate_hashes, vec!["AB"]);
        assert!(parse_components(r#"[{"Name":"vmm_server"}]"#).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = parse_ts_settings(&s);
            let _ = parse_fedauth(&s);
            let _ = parse_tsgateway(&s);
            let _ = parse_vmm(&s);
            let _ = parse_components(&s);
            let _ = split_thumbprints(&[s]);
        }
    }
}
