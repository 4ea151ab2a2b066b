//! Where the collector was blind: the newest report's `collection_errors` (bounded), and which
//! inputs of the Remote Console chain a host should hold but has never collected or failed to
//! collect in its newest report (`hosts.blind`, what readiness calls `unknown`).
//!
//! Decisions where the SPEC is silent:
//! - At most [`MAX_ERRORS`] errors are kept per host (the rest are counted in one last entry);
//!   sections, sources and messages are cut to [`MAX_SECTION`], [`MAX_SOURCE`] and
//!   [`MAX_MESSAGE`] characters: an agent's long exception text must not refuse its report.
//! - An error's `section` covers an input when it names it, a part of it
//!   (`certificates.root` covers `certificates`), or a whole it belongs to (`settings` covers
//!   `settings.rd_gateway`).
//! - A part sent as `null` (the host does not have it) counts as collected.

use stampbook_wire::{CollectionError, Role};

pub const MAX_ERRORS: usize = 50;
pub const MAX_SECTION: usize = 128;
pub const MAX_SOURCE: usize = 256;
pub const MAX_MESSAGE: usize = 1000;

/// One input of the Remote Console chain, and the hosts that should hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainInput {
    /// Hosts with this role should hold it.
    pub role: Role,
    /// The chain link it feeds (`crate::health::ChainLink` names).
    pub link: &'static str,
    /// The report section, as `collection_errors` names it.
    pub input: &'static str,
    /// Its name in `hosts.sections`.
    pub section: &'static str,
}

const fn chain(
    role: Role,
    link: &'static str,
    input: &'static str,
    section: &'static str,
) -> ChainInput {
    ChainInput {
        role,
        link,
        input,
        section,
    }
}

/// Every input of the chain (the first migration of `hosts.blind` holds the same table).
pub const CHAIN_INPUTS: [ChainInput; 7] = [
    chain(Role::VmmServer, "vmm_certificate", "settings.vmm", "vmm"),
    chain(
        Role::VmmServer,
        "vmm_certificate",
        "certificates",
        "certificates",
    ),
    chain(
        Role::HypervHost,
        "host_trust",
        "certificates",
        "certificates",
    ),
    chain(
        Role::HypervHost,
        "host_trust",
        "settings.hyperv_terminal_service",
        "hyperv_terminal_service",
    ),
    chain(Role::HypervHost, "host_trust", "services", "services"),
    chain(
        Role::RdGateway,
        "rd_gateway_trust",
        "certificates",
        "certificates",
    ),
    chain(
        Role::RdGateway,
        "rd_gateway_trust",
        "settings.rd_gateway",
        "rd_gateway",
    ),
];

fn cut(s: &str, max: usize) -> String {
    // PostgreSQL text cannot hold NUL
    let clean: String = s.trim().chars().filter(|c| *c != '\0').collect();
    if clean.chars().count() <= max {
        return clean;
    }
    let mut out: String = clean.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The errors as they are kept: at most [`MAX_ERRORS`], each field cut to its bound.
pub fn bounded(errors: &[CollectionError]) -> Vec<CollectionError> {
    let keep = if errors.len() > MAX_ERRORS {
        MAX_ERRORS - 1
    } else {
        errors.len()
    };
    let mut out: Vec<CollectionError> = errors[..keep]
        .iter()
        .map(|e| CollectionError {
            section: cut(&e.section, MAX_SECTION),
            source: e
                .source
                .as_deref()
                .map(|s| cut(s, MAX_SOURCE))
                .filter(|s| !s.is_empty()),
            message: cut(&e.message, MAX_MESSAGE),
        })
        .collect();
    if errors.len() > keep {
        out.push(CollectionError {
            section: "collection_errors".to_owned(),
            source: None,
            message: format!(
                "{} more collection errors were reported and not kept",
                errors.len() - keep
            ),
        });
    }
    out
}

/// Whether an error about `section` says that `input` was not collected.
pub fn covers(section: &str, input: &str) -> bool {
    let section = section.trim();
    section == input
        || input
            .strip_prefix(section)
            .is_some_and(|rest| rest.starts_with('.'))
        || section
            .strip_prefix(input)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The chain inputs these errors cover.
pub fn failed_inputs(errors: &[CollectionError]) -> Vec<String> {
    let mut out: Vec<String> = CHAIN_INPUTS
        .iter()
        .map(|c| c.input)
        .filter(|input| errors.iter().any(|e| covers(&e.section, input)))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What the host row keeps of the newest report's own collection, worked out before the row is
/// written (a report writes its host row once): the errors as kept (`None` when the report said
/// nothing of them) and which chain inputs the host lacks, from its roles and the sections it has
/// ever collected (this report's included); `hosts.blind` holds them sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub errors: Option<serde_json::Value>,
    pub blind: Vec<String>,
}

pub fn collection(
    errors: Option<&[CollectionError]>,
    roles: &[Role],
    sections: &[String],
) -> Collection {
    let kept = errors.map(bounded);
    let failed = kept.as_deref().map(failed_inputs).unwrap_or_default();
    let mut blind: Vec<String> = CHAIN_INPUTS
        .iter()
        .filter(|c| roles.contains(&c.role))
        .filter(|c| !sections.iter().any(|s| s == c.section) || failed.iter().any(|f| f == c.input))
        .map(|c| format!("{}:{}", c.link, c.input))
        .collect();
    blind.sort();
    blind.dedup();
    Collection {
        errors: kept.as_ref().and_then(|k| serde_json::to_value(k).ok()),
        blind,
    }
}

/// What a host's newest report said of its own collection, as the API and the host page show it.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct CollectionState {
    /// The sections its collector could not collect; null when the report said nothing of them
    /// (agents before collection errors), empty when it collected everything it tried.
    pub collection_errors: Option<Vec<CollectionError>>,
    /// Reports the agent's spool dropped before this one could be sent (null: not said).
    pub spool_dropped: Option<i64>,
    /// Reports the agent set aside in `rejected/` (refused for good or failing every time) since
    /// its last successful push (null: not said).
    pub spool_rejected: Option<i64>,
}

pub async fn of_host(pool: &sqlx::PgPool, host_id: i64) -> Result<CollectionState, sqlx::Error> {
    let r = sqlx::query!(
        "select collection_errors, agent_spool_dropped, agent_spool_rejected from hosts where id = $1",
        host_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(r.map(|r| CollectionState {
        collection_errors: r
            .collection_errors
            .and_then(|v| serde_json::from_value(v).ok()),
        spool_dropped: r.agent_spool_dropped,
        spool_rejected: r.agent_spool_rejected,
    })
    .unwrap_or_default())
}

/// A host of a stamp whose newest report lists failed sections.
pub struct FailedHost {
    pub fqdn: String,
    pub errors: Vec<CollectionError>,
}

/// The stamp's hosts whose newest report lists failed sections, by name (at most `limit`; the
/// partial index holds only them).
pub async fn failed_hosts(
    pool: &sqlx::PgPool,
    stamp_id: i64,
    limit: i64,
) -> Result<Vec<FailedHost>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"select fqdn::text as "fqdn!", collection_errors as "errors!" from hosts
           where stamp_id = $1 and collection_errors <> '[]'::jsonb
           order by fqdn limit $2"#,
        stamp_id,
        limit
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| FailedHost {
        fqdn: r.fqdn,
        errors: serde_json::from_value(r.errors).unwrap_or_default(),
    })
    .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(section: &str, message: &str) -> CollectionError {
        CollectionError {
            section: section.to_owned(),
            source: Some("Win32_TSGatewayServerSettings".to_owned()),
            message: message.to_owned(),
        }
    }

    #[test]
    fn an_error_covers_its_section_its_parts_and_its_wholes() {
        assert!(covers("settings.rd_gateway", "settings.rd_gateway"));
        assert!(covers("settings", "settings.rd_gateway"));
        assert!(covers("certificates.root", "certificates"));
        assert!(!covers("settings.rd", "settings.rd_gateway"));
        assert!(!covers("routes", "certificates"));
    }

    #[test]
    fn failed_inputs_name_only_chain_inputs() {
        let errors = [error("settings", "WMI down"), error("routes", "x")];
        assert_eq!(
            failed_inputs(&errors),
            [
                "settings.hyperv_terminal_service",
                "settings.rd_gateway",
                "settings.vmm"
            ]
        );
    }

    #[test]
    fn long_lists_and_messages_are_bounded_and_nul_is_dropped() {
        let many: Vec<CollectionError> = (0..60)
            .map(|i| error(&format!("s{i}"), &"x".repeat(5000)))
            .collect();
        let kept = bounded(&many);
        assert_eq!(kept.len(), MAX_ERRORS);
        assert_eq!(kept[0].message.chars().count(), MAX_MESSAGE);
        assert!(kept[0].message.ends_with('…'));
        assert_eq!(
            kept[MAX_ERRORS - 1].message,
            "11 more collection errors were reported and not kept"
        );
        assert_eq!(bounded(&[error("a\0b", "m")])[0].section, "ab");
    }
}
