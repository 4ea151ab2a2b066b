//! Hosts whose collector could not see everything (`host.collection_failed`): the newest report
//! lists sections it tried and failed to collect. Their stored facts may be old, and absence
//! rules cannot judge what was not seen, so the NOC must know.
//!
//! Decisions where the SPEC is silent:
//! - One finding per host (subject `collection`), whatever the number of failed sections; its
//!   words change (and the problem is rewritten, not reopened) when the list changes.
//! - A report that says nothing of collection errors (older agents) is not judged; one that sends
//!   an empty list resolves the problem.

use serde_json::json;

use super::describe::{host_finding, name_list};
use super::model::{Finding, HostFacts, Severity};

pub const COLLECTION_FAILED: &str = "host.collection_failed";

/// Failures named in the message; the evidence keeps every one.
const NAMED: usize = 3;

pub fn evaluate(host: &HostFacts) -> Option<Finding> {
    let errors = host.collection_errors.as_deref()?;
    if errors.is_empty() {
        return None;
    }
    let named: Vec<String> = errors
        .iter()
        .map(|e| match &e.source {
            Some(source) => format!("{} ({source}: {})", e.section, e.message),
            None => format!("{} ({})", e.section, e.message),
        })
        .collect();
    let message = format!(
        "{} could not collect {}: its stored facts of {} may be old, and rules cannot judge what \
         was not seen; check the agent's rights and the sources it reads",
        host.fqdn,
        name_list(&named, NAMED),
        if errors.len() == 1 {
            "that section"
        } else {
            "those sections"
        },
    );
    Some(host_finding(
        COLLECTION_FAILED,
        Severity::Warning,
        host,
        "collection",
        message,
        json!({"collection_errors": errors}),
    ))
}

#[cfg(test)]
mod tests {
    use stampbook_wire::CollectionError;

    use super::super::testkit::host;
    use super::*;

    fn error(section: &str, source: Option<&str>, message: &str) -> CollectionError {
        CollectionError {
            section: section.to_owned(),
            source: source.map(str::to_owned),
            message: message.to_owned(),
        }
    }

    #[test]
    fn a_failed_section_is_a_warning_naming_section_source_and_message() {
        let mut h = host(7, "rdgw01.ams-01.example.net", &[]);
        h.collection_errors = Some(vec![error(
            "settings.rd_gateway",
            Some("Win32_TSGatewayServerSettings"),
            "Access denied",
        )]);
        let f = evaluate(&h).unwrap();
        assert_eq!(
            (f.rule, f.severity, f.host_id, f.subject.as_str()),
            (COLLECTION_FAILED, Severity::Warning, Some(7), "collection")
        );
        assert!(f.message.starts_with(
            "rdgw01.ams-01.example.net could not collect settings.rd_gateway \
             (Win32_TSGatewayServerSettings: Access denied)"
        ));
        assert_eq!(
            f.evidence["collection_errors"][0]["message"],
            "Access denied"
        );
    }

    #[test]
    fn many_failures_are_cut_in_the_message_but_all_kept_in_evidence() {
        let mut h = host(7, "hv01", &[]);
        h.collection_errors = Some(
            (0..5)
                .map(|i| error(&format!("s{i}"), None, "timeout"))
                .collect(),
        );
        let f = evaluate(&h).unwrap();
        assert!(
            f.message.contains("s2 (timeout) and 2 more"),
            "{}",
            f.message
        );
        assert_eq!(f.evidence["collection_errors"].as_array().unwrap().len(), 5);
    }

    #[test]
    fn no_errors_or_an_older_agent_that_says_nothing_does_not_fire() {
        let mut h = host(7, "hv01", &[]);
        assert!(evaluate(&h).is_none());
        h.collection_errors = Some(vec![]);
        assert!(evaluate(&h).is_none());
    }
}
