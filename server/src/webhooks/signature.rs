//! Two signatures on every delivery, both HMAC-SHA256 over the exact body bytes:
//! - the Standard Webhooks scheme (<https://www.standardwebhooks.com/>): headers `webhook-id` (the
//!   event id, the same on every retry), `webhook-timestamp` (Unix seconds of this attempt) and
//!   `webhook-signature: v1,<base64>` over `{id}.{timestamp}.{body}`, keyed with the secret's
//!   base64 part after `whsec_` (any standard receiver library verifies it with the secret as is);
//! - `X-Stampbook-Signature: sha256=<hex>` over the body alone, keyed with the secret's bytes, for
//!   receivers written against earlier versions.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub const HEADER: &str = "X-Stampbook-Signature";
const PREFIX: &str = "sha256=";

/// HMAC takes keys of any length, so this is `None` only if the hmac crate ever changes that.
fn mac(secret: &str, body: &[u8]) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(body);
    Some(mac)
}

/// The header value for `body` signed with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> Option<String> {
    Some(format!(
        "{PREFIX}{}",
        hex::encode(mac(secret, body)?.finalize().into_bytes())
    ))
}

/// The Standard Webhooks key of `secret`: the bytes its `whsec_` base64 part stands for; a
/// secret that is not of that form (chosen by an operator) is used as its own bytes, and its
/// receivers give their library `whsec_` + base64 of it.
fn standard_key(secret: &str) -> Vec<u8> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    secret
        .strip_prefix(super::store::SECRET_PREFIX)
        .and_then(|b| {
            STANDARD
                .decode(b)
                .or_else(|_| URL_SAFE_NO_PAD.decode(b))
                .ok()
        })
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The `webhook-signature` value of `body` sent as message `id` at `timestamp` (Unix seconds).
pub fn standard_sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    use base64::Engine;
    let mut mac = HmacSha256::new_from_slice(&standard_key(secret)).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Does `header` carry the signature of `body` with `secret`? (What a receiver does.)
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(tag) = header.trim().strip_prefix(PREFIX) else {
        return false;
    };
    let Ok(tag) = hex::decode(tag) else {
        return false;
    };
    mac(secret, body).is_some_and(|m| m.verify_slice(&tag).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_signature_matches_the_specification_example() {
        // the example of the Standard Webhooks specification ("Verifying webhooks")
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            standard_sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let s = sign("whsec_test", b"{\"event\":\"problem.opened\"}").unwrap();
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert!(verify("whsec_test", b"{\"event\":\"problem.opened\"}", &s));
        assert!(!verify(
            "whsec_test",
            b"{\"event\":\"problem.resolved\"}",
            &s
        ));
        assert!(!verify("other", b"{\"event\":\"problem.opened\"}", &s));
        assert!(!verify("whsec_test", b"x", "md5=00"));
    }

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?").unwrap(),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
