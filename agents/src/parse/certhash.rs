//! A certificate hash as WMI hands it over (`uint8[]` properties such as
//! `Win32_TSGatewayServerSettings.CertHash`): a JSON array of byte values, or a string a script
//! or an operator already converted (base64 or hex), into the uppercase hex thumbprint.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::psjson;

/// The SHA-1 thumbprint length in bytes.
const SHA1_LEN: usize = 20;

/// `None` for an empty hash (no certificate bound); an error names what is wrong.
pub fn thumbprint(v: &Value) -> Result<Option<String>, String> {
    let bytes = match psjson::unwrap_array(v) {
        Value::Null => return Ok(None),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect::<Option<Vec<u8>>>()
            .ok_or("byte array holds something other than 0..=255")?,
        Value::String(s) => from_text(s)?,
        other => {
            return Err(format!(
                "expected a byte array, base64 or hex, found {}",
                psjson::kind(other)
            ));
        }
    };
    match bytes.len() {
        0 => Ok(None),
        SHA1_LEN => Ok(Some(hex::encode_upper(bytes))),
        n => Err(format!("{n} bytes is not a SHA-1 hash ({SHA1_LEN} bytes)")),
    }
}

/// Hex (40 digits, spaces or colons allowed, as copied from a dialog) first, since 40 hex digits
/// are also valid base64 of another length; then base64 (28 characters for 20 bytes).
fn from_text(s: &str) -> Result<Vec<u8>, String> {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':' && *c != '-' && *c != '\u{200E}')
        .collect();
    if compact.is_empty() {
        return Ok(Vec::new());
    }
    if compact.len() == 2 * SHA1_LEN && compact.chars().all(|c| c.is_ascii_hexdigit()) {
        return hex::decode(&compact).map_err(|e| format!("not hex: {e}"));
    }
    STANDARD
        .decode(&compact)
        .map_err(|_| format!("{s:?} is neither 40 hex digits nor base64"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const HEX: &str = "F587AA347E86BA5E2B5728654659B1B2901CAD7A";

    #[test]
    fn bytes_base64_and_hex_give_one_thumbprint() {
        let bytes: Vec<u8> = hex::decode(HEX).unwrap();
        for v in [
            json!(bytes),
            json!({"value": bytes, "Count": 20}),
            json!("9YeqNH6Gul4rVyhlRlmxspAcrXo="),
            json!("f5 87 aa 34 7e 86 ba 5e 2b 57 28 65 46 59 b1 b2 90 1c ad 7a"),
        ] {
            assert_eq!(thumbprint(&v).unwrap().as_deref(), Some(HEX), "{v}");
        }
    }

    #[test]
    fn empty_hashes_are_no_certificate_and_wrong_lengths_are_refused() {
        assert_eq!(thumbprint(&json!([])).unwrap(), None);
        assert_eq!(thumbprint(&json!("")).unwrap(), None);
        assert!(
            thumbprint(&json!([1, 2, 3]))
                .unwrap_err()
                .contains("3 bytes")
        );
        assert!(thumbprint(&json!([256])).is_err());
        assert!(thumbprint(&json!(true)).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_strings_and_bytes_never_panic(s in "\\PC*", b in proptest::collection::vec(0u16..300, 0..40)) {
            let _ = thumbprint(&json!(s));
            let _ = thumbprint(&json!(b));
        }
    }
}
