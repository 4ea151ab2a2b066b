//! Adopting a plan only WAP knows: the declaration it makes (WAP's id, name, state and VM Clouds
//! quota on the chosen stamp and cloud) and that declaration as the inventory document's
//! `plans:` entry (SPEC §3), the YAML an admin commits.

use crate::api::plan_wap::{self, PlanWap};
use crate::inventory::model::{PlanSpec, QuotaSpec};
use crate::inventory::validate::PlanDecl;

/// A YAML double-quoted scalar: JSON's string syntax is YAML's, escapes included.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// The inventory document's `plans:` entry (SPEC §3's plan shape) for a declaration.
pub fn plan_yaml(d: &PlanDecl) -> String {
    let q = &d.quota;
    let mut out = format!(
        "plans:\n  - wap_plan_id: {}\n    name: {}\n    public: {}\n    stamp: {}\n    cloud: {}\n    remote_console: {}\n    quota: {{vms: {}, vcpus: {}, memory_gb: {}, storage_gb: {}}}\n",
        quoted(&d.wap_plan_id),
        quoted(&d.name),
        d.public,
        quoted(d.stamp.as_str()),
        quoted(&d.cloud),
        d.remote_console,
        q.vms,
        q.vcpus,
        q.memory_gb,
        q.storage_gb,
    );
    if d.subscriptions != 0 {
        out.push_str(&format!("    subscriptions: {}\n", d.subscriptions));
    }
    out
}

/// The declaration adopting `plan` makes: WAP's id, name (its id when WAP gives none) and state,
/// its VM Clouds quota in the inventory's units (a limit WAP leaves unlimited declares 0, which
/// the quota comparison does not judge), on the chosen stamp and cloud.
pub fn adoption(plan: &PlanWap, stamp: &str, cloud: &str, remote_console: bool) -> PlanSpec {
    let q = plan_wap::declared_quota(plan);
    PlanSpec {
        wap_plan_id: Some(plan.id.clone()),
        name: if plan.display_name.trim().is_empty() {
            plan.id.clone()
        } else {
            plan.display_name.clone()
        },
        public: Some(plan.state == "public"),
        stamp: stamp.to_owned(),
        cloud: Some(cloud.to_owned()),
        remote_console: Some(remote_console),
        quota: Some(QuotaSpec {
            vms: q.vms,
            vcpus: q.vcpus,
            memory_gb: q.memory_gb,
            storage_gb: q.storage_gb,
        }),
        subscriptions: None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use stampbook_wire::WapQuota;

    use super::*;
    use crate::inventory::validate;

    fn bronze() -> PlanWap {
        PlanWap {
            id: "Bronze9x".into(),
            display_name: "Bronze \"Basic\" #1: été".into(),
            state: "public".into(),
            subscription_count: Some(7),
            quotas: vec![WapQuota {
                service_name: "systemcenter".into(),
                instance_id: None,
                settings: [
                    ("VmCount", "10"),
                    ("CoreCount", "20"),
                    ("RamInMB", "40960"),
                    ("StorageInGB", "-1"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            }],
            last_seen_at: Utc::now(),
            reported_by: vec![],
        }
    }

    #[test]
    fn the_adoption_yaml_is_an_inventory_document_that_declares_the_same_plan() {
        let spec = adoption(&bronze(), "ams-01", "Gold: Cloud\n", true);
        let decl = validate::plan(&spec, None, "").unwrap();
        let yaml = plan_yaml(&decl);
        assert!(
            yaml.contains("quota: {vms: 10, vcpus: 20, memory_gb: 40, storage_gb: 0}"),
            "{yaml}"
        );
        // the inventory's own YAML reader takes it back to the same declaration
        let doc = crate::inventory::apply::parse_document(yaml.as_bytes(), true).unwrap();
        assert_eq!(doc.plans.len(), 1);
        assert_eq!(
            validate::plan(&doc.plans[0], None, "plans[0]").unwrap(),
            decl
        );
        assert_eq!(decl.name, "Bronze \"Basic\" #1: été");
        assert!(decl.public && decl.remote_console);
    }

    #[test]
    fn a_private_plan_without_a_name_is_adopted_private_under_its_id() {
        let mut p = bronze();
        p.display_name = " ".into();
        p.state = "private".into();
        let decl = validate::plan(&adoption(&p, "fra-01", "", false), None, "").unwrap();
        assert_eq!(decl.name, "Bronze9x");
        assert!(!decl.public && !decl.remote_console);
    }
}
