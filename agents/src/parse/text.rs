//! Decoding captured files: UTF-8 (with or without BOM) and UTF-16LE/BE (with BOM, as
//! PowerShell 5.1's `>` and `Out-File -Encoding Unicode` write) into one `String`.
//!
//! CRLF is left in place: every parser splits with `str::lines`, which drops the `\r`.

use super::ParseError;

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Decodes a captured file. Without a BOM the bytes must be UTF-8, except that BOM-less
/// UTF-16LE (some tools omit the BOM) is recognised by its zero high bytes.
pub fn decode(bytes: &[u8]) -> Result<String, ParseError> {
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return utf8(rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes);
    }
    if looks_like_utf16le(bytes) {
        return utf16(bytes, u16::from_le_bytes);
    }
    std::str::from_utf8(bytes).map(str::to_owned).map_err(|e| {
        ParseError::Encoding(format!(
            "not UTF-8 (invalid byte at offset {}) and no UTF-16 byte-order mark",
            e.valid_up_to()
        ))
    })
}

/// Like [`decode`], but replaces undecodable bytes instead of failing. For `route print`
/// captured from `cmd.exe`, which writes the OEM code page: the parser reads the layout, not
/// the localised words, so a garbled `Ständige` costs nothing.
pub fn decode_lossy(bytes: &[u8]) -> String {
    decode(bytes).unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned())
}

/// An empty or whitespace-only capture: for list files this means "collected, none"
/// (PowerShell writes nothing at all for an empty pipeline, not `[]`).
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || c == '\u{FEFF}')
}

fn utf8(bytes: &[u8]) -> Result<String, ParseError> {
    std::str::from_utf8(bytes).map(str::to_owned).map_err(|e| {
        ParseError::Encoding(format!(
            "UTF-8 byte-order mark but invalid UTF-8 at offset {}",
            e.valid_up_to() + UTF8_BOM.len()
        ))
    })
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, ParseError> {
    // A trailing odd byte is what a truncated copy leaves; drop it rather than refuse the
    // whole file, the JSON parser will complain if the text itself is cut.
    let units = bytes.chunks_exact(2).map(|p| unit([p[0], p[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|e| {
            ParseError::Encoding(format!(
                "invalid UTF-16 (unpaired surrogate {:#06x})",
                e.unpaired_surrogate()
            ))
        })
}

/// BOM-less UTF-16LE of mostly ASCII text has a zero in every odd byte.
fn looks_like_utf16le(bytes: &[u8]) -> bool {
    bytes.len() >= 4
        && bytes.len().is_multiple_of(2)
        && bytes.iter().skip(1).step_by(2).all(|b| *b == 0)
        && bytes.iter().step_by(2).any(|b| *b != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utf16le_with_bom(s: &str) -> Vec<u8> {
        let mut out = vec![0xFF, 0xFE];
        out.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        out
    }

    #[test]
    fn every_encoding_powershell_writes_decodes_to_the_same_text() {
        let text = "{\r\n  \"Name\": \"Ständige\"\r\n}\r\n";
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        let mut bom8 = UTF8_BOM.to_vec();
        bom8.extend(text.as_bytes());
        let bomless16: Vec<u8> = "{\"a\":1}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        for (name, bytes) in [
            ("utf-8", text.as_bytes().to_vec()),
            ("utf-8 bom", bom8),
            ("utf-16le bom", utf16le_with_bom(text)),
            ("utf-16be bom", be),
        ] {
            assert_eq!(decode(&bytes).unwrap(), text, "{name}");
        }
        assert_eq!(decode(&bomless16).unwrap(), "{\"a\":1}");
    }

    #[test]
    fn oem_code_page_text_is_refused_strictly_but_read_lossily() {
        let cp850 = b"St\x84ndige Routen:\r\n  Keine\r\n";
        assert!(matches!(decode(cp850), Err(ParseError::Encoding(_))));
        assert!(decode_lossy(cp850).contains("Routen:"));
    }

    #[test]
    fn blank_means_only_whitespace_or_bom() {
        assert!(is_blank(""));
        assert!(is_blank("\u{FEFF}\r\n  \t"));
        assert!(!is_blank(" [] "));
        assert!(is_blank(
            &decode(&[0xFF, 0xFE, 0x0D, 0x00, 0x0A, 0x00]).unwrap()
        ));
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
            let _ = decode_lossy(&bytes);
        }
    }
}
