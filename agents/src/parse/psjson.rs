//! Reading PowerShell `ConvertTo-Json` output: one object where an array was meant, both date
//! forms (5.1's `"\/Date(ms)\/"`, 7's ISO 8601), enum numbers, case-insensitive keys.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use super::{ParseError, text};

/// Parses a capture that holds a list. `ConvertTo-Json` writes a lone object for a pipeline
/// of one item and nothing at all for an empty pipeline: both are normalised here, as is
/// Windows PowerShell 5.1's `{"value":[...],"Count":n}` wrapper (see [`unwrap_array`]).
pub fn parse_list(text: &str) -> Result<Vec<Value>, ParseError> {
    if text::is_blank(text) {
        return Ok(Vec::new());
    }
    Ok(match into_unwrapped(parse_value(text)?) {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    })
}

/// Whether a capture is the JSON literal `null`: the script's way of saying "collected, the
/// host does not have it" (as opposed to a blank file, an empty pipeline).
pub fn is_null(text: &str) -> bool {
    text.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}') == "null"
}

/// Windows PowerShell 5.1 attaches an ETS `Count` property to `System.Array`, and
/// `ConvertTo-Json` then writes such an array (a nested one, or one passed with
/// `-InputObject`) as `{"value":[...],"Count":n}` (PowerShell/PowerShell#3153, #5579). An
/// object with exactly those two keys is that array.
pub fn unwrap_array(v: &Value) -> &Value {
    match v {
        Value::Object(o) if is_array_wrapper(o) => o
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("value"))
            .map_or(v, |(_, inner)| inner),
        _ => v,
    }
}

fn into_unwrapped(v: Value) -> Value {
    match v {
        Value::Object(mut o) if is_array_wrapper(&o) => {
            let key = o.keys().find(|k| k.eq_ignore_ascii_case("value")).cloned();
            key.and_then(|k| o.remove(&k)).unwrap_or(Value::Null)
        }
        other => other,
    }
}

fn is_array_wrapper(o: &Map<String, Value>) -> bool {
    o.len() == 2
        && o.iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("value") && v.is_array())
        && o.iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("count") && v.is_number())
}

/// Parses a capture that holds one object (a settings instance). An array (several WMI
/// instances) yields its first object; blank text or `null` yields `None`.
pub fn parse_object(text: &str) -> Result<Option<Map<String, Value>>, ParseError> {
    match parse_list(text)?.into_iter().next() {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(ParseError::Unrecognised(format!(
            "expected a JSON object, found {}",
            kind(&other)
        ))),
    }
}

fn parse_value(text: &str) -> Result<Value, ParseError> {
    Ok(serde_json::from_str(text.trim_start_matches('\u{FEFF}'))?)
}

/// The item of a list as an object, or an error naming the item.
pub fn as_object(value: &Value, index: usize) -> Result<&Map<String, Value>, ParseError> {
    value.as_object().ok_or_else(|| {
        ParseError::Unrecognised(format!(
            "{}expected a JSON object, found {}",
            super::item(index),
            kind(value)
        ))
    })
}

/// Looks a key up exactly, then case-insensitively (PowerShell property names are
/// case-insensitive, and hand-made captures are not always careful). `null` counts as absent.
pub fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key)
        .or_else(|| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .map(unwrap_array)
        .filter(|v| !v.is_null())
}

/// The first of `keys` that is present: a property under its class name, then the older
/// names earlier captures used.
pub fn get_any<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<(&'a Value, usize)> {
    keys.iter()
        .enumerate()
        .find_map(|(i, k)| get(obj, k).map(|v| (v, i)))
}

/// A string property; numbers and booleans are accepted in their JSON spelling because WMI
/// and hand-written files are loose about it. Empty strings count as absent.
pub fn get_str(
    obj: &Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<Option<String>, ParseError> {
    match get(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
        Some(v) => Err(ParseError::invalid(
            ctx,
            key,
            format!("expected a string, found {}", kind(v)),
        )),
    }
}

/// A required string property.
pub fn req_str(obj: &Map<String, Value>, key: &str, ctx: &str) -> Result<String, ParseError> {
    get_str(obj, key, ctx)?.ok_or_else(|| ParseError::missing(ctx, key))
}

/// A non-negative integer property: a JSON number (whole doubles such as `16384.0` from
/// `[math]::Round` included) or a numeric string (WMI's UInt64 sometimes arrives as one).
pub fn get_u64(obj: &Map<String, Value>, key: &str, ctx: &str) -> Result<Option<u64>, ParseError> {
    let Some(v) = get(obj, key) else {
        return Ok(None);
    };
    let bad = |why: &str| ParseError::invalid(ctx, key, format!("{why}, found {v}"));
    match v {
        Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => Ok(Some(u)),
            (None, Some(f)) if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 => {
                Ok(Some(f as u64))
            }
            _ => Err(bad("expected a non-negative whole number")),
        },
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad("expected a number")),
        _ => Err(bad("expected a number")),
    }
}

/// Like [`get_u64`] for fields that must fit 32 bits (metrics, core counts).
pub fn get_u32(obj: &Map<String, Value>, key: &str, ctx: &str) -> Result<Option<u32>, ParseError> {
    get_u64(obj, key, ctx)?
        .map(|n| {
            u32::try_from(n).map_err(|_| ParseError::invalid(ctx, key, format!("{n} is too large")))
        })
        .transpose()
}

/// A boolean property; PowerShell writes `true`, but strings `"True"` and 0/1 occur in
/// hand-made or WMI-derived captures.
pub fn get_bool(
    obj: &Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<Option<bool>, ParseError> {
    match get(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(Some(false)),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(v) => Err(ParseError::invalid(
            ctx,
            key,
            format!("expected true or false, found {v}"),
        )),
    }
}

/// A string-or-array property as a list of strings (numbers kept in their JSON spelling).
/// PowerShell collapses one-element arrays in some paths, so both shapes are normal.
pub fn get_strings(
    obj: &Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<Vec<String>, ParseError> {
    let items: Vec<&Value> = match get(obj, key) {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v) => vec![v],
    };
    let mut out = Vec::new();
    for v in items {
        match v {
            Value::Null => {}
            Value::String(s) if s.trim().is_empty() => {}
            Value::String(s) => out.push(s.trim().to_owned()),
            Value::Number(_) | Value::Bool(_) => out.push(v.to_string()),
            _ => {
                return Err(ParseError::invalid(
                    ctx,
                    key,
                    format!("expected strings, found {}", kind(v)),
                ));
            }
        }
    }
    Ok(out)
}

/// A date property in either PowerShell form. `DateTime.MinValue` (what 5.1 writes for
/// "never", e.g. a stopped service's start time) is read as absent.
pub fn get_date(
    obj: &Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<Option<DateTime<Utc>>, ParseError> {
    let raw = match get(obj, key) {
        None => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.as_str(),
        // 5.1 serialises a DateTime that carries extended properties (Get-Date's output) as
        // {"value": "\/Date(...)\/", "DisplayHint": 2, "DateTime": "..."}.
        Some(Value::Object(o)) => match get(o, "value") {
            Some(Value::String(s)) => s.as_str(),
            _ => return Err(ParseError::invalid(ctx, key, "date object without a value")),
        },
        Some(v) => {
            return Err(ParseError::invalid(
                ctx,
                key,
                format!("expected a date, found {}", kind(v)),
            ));
        }
    };
    let date = parse_date(raw).map_err(|reason| ParseError::invalid(ctx, key, reason))?;
    Ok(Some(date).filter(|d| d.timestamp() > MIN_VALUE_SECONDS))
}

/// `DateTime.MinValue` (0001-01-01) as Unix seconds, and anything within a day of it (a
/// local-time MinValue shifted by the zone).
const MIN_VALUE_SECONDS: i64 = -62_135_596_800 + 86_400;

/// Parses `\/Date(1708596000000)\/`, `/Date(1708596000000+0100)/` or ISO 8601 (with or
/// without offset and fraction; without an offset the time is taken as UTC, which is what
/// PowerShell 7 writes for a UTC DateTime whose Kind was lost).
pub fn parse_date(raw: &str) -> Result<DateTime<Utc>, String> {
    let s = raw.trim();
    if let Some(inner) = s
        .strip_prefix("\\/Date(")
        .or_else(|| s.strip_prefix("/Date("))
        .and_then(|r| r.strip_suffix(")\\/").or_else(|| r.strip_suffix(")/")))
    {
        // The milliseconds are UTC; the optional +hhmm only says which zone the value was
        // displayed in, so it does not move the instant.
        let digits_end = inner
            .char_indices()
            .find(|&(i, c)| i > 0 && (c == '+' || c == '-'))
            .map_or(inner.len(), |(i, _)| i);
        let (ms, offset) = inner.split_at(digits_end);
        let ms: i64 = ms
            .parse()
            .map_err(|_| format!("bad milliseconds in {raw:?}"))?;
        if !offset.is_empty()
            && (offset.len() != 5 || !offset[1..].bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!("bad offset in {raw:?}"));
        }
        return Utc
            .timestamp_millis_opt(ms)
            .single()
            .ok_or_else(|| format!("date out of range: {raw:?}"));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|n| n.and_utc())
        .map_err(|_| format!("not a PowerShell date: {raw:?}"))
}

/// A service status as PowerShell's `ServiceControllerStatus` number or name, as the
/// lower-case snake_case word the wire format uses.
pub fn service_state(v: &Value) -> Result<String, String> {
    const NAMES: [(u64, &str, &str); 7] = [
        (1, "Stopped", "stopped"),
        (2, "StartPending", "start_pending"),
        (3, "StopPending", "stop_pending"),
        (4, "Running", "running"),
        (5, "ContinuePending", "continue_pending"),
        (6, "PausePending", "pause_pending"),
        (7, "Paused", "paused"),
    ];
    let found = match v {
        Value::Number(n) => NAMES.iter().find(|(num, _, _)| Some(*num) == n.as_u64()),
        Value::String(s) => {
            let s = s.trim();
            let squashed: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            NAMES.iter().find(|(num, name, _)| {
                name.eq_ignore_ascii_case(&squashed) || s.parse::<u64>().ok() == Some(*num)
            })
        }
        _ => None,
    };
    found
        .map(|(_, _, word)| (*word).to_owned())
        .ok_or_else(|| format!("unknown service status {v}"))
}

/// A short description of a JSON value's shape for error messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn both_powershell_date_forms_give_the_same_instant() {
        let want = Utc.with_ymd_and_hms(2024, 2, 22, 10, 0, 0).unwrap();
        for raw in [
            "\\/Date(1708596000000)\\/",
            "/Date(1708596000000)/",
            "\\/Date(1708596000000+0100)\\/",
            "2024-02-22T10:00:00Z",
            "2024-02-22T11:00:00+01:00",
            "2024-02-22T10:00:00.0000000Z",
            "2024-02-22T10:00:00",
        ] {
            assert_eq!(parse_date(raw), Ok(want), "{raw}");
        }
        assert_eq!(
            parse_date("\\/Date(-1000)\\/"),
            Ok(Utc.with_ymd_and_hms(1969, 12, 31, 23, 59, 59).unwrap())
        );
        assert!(parse_date("yesterday").is_err());
        assert!(parse_date("\\/Date(12x)\\/").is_err());
    }

    #[test]
    fn min_value_and_date_objects_are_understood() {
        let obj = json!({"a": "\\/Date(-62135596800000)\\/",
                         "b": {"value": "\\/Date(1708596000000)\\/", "DisplayHint": 2}});
        let obj = obj.as_object().unwrap();
        assert_eq!(get_date(obj, "a", "").unwrap(), None);
        assert_eq!(
            get_date(obj, "B", "").unwrap().unwrap().timestamp(),
            1_708_596_000
        );
    }

    #[test]
    fn service_status_numbers_and_names_map_to_words() {
        assert_eq!(service_state(&json!(4)).unwrap(), "running");
        assert_eq!(service_state(&json!(1)).unwrap(), "stopped");
        assert_eq!(
            service_state(&json!("StartPending")).unwrap(),
            "start_pending"
        );
        assert_eq!(service_state(&json!("paused")).unwrap(), "paused");
        assert!(service_state(&json!(9)).is_err());
    }

    #[test]
    fn lists_objects_and_keys_are_normalised() {
        assert!(parse_list(" \r\n").unwrap().is_empty());
        assert_eq!(parse_list("{\"A\":1}").unwrap().len(), 1);
        assert_eq!(parse_list("[{\"A\":1},{\"A\":2}]").unwrap().len(), 2);
        let obj = parse_object("[{\"MemoryMB\":16384.0, \"X\": \"7\"}]")
            .unwrap()
            .unwrap();
        assert_eq!(get_u64(&obj, "memorymb", "").unwrap(), Some(16384));
        assert_eq!(get_u32(&obj, "x", "").unwrap(), Some(7));
        assert!(parse_object("[1]").is_err());
        assert!(parse_object("").unwrap().is_none());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = parse_list(&s);
            let _ = parse_object(&s);
            let _ = parse_date(&s);
            let _ = service_state(&Value::String(s));
        }
    }
}
