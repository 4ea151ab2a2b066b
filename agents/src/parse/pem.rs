//! Certificate files on Linux (PEM bundles or raw DER) into DER bytes, and the DER sanity
//! check shared with the Windows store exports.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::ParseError;

/// What one certificate file holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertFile {
    /// Each certificate's DER, in file order.
    pub certificates: Vec<Vec<u8>>,
    /// The file also holds a private key (a combined PEM), the nearest Linux analogue of a
    /// Windows certificate "with a private key".
    pub has_private_key: bool,
}

/// Reads a PEM file (any number of `CERTIFICATE` blocks, other blocks skipped) or a DER file.
/// A PEM file with no certificate block (a lone key, a CRL) yields no certificates.
pub fn parse_certificate_file(bytes: &[u8]) -> Result<CertFile, ParseError> {
    if bytes.first() == Some(&0x30) {
        check_der(bytes).map_err(ParseError::Unrecognised)?;
        return Ok(CertFile {
            certificates: vec![bytes.to_vec()],
            has_private_key: false,
        });
    }
    let text = String::from_utf8_lossy(bytes);
    if !text.contains("-----BEGIN ") {
        return Err(ParseError::Unrecognised(
            "neither PEM (no -----BEGIN line) nor DER (no leading SEQUENCE)".into(),
        ));
    }
    let mut out = CertFile::default();
    let mut block: Option<(String, usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            block = Some((label.to_owned(), n + 1, String::new()));
        } else if let Some(label) = line
            .strip_prefix("-----END ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            let Some((begun, start, body)) = block.take() else {
                return Err(ParseError::Layout {
                    line: n + 1,
                    reason: format!("END {label} without BEGIN"),
                });
            };
            if begun != label {
                return Err(ParseError::Layout {
                    line: n + 1,
                    reason: format!("BEGIN {begun} ended by END {label}"),
                });
            }
            if label.contains("PRIVATE KEY") {
                out.has_private_key = true;
            }
            // OpenSSL's "TRUSTED CERTIFICATE" appends trust settings after the DER; the
            // length check below would refuse it, so only plain certificates are taken.
            if label == "CERTIFICATE" || label == "X509 CERTIFICATE" {
                let der = STANDARD.decode(&body).map_err(|e| ParseError::Layout {
                    line: start,
                    reason: format!("certificate is not base64: {e}"),
                })?;
                check_der(&der).map_err(|reason| ParseError::Layout {
                    line: start,
                    reason,
                })?;
                out.certificates.push(der);
            }
        } else if let Some((_, _, body)) = block.as_mut() {
            // Encapsulated headers (`Proc-Type: ...`) of old encrypted keys are not base64.
            if !line.contains(':') {
                body.push_str(line);
            }
        }
    }
    if let Some((label, start, _)) = block {
        return Err(ParseError::Layout {
            line: start,
            reason: format!("BEGIN {label} is never ended"),
        });
    }
    Ok(out)
}

/// Checks that `der` is one complete DER SEQUENCE (what every X.509 certificate is), so a
/// truncated or mis-decoded blob is caught at the edge instead of at the server.
pub fn check_der(der: &[u8]) -> Result<(), String> {
    let Some((&tag, rest)) = der.split_first() else {
        return Err("empty DER".into());
    };
    if tag != 0x30 {
        return Err(format!(
            "DER does not start with a SEQUENCE (tag {tag:#04x})"
        ));
    }
    let Some((&first, rest)) = rest.split_first() else {
        return Err("DER ends before its length".into());
    };
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("DER has an invalid length".into());
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if len != rest.len() {
        return Err(format!(
            "DER length says {len} bytes but {} follow (truncated or padded)",
            rest.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_bundle_with_a_key_gives_every_certificate_and_notes_the_key() {
        let pem = "junk before\n-----BEGIN CERTIFICATE-----\nMAIF\nAA==\n-----END CERTIFICATE-----\n\
                   -----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\
                   -----BEGIN CERTIFICATE-----\r\nMAIFAA==\r\n-----END CERTIFICATE-----\r\n";
        let file = parse_certificate_file(pem.as_bytes()).unwrap();
        assert_eq!(file.certificates, vec![vec![0x30, 2, 5, 0]; 2]);
        assert!(file.has_private_key);
    }

    #[test]
    fn der_files_are_taken_whole_and_garbage_is_refused() {
        let der = [0x30, 0x81, 0x02, 0x05, 0x00];
        assert_eq!(
            parse_certificate_file(&der).unwrap().certificates,
            vec![der.to_vec()]
        );
        assert!(parse_certificate_file(&der[..4]).is_err());
        assert!(parse_certificate_file(b"hello").is_err());
        assert!(parse_certificate_file(b"-----BEGIN CERTIFICATE-----\nMAIFAA==\n").is_err());
        assert!(
            parse_certificate_file(b"-----BEGIN X509 CRL-----\nAA==\n-----END X509 CRL-----\n")
                .unwrap()
                .certificates
                .is_empty()
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_certificate_file(&bytes);
            let _ = check_der(&bytes);
        }
    }
}
