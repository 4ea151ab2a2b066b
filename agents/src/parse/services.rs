//! `services.json` (`Name, Status, StartTime`: the service with its process start time) into
//! wire services.

use stampbook_wire::{CollectionError, Service};

use super::{ParseError, item, psjson};

/// Parses any number of services. `Status` is the `ServiceControllerStatus` number (5.1 with
/// `ConvertTo-Json` of the enum) or its name; `StartTime` is absent or null for a service that
/// is not running.
pub fn parse_services(text: &str) -> Result<Vec<Service>, ParseError> {
    let mut out = Vec::new();
    for (index, value) in psjson::parse_list(text)?.iter().enumerate() {
        let obj = psjson::as_object(value, index)?;
        let ctx = item(index);
        let name = psjson::req_str(obj, "Name", &ctx)?;
        let ctx = format!("{ctx}{name}: ");
        let status =
            psjson::get(obj, "Status").ok_or_else(|| ParseError::missing(&ctx, "Status"))?;
        let state = psjson::service_state(status)
            .map_err(|reason| ParseError::invalid(&ctx, "Status", reason))?;
        out.push(Service {
            name,
            state,
            started_at: psjson::get_date(obj, "StartTime", &ctx)?,
        });
    }
    Ok(out)
}

/// Like [`parse_services`], plus a collection error for every running service whose start time
/// the script could not read (`StartTimeError`: the process is protected from a shell that is
/// not elevated). Such a start time is unknown, never "not started".
pub fn parse_services_capture(
    text: &str,
) -> Result<(Vec<Service>, Vec<CollectionError>), ParseError> {
    let services = parse_services(text)?;
    let mut errors = Vec::new();
    for (index, value) in psjson::parse_list(text)?.iter().enumerate() {
        let obj = psjson::as_object(value, index)?;
        if let Some(message) = psjson::get_str(obj, "StartTimeError", &item(index))? {
            let name = psjson::get_str(obj, "Name", "")?.unwrap_or_default();
            errors.push(CollectionError {
                section: "services.started_at".into(),
                source: Some("Get-Process".into()),
                message: format!("{name}: {message}"),
            });
        }
    }
    Ok((services, errors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn several_services_with_numbers_names_and_no_start_time() {
        let text = r#"[{"Name":"vmms","Status":4,"StartTime":"2014-01-15T10:00:00Z"},
                       {"Name":"TSGateway","Status":"Stopped","StartTime":null},
                       {"Name":"SCVMMService","Status":2}]"#;
        let services = parse_services(text).unwrap();
        let states: Vec<_> = services.iter().map(|s| s.state.as_str()).collect();
        assert_eq!(states, ["running", "stopped", "start_pending"]);
        assert_eq!(services[0].started_at.unwrap().timestamp(), 1_389_780_000);
        assert_eq!(services[1].started_at, None);
    }

    #[test]
    fn an_unknown_status_names_the_service() {
        let err = parse_services(r#"{"Name":"vmms","Status":42}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("vmms") && err.contains("42"), "{err}");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = parse_services(&s);
        }
    }
}
