//! Certificate store exports (`cert-my.json`, `cert-root.json`, `cert-vmm.json`) into wire
//! certificates carrying canonical base64 DER, which the server parses itself.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};
use stampbook_wire::{Certificate, normalize_thumbprint};

use super::{ParseError, item, pem, psjson};

/// Parses a store export (`Thumbprint, Subject, NotAfter, HasPrivateKey, RawData`, optional
/// `AddedAt` and `Provider`) into certificates of `store`. An empty file is an empty store.
///
/// `RawData` is base64 (`[Convert]::ToBase64String`) or, when a script let PowerShell
/// serialise the `byte[]` itself, an array of numbers. When a `Thumbprint` is given it must be
/// the SHA-1 of that DER: a mismatch means a truncated or mangled export, which would otherwise
/// reach the server as a different certificate.
pub fn parse_certificates(text: &str, store: &str) -> Result<Vec<Certificate>, ParseError> {
    let mut out = Vec::new();
    for (index, value) in psjson::parse_list(text)?.iter().enumerate() {
        let obj = psjson::as_object(value, index)?;
        let ctx = match psjson::get_str(obj, "Subject", "")? {
            Some(subject) => format!("{}{subject}: ", item(index)),
            None => item(index),
        };
        let der = raw_data(obj, &ctx)?;
        if let Some(given) = psjson::get_str(obj, "Thumbprint", &ctx)? {
            let actual = hex::encode_upper(Sha1::digest(&der));
            if normalize_thumbprint(&given).as_deref() != Some(actual.as_str()) {
                return Err(ParseError::invalid(
                    &ctx,
                    "Thumbprint",
                    format!(
                        "{given} is not the SHA-1 of RawData ({actual}): the export is damaged"
                    ),
                ));
            }
        }
        // Parsed for validation only: a garbled expiry hints at a hand-edited file.
        psjson::get_date(obj, "NotAfter", &ctx)?;
        out.push(Certificate {
            store: store.to_owned(),
            der: STANDARD.encode(&der),
            has_private_key: psjson::get_bool(obj, "HasPrivateKey", &ctx)?.unwrap_or(false),
            provider: psjson::get_str(obj, "Provider", &ctx)?,
            added_at: psjson::get_date(obj, "AddedAt", &ctx)?,
            added_at_source: added_at_source(obj, &ctx)?,
        });
    }
    Ok(out)
}

/// Where `AddedAt` came from. Windows keeps no "added" time; the capture script reads the last
/// write time of the certificate's registry key (`RegistryKeyLastWrite`), which is only an upper
/// bound: anything that rewrites the key (a friendly name, a property) moves it later. It is sent
/// as `registry_last_write` so that the server treats it as such, not as fact.
fn added_at_source(obj: &Map<String, Value>, ctx: &str) -> Result<Option<String>, ParseError> {
    Ok(psjson::get_str(obj, "AddedAtSource", ctx)?.map(|s| {
        if s.eq_ignore_ascii_case("RegistryKeyLastWrite") {
            stampbook_wire::ADDED_AT_REGISTRY_LAST_WRITE.to_owned()
        } else {
            s
        }
    }))
}

fn raw_data(obj: &Map<String, Value>, ctx: &str) -> Result<Vec<u8>, ParseError> {
    const KEY: &str = "RawData";
    let bytes = match psjson::get(obj, KEY) {
        None => return Err(ParseError::missing(ctx, KEY)),
        Some(Value::String(s)) => {
            // Line-wrapped base64 (certutil, hand copies) is still base64.
            let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            STANDARD
                .decode(compact)
                .map_err(|e| ParseError::invalid(ctx, KEY, format!("not base64: {e}")))?
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| {
                ParseError::invalid(ctx, KEY, "byte array holds something other than 0..=255")
            })?,
        Some(v) => {
            return Err(ParseError::invalid(
                ctx,
                KEY,
                format!("expected base64 or a byte array, found {}", psjson::kind(v)),
            ));
        }
    };
    pem::check_der(&bytes).map_err(|reason| ParseError::invalid(ctx, KEY, reason))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The smallest DER a certificate-shaped check accepts: an empty SEQUENCE with content.
    const TINY_DER: [u8; 4] = [0x30, 0x02, 0x05, 0x00];

    #[test]
    fn byte_arrays_and_wrapped_base64_both_give_canonical_base64() {
        let text = r#"[{"RawData":[48,2,5,0],"HasPrivateKey":"True","Provider":"P"},
                       {"RawData":"MAIF\nAA==","AddedAt":"2024-02-22T10:00:00Z"}]"#;
        let certs = parse_certificates(text, "VMM").unwrap();
        assert_eq!(certs[0].der, STANDARD.encode(TINY_DER));
        assert_eq!(certs[1].der, certs[0].der);
        assert!(certs[0].has_private_key);
        assert_eq!(certs[0].provider.as_deref(), Some("P"));
        assert_eq!(certs[1].added_at.unwrap().timestamp(), 1_708_596_000);
        assert_eq!(certs[1].store, "VMM");
    }

    #[test]
    fn damaged_exports_are_refused_with_the_subject() {
        for (text, want) in [
            (r#"{"Subject":"CN=x","RawData":"!!"}"#, "not base64"),
            (r#"{"Subject":"CN=x","RawData":"AAAA"}"#, "DER"),
            (
                r#"{"Subject":"CN=x","RawData":[48,2,5,0],"Thumbprint":"AB"}"#,
                "damaged",
            ),
            (r#"{"Subject":"CN=x"}"#, "missing RawData"),
        ] {
            let err = parse_certificates(text, "LocalMachine\\My")
                .unwrap_err()
                .to_string();
            assert!(err.contains("CN=x") && err.contains(want), "{err}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = parse_certificates(&s, "LocalMachine\\My");
        }
    }
}
