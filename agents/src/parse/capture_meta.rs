//! The files about the capture itself rather than the host: `capture.json` (when, by which
//! script and shell, elevated or not) and `errors.json` (what the script could not collect).

use chrono::{DateTime, Utc};
use stampbook_wire::CollectionError;

use super::{ParseError, item, psjson};

/// `capture.json`: `{CapturedAt, ScriptVersion, PSVersion, Elevated}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureMeta {
    /// When the script ran (UTC): the report's `collected_at`.
    pub captured_at: DateTime<Utc>,
    pub script_version: Option<String>,
    pub ps_version: Option<String>,
    pub elevated: Option<bool>,
}

/// `CapturedAt` is required: without it the file says nothing the agent needs.
pub fn parse_capture_meta(text: &str) -> Result<CaptureMeta, ParseError> {
    let obj = psjson::parse_object(text)?
        .ok_or_else(|| ParseError::Unrecognised("capture facts are empty".into()))?;
    Ok(CaptureMeta {
        captured_at: psjson::get_date(&obj, "CapturedAt", "")?
            .ok_or_else(|| ParseError::missing("", "CapturedAt"))?,
        script_version: psjson::get_str(&obj, "ScriptVersion", "")?,
        ps_version: psjson::get_str(&obj, "PSVersion", "")?,
        elevated: psjson::get_bool(&obj, "Elevated", "")?,
    })
}

/// `errors.json`: `[{Section, Source, Message}]`, as the script's `catch` blocks write them.
pub fn parse_errors(text: &str) -> Result<Vec<CollectionError>, ParseError> {
    let mut out = Vec::new();
    for (index, value) in psjson::parse_list(text)?.iter().enumerate() {
        let obj = psjson::as_object(value, index)?;
        let ctx = item(index);
        out.push(CollectionError {
            section: psjson::req_str(obj, "Section", &ctx)?,
            source: psjson::get_str(obj, "Source", &ctx)?,
            message: psjson::get_str(obj, "Message", &ctx)?
                .unwrap_or_else(|| "failed without a message".to_owned()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn both_date_forms_and_a_lone_error_object_are_read() {
        let want = Utc.with_ymd_and_hms(2014, 2, 24, 10, 0, 0).unwrap();
        for text in [
            r#"{"CapturedAt":"2014-02-24T10:00:00.0000000Z","PSVersion":"4.0","Elevated":true}"#,
            r#"{"CapturedAt":"\/Date(1393236000000)\/"}"#,
        ] {
            assert_eq!(
                parse_capture_meta(text).unwrap().captured_at,
                want,
                "{text}"
            );
        }
        assert!(parse_capture_meta(r#"{"PSVersion":"5.1"}"#).is_err());
        let errors =
            parse_errors(r#"{"Section":"settings.vmm","Source":"Get-SCVMMServer","Message":"x"}"#)
                .unwrap();
        assert_eq!(errors[0].section, "settings.vmm");
        assert_eq!(errors[0].source.as_deref(), Some("Get-SCVMMServer"));
        assert_eq!(parse_errors("").unwrap(), vec![]);
        assert!(parse_errors(r#"[{"Message":"no section"}]"#).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = parse_capture_meta(&s);
            let _ = parse_errors(&s);
        }
    }
}
