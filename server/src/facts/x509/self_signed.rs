//! Whether a certificate signed itself: the same name on both sides and its own key's signature.

use x509_parser::prelude::*;

use super::{KeyAlgorithm, SignatureHash};

/// See [`super::ParsedCertificate::self_signed`].
pub(super) fn is_self_signed(
    cert: &X509Certificate<'_>,
    key_algorithm: &KeyAlgorithm,
    hash: Option<SignatureHash>,
    key_bits: Option<u32>,
) -> bool {
    if cert.issuer().as_raw() != cert.subject().as_raw() {
        return false;
    }
    match cert.verify_signature(None) {
        Ok(()) => true,
        Err(X509Error::SignatureUnsupportedAlgorithm) => key_identifiers_agree(cert),
        // ring refuses RSA keys outside its size limits before looking at the signature,
        // which says nothing about who signed.
        Err(_) if *key_algorithm == KeyAlgorithm::Rsa && !ring_accepts_rsa(hash, key_bits) => {
            key_identifiers_agree(cert)
        }
        Err(_) => false,
    }
}

/// ring verifies RSA PKCS#1 SHA-1 signatures from 1024 to 8192 bits, all others from 2048.
fn ring_accepts_rsa(hash: Option<SignatureHash>, key_bits: Option<u32>) -> bool {
    let min = if hash == Some(SignatureHash::Sha1) {
        1024
    } else {
        2048
    };
    key_bits.is_some_and(|bits| (min..=8192).contains(&bits))
}

/// The weaker test for a certificate whose signature cannot be checked: an Authority Key
/// Identifier naming a different key than the Subject Key Identifier means another key
/// signed it. Unreadable identifiers do not make a certificate self-signed.
fn key_identifiers_agree(cert: &X509Certificate<'_>) -> bool {
    let ski = match cert.get_extension_unique(&oid_registry::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER) {
        Ok(None) => None,
        Ok(Some(ext)) => match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
            _ => return false,
        },
        Err(_) => return false,
    };
    let aki = match cert.get_extension_unique(&oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER)
    {
        Ok(None) => None,
        Ok(Some(ext)) => match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|id| id.0)
            }
            _ => return false,
        },
        Err(_) => return false,
    };
    match (aki, ski) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use stampbook_agent::certgen::{self, CertSpec};

    use super::*;

    fn key_ids_of(cert: &certgen::GeneratedCert) -> bool {
        let (_, parsed) = X509Certificate::from_der(&cert.der).unwrap();
        key_identifiers_agree(&parsed)
    }

    #[test]
    fn key_identifiers_disagree_when_another_key_signed() {
        let root = certgen::self_signed(&CertSpec::ca("Same Name")).unwrap();
        // A CA certificate has both identifiers: its own SKI and the root's as AKI.
        let cross = certgen::issued_by(
            &CertSpec {
                key: certgen::KeyKind::EcdsaP256,
                ..CertSpec::ca("Same Name")
            },
            &root,
        )
        .unwrap();
        assert!(key_ids_of(&root), "SKI without AKI");
        assert!(!key_ids_of(&cross), "AKI names the root's key, SKI its own");
    }
}
