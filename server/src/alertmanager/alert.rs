//! One problem as an Alertmanager alert (`postableAlert` of Alertmanager's `api/v2/openapi.yaml`):
//! the labels that identify it and route it, the words a person reads, and its time span.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What the sink reads of a problem.
#[derive(Debug, Clone)]
pub struct ProblemRow {
    pub id: i64,
    pub rule: String,
    pub severity: String,
    pub stamp: String,
    pub host: Option<String>,
    pub plan: Option<String>,
    pub subject: String,
    pub message: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The body element of `POST /api/v2/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostableAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    pub starts_at: DateTime<Utc>,
    #[serde(rename = "endsAt")]
    pub ends_at: DateTime<Utc>,
    #[serde(rename = "generatorURL", skip_serializing_if = "Option::is_none")]
    pub generator_url: Option<String>,
}

/// The labels of a problem's alert: its identity (rule, stamp, host, plan, subject), which is
/// also Alertmanager's (alerts with equal labels are one alert), and what routes take
/// (`severity`, `stamp`). Empty values are left out, as Alertmanager treats them as absent.
pub fn labels(p: &ProblemRow) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("alertname".to_owned(), p.rule.clone());
    l.insert("rule".to_owned(), p.rule.clone());
    l.insert("severity".to_owned(), p.severity.clone());
    l.insert("stamp".to_owned(), p.stamp.clone());
    for (name, value) in [
        ("host", p.host.as_deref()),
        ("plan", p.plan.as_deref()),
        ("subject", Some(p.subject.as_str())),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            l.insert(name.to_owned(), v.to_owned());
        }
    }
    l
}

/// The alert of `p`: firing until `ends_at` while it is open, ended at its resolution once
/// resolved.
pub fn alert(
    p: &ProblemRow,
    ends_at: DateTime<Utc>,
    public_url: Option<&url::Url>,
) -> PostableAlert {
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".to_owned(), p.message.clone());
    let place = match (&p.host, &p.plan) {
        (Some(h), _) => format!("host {h} of stamp {}", p.stamp),
        (None, Some(plan)) => format!("plan {plan} on stamp {}", p.stamp),
        (None, None) => format!("stamp {}", p.stamp),
    };
    annotations.insert(
        "description".to_owned(),
        format!(
            "{} ({} {} on {place}, open since {})",
            p.message,
            p.severity,
            p.rule,
            p.opened_at.format("%Y-%m-%d %H:%M UTC")
        ),
    );
    annotations.insert("problem_id".to_owned(), p.id.to_string());
    PostableAlert {
        labels: labels(p),
        annotations,
        starts_at: p.opened_at,
        ends_at: p.resolved_at.unwrap_or(ends_at),
        generator_url: public_url.map(|u| crate::problems::page_url(u, &p.stamp, p.id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem() -> ProblemRow {
        ProblemRow {
            id: 28,
            rule: "cert.expiring".to_owned(),
            severity: "warning".to_owned(),
            stamp: "ams 01".to_owned(),
            host: Some("vmm01.ams.example.net".to_owned()),
            plan: None,
            subject: String::new(),
            message: "The certificate expires in 9 days".to_owned(),
            opened_at: DateTime::from_timestamp(1_764_000_000, 0).unwrap(),
            resolved_at: None,
        }
    }

    #[test]
    fn an_open_problem_fires_with_its_identity_as_labels_until_the_given_end() {
        let p = problem();
        let ends = DateTime::from_timestamp(1_764_000_240, 0).unwrap();
        let base: url::Url = "https://stampbook.example.net/ui".parse().unwrap();
        let a = alert(&p, ends, Some(&base));
        let labels: Vec<(&str, &str)> = a
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("alertname", "cert.expiring"),
                ("host", "vmm01.ams.example.net"),
                ("rule", "cert.expiring"),
                ("severity", "warning"),
                ("stamp", "ams 01"),
            ],
            "no empty subject, no plan"
        );
        assert_eq!(a.ends_at, ends);
        assert_eq!(a.starts_at, p.opened_at);
        assert_eq!(
            a.generator_url.as_deref(),
            Some("https://stampbook.example.net/ui/problems?stamp=ams+01&state=all#p28")
        );
        assert_eq!(a.annotations["summary"], p.message);
        let json = serde_json::to_value(&a).unwrap();
        assert!(json.get("endsAt").is_some() && json.get("generatorURL").is_some());
    }

    #[test]
    fn a_resolved_problem_ends_at_its_resolution_and_needs_no_public_url() {
        let mut p = problem();
        p.resolved_at = Some(DateTime::from_timestamp(1_764_000_100, 0).unwrap());
        let a = alert(&p, Utc::now(), None);
        assert_eq!(Some(a.ends_at), p.resolved_at);
        assert!(
            serde_json::to_value(&a)
                .unwrap()
                .get("generatorURL")
                .is_none()
        );
    }
}
