//! Plans as WAP knows them against the inventory (`plan.undeclared`, `plan.not_in_wap`,
//! `plan.quota_mismatch`, `plan.cloud_mismatch`), and the comparison the plans API and pages
//! show as a plan's disagreements.
//!
//! Decisions where the SPEC is silent:
//! - The WAP that speaks for a stamp is the `wap_server` hosts of that stamp which reported
//!   `wap`; a declared plan is compared with what they report, and only they can say it is
//!   absent. A stamp whose WAP servers never reported plans knows nothing: no `plan.not_in_wap`.
//! - Plan ids are compared as WAP compares them: ignoring case.
//! - Quotas are WAP's VM Clouds quota (service `systemcenter`): `VmCount`, `CoreCount`,
//!   `RamInMB` and `StorageInGB` against the declared vms, vcpus, memory_gb (× 1024) and
//!   storage_gb. A setting WAP does not hold, or holds as no number (unlimited), is not compared.
//! - Clouds: stampbook keeps no list of VMM clouds; the inventory places a cloud on a stamp
//!   through its declared plans (`cloud` with `stamp`). A cloud that WAP's `Clouds` setting
//!   names (by name, or by the id the inventory's `cloud` may hold) and that the inventory places
//!   only on other stamps is a cloud mismatch; a cloud the inventory does not place is not judged.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::json;

use super::model::{Finding, Severity, StampContext};
use crate::facts::wap::WapPlanFact;

pub const UNDECLARED: &str = "plan.undeclared";
pub const NOT_IN_WAP: &str = "plan.not_in_wap";
pub const QUOTA_MISMATCH: &str = "plan.quota_mismatch";
pub const CLOUD_MISMATCH: &str = "plan.cloud_mismatch";

/// A declared plan as the comparison needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredPlan {
    pub plan_id: i64,
    pub wap_plan_id: String,
    pub name: String,
    pub stamp: String,
    pub cloud: String,
    pub public: bool,
    pub vms: i64,
    pub vcpus: i64,
    pub memory_gb: i64,
    pub storage_gb: i64,
}

/// What the WAP rules of one stamp read.
#[derive(Debug, Clone, Default)]
pub struct WapInputs {
    /// The stamp's WAP servers have reported plans (else absence is unknown).
    pub collected: bool,
    /// Plans the stamp's WAP servers report, with the reporting host's FQDN.
    pub reported: Vec<(String, WapPlanFact)>,
    /// The plans declared on this stamp.
    pub declared: Vec<DeclaredPlan>,
    /// Every declared plan id of the inventory, lower-cased.
    pub declared_ids: BTreeSet<String>,
    /// Cloud (lower-cased) → the stamps whose declared plans name it.
    pub cloud_stamps: BTreeMap<String, BTreeSet<String>>,
}

/// One way in which what is declared and what WAP holds differ.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Disagreement {
    /// A quota differs (`quota`: vms, vcpus, memory_gb, storage_gb; `wap_setting` is WAP's key).
    Quota {
        quota: String,
        declared: i64,
        wap: i64,
        wap_setting: String,
    },
    /// WAP sells the plan on a cloud that the inventory places on other stamps.
    Cloud {
        wap_cloud: String,
        wap_cloud_stamps: Vec<String>,
        declared_stamp: String,
        declared_cloud: String,
    },
    /// Declared public or private, WAP says otherwise.
    State { declared_public: bool, wap: String },
}

/// A cloud named by a quota's `Clouds` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudRef {
    pub id: Option<String>,
    pub name: Option<String>,
}

impl CloudRef {
    fn label(&self) -> String {
        match (&self.name, &self.id) {
            (Some(n), _) => n.clone(),
            (None, Some(i)) => i.clone(),
            (None, None) => String::new(),
        }
    }
}

/// The clouds of a `Clouds` setting: WAP's XML (`<Clouds><Cloud Id=".." StampId=".."/></Clouds>`,
/// `Id` and `Name` read from each `Cloud`), or plain text naming one cloud.
pub fn cloud_refs(value: &str) -> Vec<CloudRef> {
    let value = value.trim();
    if value.is_empty() {
        return Vec::new();
    }
    if !value.starts_with('<') {
        return vec![CloudRef {
            id: None,
            name: Some(value.to_owned()),
        }];
    }
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find("<Cloud") {
        rest = &rest[at + "<Cloud".len()..];
        // `<Clouds>` is the list, not an item
        if !rest.starts_with(|c: char| c.is_whitespace() || c == '/' || c == '>') {
            continue;
        }
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        let r = CloudRef {
            id: attribute(tag, "Id"),
            name: attribute(tag, "Name"),
        };
        if r.id.is_some() || r.name.is_some() {
            out.push(r);
        }
        rest = &rest[end..];
    }
    out
}

/// The value of `name="…"` (or `'…'`) in an XML start tag, entities `&amp; &lt; &gt; &quot;
/// &apos;` decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    loop {
        let at = rest.find(name)?;
        let before = rest[..at].chars().last();
        let after = rest[at + name.len()..].trim_start();
        rest = &rest[at + name.len()..];
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let Some(after) = after.strip_prefix('=') else {
            continue;
        };
        let after = after.trim_start();
        let quote = after.chars().next()?;
        if quote != '"' && quote != '\'' {
            continue;
        }
        let body = &after[1..];
        let end = body.find(quote)?;
        let v = body[..end].trim();
        if v.is_empty() {
            return None;
        }
        return Some(if v.contains('&') {
            decode_entities(v).trim().to_owned()
        } else {
            v.to_owned()
        });
    }
}

/// The five predefined XML entities decoded, in one pass (an unknown `&...;` stays as it is).
fn decode_entities(v: &str) -> String {
    const ENTITIES: [(&str, char); 5] = [
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&apos;", '\''),
        ("&amp;", '&'),
    ];
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match ENTITIES.iter().find(|(e, _)| rest.starts_with(e)) {
            Some((e, c)) => {
                out.push(*c);
                rest = &rest[e.len()..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The clouds (lower-cased names and ids) the `Clouds` settings of these plans name: what
/// [`WapInputs::cloud_stamps`] (and a plan's comparison on the API and pages) must answer for.
pub fn named_clouds<'a>(plans: impl IntoIterator<Item = &'a WapPlanFact>) -> BTreeSet<String> {
    plans
        .into_iter()
        .flat_map(|plan| setting(plan, "Clouds"))
        .flat_map(cloud_refs)
        .flat_map(|cloud| [cloud.name, cloud.id])
        .flatten()
        .map(|name| name.to_lowercase())
        .collect()
}

fn setting<'a>(plan: &'a WapPlanFact, key: &str) -> Vec<&'a str> {
    plan.quotas
        .iter()
        .filter(|q| q.service_name.eq_ignore_ascii_case("systemcenter"))
        .flat_map(|q| {
            q.settings
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(key))
        })
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A quota WAP holds as a number (summed over its VM Clouds quotas); `None` when it holds none
/// or a value that is no count (`-1`, empty, text): unlimited or unknown is not compared.
pub fn wap_number(plan: &WapPlanFact, key: &str) -> Option<i64> {
    let values: Vec<i64> = setting(plan, key)
        .into_iter()
        .filter_map(|v| v.trim().parse::<i64>().ok())
        .filter(|v| *v >= 0)
        .collect();
    (!values.is_empty()).then(|| values.iter().fold(0i64, |a, b| a.saturating_add(*b)))
}

/// How a declared plan and WAP's plan of the same id differ.
pub fn compare(
    declared: &DeclaredPlan,
    wap: &WapPlanFact,
    cloud_stamps: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Disagreement> {
    let mut out = Vec::new();
    let quotas = [
        ("vms", declared.vms, "VmCount", 1),
        ("vcpus", declared.vcpus, "CoreCount", 1),
        ("memory_gb", declared.memory_gb, "RamInMB", 1024),
        ("storage_gb", declared.storage_gb, "StorageInGB", 1),
    ];
    for (quota, declared_value, key, unit) in quotas {
        if let Some(wap_value) = wap_number(wap, key)
            && declared_value.saturating_mul(unit) != wap_value
        {
            out.push(Disagreement::Quota {
                quota: quota.to_owned(),
                declared: declared_value,
                // in the declared unit when it divides evenly, else WAP's own
                wap: if wap_value % unit == 0 {
                    wap_value / unit
                } else {
                    wap_value
                },
                wap_setting: format!("{key}={wap_value}"),
            });
        }
    }
    for value in setting(wap, "Clouds") {
        for cloud in cloud_refs(value) {
            // the stamps are copied only into a disagreement (a page of plans compares each)
            let mut stamps: BTreeSet<&String> = BTreeSet::new();
            for name in [&cloud.name, &cloud.id].into_iter().flatten() {
                if let Some(s) = cloud_stamps.get(&name.to_lowercase()) {
                    stamps.extend(s.iter());
                }
            }
            if !stamps.is_empty() && !stamps.contains(&declared.stamp) {
                out.push(Disagreement::Cloud {
                    wap_cloud: cloud.label(),
                    wap_cloud_stamps: stamps.into_iter().cloned().collect(),
                    declared_stamp: declared.stamp.clone(),
                    declared_cloud: declared.cloud.clone(),
                });
            }
        }
    }
    let wap_public = wap.state == "public";
    if !wap.state.is_empty() && wap_public != declared.public {
        out.push(Disagreement::State {
            declared_public: declared.public,
            wap: wap.state.clone(),
        });
    }
    out
}

/// The four WAP rules for one stamp.
pub fn evaluate(ctx: &StampContext, inputs: &WapInputs) -> Vec<Finding> {
    if ctx.retired {
        return Vec::new();
    }
    let mut by_key: BTreeMap<String, Vec<&(String, WapPlanFact)>> = BTreeMap::new();
    for r in &inputs.reported {
        by_key.entry(r.1.key()).or_default().push(r);
    }
    let mut findings = Vec::new();
    for (key, seen) in &by_key {
        let Some((_, plan)) = seen.first() else {
            continue;
        };
        if plan.state == "public" && !inputs.declared_ids.contains(key) {
            findings.push(undeclared(ctx, plan, seen));
        }
    }
    for d in &inputs.declared {
        match by_key.get(&d.wap_plan_id.to_lowercase()) {
            None if inputs.collected => findings.push(not_in_wap(ctx, d)),
            None => {}
            Some(seen) => {
                // two WAP servers of one stamp say the same; the first by host name speaks
                if let Some((host, wap)) = seen.first() {
                    findings.extend(mismatches(d, host, wap, &inputs.cloud_stamps));
                }
            }
        }
    }
    findings
}

fn undeclared(ctx: &StampContext, plan: &WapPlanFact, seen: &[&(String, WapPlanFact)]) -> Finding {
    let hosts: Vec<&str> = seen.iter().map(|(h, _)| h.as_str()).collect();
    Finding {
        rule: UNDECLARED,
        severity: Severity::Warning,
        host_id: None,
        plan_id: None,
        subject: plan.id.clone(),
        message: format!(
            "WAP on stamp {} sells public plan {} ({}) with {} subscription(s), but the inventory \
             does not declare it: adopt it into the inventory from its plan page",
            ctx.name,
            plan.id,
            plan.display_name,
            plan.subscription_count
                .map_or_else(|| "unknown".to_owned(), |c| c.to_string())
        ),
        evidence: json!({"wap_plan_id": plan.id, "display_name": plan.display_name,
                         "state": plan.state, "subscription_count": plan.subscription_count,
                         "reported_by": hosts}),
    }
}

fn not_in_wap(ctx: &StampContext, d: &DeclaredPlan) -> Finding {
    Finding {
        rule: NOT_IN_WAP,
        severity: Severity::Warning,
        host_id: None,
        plan_id: Some(d.plan_id),
        subject: d.wap_plan_id.clone(),
        message: format!(
            "Plan {} ({}) is declared on stamp {}, but the stamp's WAP does not report it: create \
             it in WAP, or delete the declaration",
            d.wap_plan_id, d.name, ctx.name
        ),
        evidence: json!({"wap_plan_id": d.wap_plan_id, "stamp": ctx.name}),
    }
}

fn mismatches(
    d: &DeclaredPlan,
    host: &str,
    wap: &WapPlanFact,
    cloud_stamps: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Finding> {
    let found = compare(d, wap, cloud_stamps);
    let quotas: Vec<&Disagreement> = found
        .iter()
        .filter(|x| matches!(x, Disagreement::Quota { .. }))
        .collect();
    let clouds: Vec<&Disagreement> = found
        .iter()
        .filter(|x| matches!(x, Disagreement::Cloud { .. }))
        .collect();
    let mut out = Vec::new();
    if !quotas.is_empty() {
        let words: Vec<String> = quotas
            .iter()
            .filter_map(|q| match q {
                Disagreement::Quota {
                    quota,
                    declared,
                    wap,
                    ..
                } => Some(format!("{quota} declared {declared}, WAP {wap}")),
                _ => None,
            })
            .collect();
        out.push(Finding {
            rule: QUOTA_MISMATCH,
            severity: Severity::Warning,
            host_id: None,
            plan_id: Some(d.plan_id),
            subject: d.wap_plan_id.clone(),
            message: format!(
                "Plan {} ({}): WAP's quotas differ from the inventory's ({})",
                d.wap_plan_id,
                d.name,
                words.join("; ")
            ),
            evidence: json!({"wap_server": host, "differences": quotas}),
        });
    }
    if !clouds.is_empty() {
        let words: Vec<String> = clouds
            .iter()
            .filter_map(|c| match c {
                Disagreement::Cloud {
                    wap_cloud,
                    wap_cloud_stamps,
                    ..
                } => Some(format!(
                    "cloud '{wap_cloud}' of stamp {}",
                    wap_cloud_stamps.join(", ")
                )),
                _ => None,
            })
            .collect();
        out.push(Finding {
            rule: CLOUD_MISMATCH,
            severity: Severity::Critical,
            host_id: None,
            plan_id: Some(d.plan_id),
            subject: d.wap_plan_id.clone(),
            message: format!(
                "Plan {} ({}) is declared on stamp {} but WAP sells it on {}: tenants land on \
                 another stamp than the inventory says",
                d.wap_plan_id,
                d.name,
                d.stamp,
                words.join(" and ")
            ),
            evidence: json!({"wap_server": host, "declared_stamp": d.stamp,
                             "declared_cloud": d.cloud, "clouds": clouds}),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::stamp;
    use super::*;
    use stampbook_wire::WapQuota;

    fn wap(id: &str, state: &str, settings: &[(&str, &str)]) -> WapPlanFact {
        WapPlanFact {
            id: id.into(),
            display_name: "Gold IaaS".into(),
            state: state.into(),
            subscription_count: Some(42),
            quotas: vec![WapQuota {
                service_name: "systemcenter".into(),
                instance_id: None,
                settings: settings
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            }],
        }
    }

    fn declared(id: &str) -> DeclaredPlan {
        DeclaredPlan {
            plan_id: 7,
            wap_plan_id: id.into(),
            name: "Gold IaaS".into(),
            stamp: stamp().name,
            cloud: "Gold Cloud".into(),
            public: true,
            vms: 500,
            vcpus: 2000,
            memory_gb: 8192,
            storage_gb: 100_000,
        }
    }

    fn inputs(reported: Vec<WapPlanFact>, declared: Vec<DeclaredPlan>) -> WapInputs {
        let mut cloud_stamps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for d in &declared {
            cloud_stamps
                .entry(d.cloud.to_lowercase())
                .or_default()
                .insert(d.stamp.clone());
        }
        cloud_stamps
            .entry("ams2 cloud".into())
            .or_default()
            .insert("ams-02".into());
        WapInputs {
            collected: true,
            declared_ids: declared
                .iter()
                .map(|d| d.wap_plan_id.to_lowercase())
                .collect(),
            reported: reported
                .into_iter()
                .map(|p| ("wap01.ams-01.example.net".to_owned(), p))
                .collect(),
            declared,
            cloud_stamps,
        }
    }

    const SAME: [(&str, &str); 5] = [
        ("VmCount", "500"),
        ("CoreCount", "2000"),
        ("RamInMB", "8388608"),
        ("StorageInGB", "100000"),
        ("Clouds", "Gold Cloud"),
    ];

    fn rules(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_plan_that_agrees_with_wap_raises_nothing_even_with_its_id_in_other_case() {
        let i = inputs(
            vec![wap("GOLD-AMS", "public", &SAME)],
            vec![declared("gold-ams")],
        );
        assert!(evaluate(&stamp(), &i).is_empty());
    }

    #[test]
    fn a_public_plan_wap_sells_and_nobody_declared_is_undeclared_a_private_one_is_not() {
        let i = inputs(
            vec![wap("Gold1", "public", &[]), wap("Trial", "private", &[])],
            vec![],
        );
        let f = evaluate(&stamp(), &i);
        assert_eq!(rules(&f), [UNDECLARED]);
        assert_eq!(f[0].subject, "Gold1");
        assert_eq!(f[0].evidence["subscription_count"], 42);
    }

    #[test]
    fn a_declared_plan_missing_from_wap_fires_only_when_wap_reported_plans() {
        let mut i = inputs(vec![], vec![declared("gold-ams")]);
        assert_eq!(rules(&evaluate(&stamp(), &i)), [NOT_IN_WAP]);
        i.collected = false;
        assert!(evaluate(&stamp(), &i).is_empty());
    }

    #[test]
    fn quota_mismatch_carries_both_values_in_the_declared_unit() {
        let mut s = SAME.to_vec();
        s[1] = ("CoreCount", "1800");
        s[2] = ("RamInMB", "4194304");
        let f = evaluate(
            &stamp(),
            &inputs(
                vec![wap("gold-ams", "public", &s)],
                vec![declared("gold-ams")],
            ),
        );
        assert_eq!(rules(&f), [QUOTA_MISMATCH]);
        let d = &f[0].evidence["differences"];
        assert_eq!(d[0]["quota"], "vcpus");
        assert_eq!(
            (d[0]["declared"].as_i64(), d[0]["wap"].as_i64()),
            (Some(2000), Some(1800))
        );
        assert_eq!(
            (d[1]["declared"].as_i64(), d[1]["wap"].as_i64()),
            (Some(8192), Some(4096))
        );
        assert_eq!(d[1]["wap_setting"], "RamInMB=4194304");
    }

    #[test]
    fn unlimited_or_absent_quotas_are_not_compared() {
        let s = [("VmCount", "-1"), ("CoreCount", "")];
        let f = evaluate(
            &stamp(),
            &inputs(
                vec![wap("gold-ams", "public", &s)],
                vec![declared("gold-ams")],
            ),
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn a_cloud_the_inventory_places_on_another_stamp_is_a_critical_cloud_mismatch() {
        let mut s = SAME.to_vec();
        s[4] = (
            "Clouds",
            r#"<Clouds><Cloud Id="d1c3" Name="AMS2 Cloud" StampId="9f2e" /></Clouds>"#,
        );
        let f = evaluate(
            &stamp(),
            &inputs(
                vec![wap("gold-ams", "public", &s)],
                vec![declared("gold-ams")],
            ),
        );
        assert_eq!(rules(&f), [CLOUD_MISMATCH]);
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].evidence["clouds"][0]["wap_cloud"], "AMS2 Cloud");
        assert_eq!(f[0].evidence["clouds"][0]["wap_cloud_stamps"][0], "ams-02");
        assert_eq!(f[0].evidence["declared_stamp"], stamp().name);
    }

    #[test]
    fn a_cloud_the_inventory_does_not_place_is_not_judged() {
        let mut s = SAME.to_vec();
        s[4] = (
            "Clouds",
            r#"<Clouds><Cloud Id="d1c3" StampId="9f2e" /></Clouds>"#,
        );
        let f = evaluate(
            &stamp(),
            &inputs(
                vec![wap("gold-ams", "public", &s)],
                vec![declared("gold-ams")],
            ),
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn cloud_references_read_from_wap_xml_and_plain_text() {
        assert_eq!(
            cloud_refs(
                r#"<Clouds><Cloud Id="a&amp;b" Name='Gold' /><Cloud StampId="x" Id="c"/></Clouds>"#
            ),
            [
                CloudRef {
                    id: Some("a&b".into()),
                    name: Some("Gold".into())
                },
                CloudRef {
                    id: Some("c".into()),
                    name: None
                },
            ]
        );
        assert_eq!(
            cloud_refs("Gold Cloud")[0].name.as_deref(),
            Some("Gold Cloud")
        );
        assert!(cloud_refs("<Clouds/>").is_empty());
        assert!(cloud_refs("<Cloud Id=").is_empty());
        // every predefined entity, decoded once (an escaped entity stays an entity); an unknown
        // one and a lone ampersand stay as they are
        assert_eq!(
            cloud_refs(
                r#"<Cloud Name="a &lt;b&gt; &quot;c&quot; &apos;d&apos; &amp;lt; &x; &" />"#
            )[0]
            .name
            .as_deref(),
            Some(r#"a <b> "c" 'd' &lt; &x; &"#)
        );
    }

    #[test]
    fn a_retired_stamp_is_not_judged() {
        let mut ctx = stamp();
        ctx.retired = true;
        assert!(evaluate(&ctx, &inputs(vec![wap("x", "public", &[])], vec![])).is_empty());
    }
}
