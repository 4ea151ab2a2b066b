//! NUL characters (U+0000) in a report: PostgreSQL text and jsonb cannot hold them, so a report
//! carrying one anywhere is refused at the edge with the field that holds it (422), instead of
//! failing in the database with a 500 (a service name, a setting, a quarantined or late
//! report's kept payload).

use serde_json::Value;

use crate::error::ApiError;

/// The escape that JSON uses for NUL (a raw NUL byte is not valid JSON at all).
const ESCAPED_NUL: &[u8] = b"\\u0000";

/// Refuses a JSON body with a NUL in any string or key, naming where (`services[0].name`).
pub fn check(body: &[u8]) -> Result<(), ApiError> {
    if !body.windows(ESCAPED_NUL.len()).any(|w| w == ESCAPED_NUL) {
        return Ok(());
    }
    // rare: find where (an escaped backslash followed by "u0000" is a false alarm)
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Ok(());
    };
    match find(&value, String::new()) {
        Some(field) => Err(refusal(field)),
        None => Ok(()),
    }
}

/// The 422 for a NUL at `field`.
pub fn refusal(field: String) -> ApiError {
    ApiError::invalid(
        "invalid_text",
        "a text value contains a NUL character (U+0000), which cannot be stored",
        field,
    )
}

/// The path of the first string or key holding a NUL.
pub fn find(v: &Value, at: String) -> Option<String> {
    match v {
        Value::String(s) => s.contains('\0').then_some(at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find(item, format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if k.contains('\0') {
                return Some(here.replace('\0', "\\u0000"));
            }
            find(item, here)
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field_holding_a_nul() {
        let body = br#"{"services": [{"name": "a"}, {"name": "b\u0000"}]}"#;
        let err = check(body).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("services[1].name"));
        assert_eq!(err.status.as_u16(), 422);
        assert!(check(br#"{"a": "escaped backslash \\u0000 is text"}"#).is_ok());
        assert!(check(br#"{"a": "fine"}"#).is_ok());
    }
}
