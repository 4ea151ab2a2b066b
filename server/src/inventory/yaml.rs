//! YAML inventory documents read safely (issue 13): a document is scanned before it is parsed,
//! so an alias bomb (a few kB that expand to gigabytes) and pathological nesting are refused
//! in microseconds; then it is read into YAML values first, so that a plain `true` or `12`
//! where a name belongs is refused with its field instead of becoming the stamp `true`.

use actix_web::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest YAML document accepted (an inventory of hundreds of stamps is well under it).
pub const MAX_BYTES: usize = 1024 * 1024;
/// The deepest nesting accepted (block indentation and flow brackets together); the inventory
/// document itself needs 5.
pub const MAX_DEPTH: usize = 32;

fn refuse(code: &'static str, message: String) -> ApiError {
    ApiError::invalid(code, message, "")
}

/// What the scan refuses: too large (413), anchors and aliases (422), too deep (422).
pub fn scan(doc: &[u8]) -> Result<(), ApiError> {
    if doc.len() > MAX_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "yaml_too_large",
            format!("a YAML inventory document is at most {MAX_BYTES} bytes"),
        ));
    }
    let text = String::from_utf8_lossy(doc);
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut quote: Option<char> = None;
    // a literal or folded block scalar: lines indented deeper than this are text
    let mut block: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        if let Some(parent) = block {
            if rest.trim().is_empty() || indent > parent {
                continue;
            }
            block = None;
        }
        let mut dashes = 0;
        if quote.is_none() && flow == 0 && !rest.is_empty() && !rest.starts_with('#') {
            while indents.last().is_some_and(|top| *top >= indent) {
                indents.pop();
            }
            indents.push(indent);
            let mut r = rest;
            while let Some(after) = r.strip_prefix("- ") {
                dashes += 1;
                r = after.trim_start_matches(' ');
            }
        }
        let mut last: Option<char> = None;
        let mut chars = rest.chars().peekable();
        let mut tail = String::new();
        while let Some(c) = chars.next() {
            match quote {
                Some('"') => match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => quote = None,
                    _ => {}
                },
                Some(_) => {
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            quote = None;
                        }
                    }
                }
                None => {
                    let token_start =
                        matches!(last, None | Some(':' | '-' | '[' | '{' | ',' | '?'));
                    match c {
                        '#' if last.is_none() || tail.ends_with(' ') => break,
                        '"' | '\'' if token_start => quote = Some(c),
                        '&' | '*' if token_start => {
                            return Err(refuse(
                                "yaml_alias",
                                format!(
                                    "line {}: YAML anchors and aliases are not accepted in an inventory document; write each value out",
                                    n + 1
                                ),
                            ));
                        }
                        '[' | '{' => flow += 1,
                        ']' | '}' => flow = flow.saturating_sub(1),
                        _ => {}
                    }
                    if !c.is_whitespace() {
                        last = Some(c);
                    }
                    tail.push(c);
                }
            }
            if indents.len() + dashes + flow > MAX_DEPTH {
                return Err(refuse(
                    "yaml_too_deep",
                    format!(
                        "line {}: the document nests deeper than {MAX_DEPTH} levels",
                        n + 1
                    ),
                ));
            }
        }
        let t = tail.trim_end();
        let indicator = t.trim_end_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
        if quote.is_none()
            && (indicator.ends_with(": |")
                || indicator.ends_with(": >")
                || indicator == "|"
                || indicator == ">"
                || indicator.ends_with("- |")
                || indicator.ends_with("- >"))
        {
            block = Some(indent);
        }
    }
    Ok(())
}

/// A YAML mapping into `T`, after the scan; a value of the wrong YAML type (a boolean or a
/// number where text belongs) is refused with its field (400).
pub fn parse<T: DeserializeOwned>(doc: &[u8]) -> Result<T, ApiError> {
    scan(doc)?;
    let malformed = |field: String, message: String| {
        ApiError::malformed(format!(
            "the inventory document is not valid YAML here: {message}"
        ))
        .with_field(if field == "." { String::new() } else { field })
    };
    let value: serde_yaml::Value =
        serde_yaml::from_slice(doc).map_err(|e| malformed(String::new(), e.to_string()))?;
    // serde reads `null` (or an empty document) as a struct of defaults: an empty inventory
    // applied with 200, where JSON's `null` is refused
    if !value.is_mapping() {
        return Err(malformed(
            String::new(),
            "the document must be a mapping (stamps: and plans:)".to_owned(),
        ));
    }
    serde_path_to_error::deserialize(value)
        .map_err(|e| malformed(e.path().to_string(), e.inner().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(doc: &str) -> Option<&'static str> {
        scan(doc.as_bytes()).err().map(|e| e.code)
    }

    #[test]
    fn the_scan_refuses_aliases_and_depth_but_not_text_that_looks_like_them() {
        assert_eq!(code("a: &x [1]\nb: *x\n"), Some("yaml_alias"));
        assert_eq!(code("- *x\n"), Some("yaml_alias"));
        assert_eq!(code("a: [*x]\n"), Some("yaml_alias"));
        assert_eq!(code(&"[".repeat(40)), Some("yaml_too_deep"));
        let mut nested = String::new();
        for i in 0..40 {
            nested.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        assert_eq!(code(&nested), Some("yaml_too_deep"));
        assert_eq!(
            code("a: 'it''s *fine* & \"ok\"'\nb: \"*x\"\nc: a*b & c\n"),
            None
        );
        assert_eq!(
            code("notes: |\n  * a list item\n  & more\nnext: 1 # *comment\n"),
            None
        );
    }

    #[test]
    fn a_boolean_where_text_belongs_names_its_field() {
        #[derive(serde::Deserialize)]
        #[expect(dead_code, reason = "only its parse error is looked at")]
        struct Doc {
            name: String,
        }
        let err = parse::<Doc>(b"name: true\n").err().map(|e| e.field);
        assert_eq!(err, Some(Some("name".to_owned())));
        assert!(parse::<Doc>(b"name: \"true\"\n").is_ok());
    }
}
