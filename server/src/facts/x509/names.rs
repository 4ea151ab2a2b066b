//! Distinguished names as strings, and DNS name matching the way TLS clients do it.

use x509_parser::asn1_rs::Tag;
use x509_parser::prelude::*;

pub(super) fn name_to_string(name: &X509Name<'_>) -> String {
    // x509-parser refuses names whose string values are not valid in their declared type
    // (Latin-1 in a T61String is common in old certificates); keep going with a lossy form.
    name.to_string_with_registry(oid_registry())
        .unwrap_or_else(|_| {
            name.iter()
                .map(|rdn| {
                    rdn.iter()
                        .map(|attr| {
                            let key = oid2abbrev(attr.attr_type(), oid_registry())
                                .map_or_else(|_| attr.attr_type().to_id_string(), str::to_owned);
                            format!("{key}={}", attribute_to_string(attr))
                        })
                        .collect::<Vec<_>>()
                        .join(" + ")
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
}

pub(super) fn attribute_to_string(attr: &AttributeTypeAndValue<'_>) -> String {
    let value = attr.attr_value();
    if value.tag() == Tag::BmpString {
        let units: Vec<u16> = value
            .data
            .chunks(2)
            .map(|pair| match pair {
                [high, low] => u16::from_be_bytes([*high, *low]),
                // An odd byte count is malformed; keep what is there rather than drop it.
                [high] => u16::from(*high) << 8,
                _ => 0,
            })
            .collect();
        return String::from_utf16_lossy(&units);
    }
    attr.as_str().map_or_else(
        |_| String::from_utf8_lossy(value.data).into_owned(),
        str::to_owned,
    )
}

pub(super) fn normalise_dns(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

pub(super) fn dns_pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        // The wildcard stands for exactly one whole, non-empty label: `*.example.net` covers
        // `a.example.net`, neither `example.net` nor `a.b.example.net`.
        Some(suffix) if !suffix.is_empty() => name
            .strip_suffix(suffix)
            .and_then(|head| head.strip_suffix('.'))
            .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        _ => !pattern.is_empty() && pattern == name,
    }
}
