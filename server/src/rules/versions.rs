//! Component versions: the update-rollup tables of VMM 2012 R2 and Windows Azure Pack (as data,
//! to be extended when Microsoft ships another build), numeric version order, and
//! `stamp.version_drift`.
//!
//! Decisions where the SPEC is silent:
//! - Component names are compared case-insensitively (`VMM_Server` is `vmm_server`); the
//!   finding's subject is the lower-case name.
//! - Names starting with `vmm` (`vmm_server`, `vmm_agent`, `vmm_console`, ...) read the VMM
//!   table; `wap`, `wap_*` / `wap-*` and `mgmtsvc*` (the WAP `MgmtSvc-*` sites) read the WAP
//!   table. Anything else (SPF, SQL...) has no rollup name. An unknown build has no name either:
//!   the UI shows the raw version, never a guess.
//! - Versions compare numerically part by part, missing trailing parts counting as zero
//!   (`3.2.7620` = `3.2.7620.0`). A version that is not dotted numbers differs from every other
//!   string, and is never judged below a target (its order is unknown).
//! - Drift and below-target are one finding per component (subject = component), because both
//!   are about the same fix: bring every host of the stamp to the same, targeted rollup.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::json;

use super::describe::{name_list, stamp_finding};
use super::model::{Finding, Severity, StampContext};

pub const VERSION_DRIFT: &str = "stamp.version_drift";

/// One build of a product: the rollup operators call it by, and its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollup {
    pub name: &'static str,
    pub version: &'static str,
}

const fn ur(name: &'static str, version: &'static str) -> Rollup {
    Rollup { name, version }
}

/// System Center 2012 R2 Virtual Machine Manager: server, agent and console share the build.
pub const VMM_2012_R2_ROLLUPS: &[Rollup] = &[
    ur("VMM 2012 R2 RTM", "3.2.7510.0"),
    ur("VMM 2012 R2 UR1", "3.2.7620.0"),
    ur("VMM 2012 R2 UR2", "3.2.7634.0"),
    ur("VMM 2012 R2 UR3", "3.2.7672.0"),
    ur("VMM 2012 R2 UR4", "3.2.7768.0"),
    ur("VMM 2012 R2 UR5", "3.2.7895.0"),
    ur("VMM 2012 R2 UR6", "3.2.8002.0"),
    ur("VMM 2012 R2 UR7", "3.2.8071.0"),
    ur("VMM 2012 R2 UR8", "3.2.8117.0"),
    ur("VMM 2012 R2 UR9", "3.2.8145.0"),
    ur("VMM 2012 R2 UR10", "3.2.8169.0"),
    ur("VMM 2012 R2 UR11", "3.2.8224.0"),
    ur("VMM 2012 R2 UR12", "3.2.8292.0"),
];

/// Windows Azure Pack (the `MgmtSvc-*` sites and APIs).
pub const WAP_ROLLUPS: &[Rollup] = &[
    ur("WAP UR7.1", "3.27.8196.3"),
    ur("WAP UR8", "3.28.8196.48"),
    ur("WAP UR8.1", "3.29.8196.0"),
    ur("WAP UR9.1", "3.32.8196.12"),
    ur("WAP UR10", "3.33.8196.14"),
    ur("WAP UR11", "3.37.8196.0"),
    ur("WAP UR12", "3.39.8196.0"),
    ur("WAP UR13", "3.50.45.0"),
    ur("WAP UR13.1", "3.50.48.0"),
];

/// The rollup table a component's versions come from, if stampbook knows one.
pub fn rollup_table(component: &str) -> Option<&'static [Rollup]> {
    let name = component.trim().to_ascii_lowercase();
    if name.starts_with("vmm") {
        Some(VMM_2012_R2_ROLLUPS)
    } else if name == "wap"
        || name.starts_with("wap_")
        || name.starts_with("wap-")
        || name.starts_with("mgmtsvc")
    {
        Some(WAP_ROLLUPS)
    } else {
        None
    }
}

/// `VMM 2012 R2 UR1` for `("vmm_server", "3.2.7620.0")`; `None` for a build not in the table.
pub fn rollup_name(component: &str, version: &str) -> Option<&'static str> {
    let version = Version::parse(version)?;
    rollup_table(component)?
        .iter()
        .find(|r| Version::parse(r.version).as_ref() == Some(&version))
        .map(|r| r.name)
}

/// A dotted numeric version (`3.2.7620.0`), ordered part by part.
#[derive(Debug, Clone)]
pub struct Version(Vec<u64>);

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let parts = s
            .trim()
            .split('.')
            .map(|p| p.parse::<u64>().ok())
            .collect::<Option<Vec<_>>>()?;
        Some(Version(parts))
    }

    fn part(&self, i: usize) -> u64 {
        self.0.get(i).copied().unwrap_or(0)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.0.len().max(other.0.len());
        (0..len)
            .map(|i| self.part(i).cmp(&other.part(i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Version {}

/// Numeric order of two versions; `None` when either is not dotted numbers.
pub fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    Some(Version::parse(a)?.cmp(&Version::parse(b)?))
}

/// `3.2.7620.0 (VMM 2012 R2 UR1)`, or the raw version when the build is unknown.
fn labelled(component: &str, version: &str) -> String {
    match rollup_name(component, version) {
        Some(name) => format!("{version} ({name})"),
        None => version.to_owned(),
    }
}

/// The hosts reporting one version of a component.
struct VersionGroup {
    version: String,
    hosts: Vec<String>,
}

/// `stamp.version_drift` over `(host_id, fqdn, component, version)` rows of one stamp.
pub fn evaluate(ctx: &StampContext, components: &[(i64, String, String, String)]) -> Vec<Finding> {
    // component → groups of hosts by (numerically) equal version.
    let mut by_component: BTreeMap<String, Vec<VersionGroup>> = BTreeMap::new();
    for (_, fqdn, component, version) in components {
        let groups = by_component
            .entry(component.trim().to_ascii_lowercase())
            .or_default();
        let version = version.trim();
        let same = |g: &&mut VersionGroup| match compare_versions(&g.version, version) {
            Some(order) => order.is_eq(),
            None => g.version == version,
        };
        match groups.iter_mut().find(same) {
            Some(group) if group.hosts.contains(fqdn) => {}
            Some(group) => group.hosts.push(fqdn.clone()),
            None => groups.push(VersionGroup {
                version: version.to_owned(),
                hosts: vec![fqdn.clone()],
            }),
        }
    }
    let targets: BTreeMap<String, &String> = ctx
        .target_versions
        .iter()
        .map(|(name, version)| (name.trim().to_ascii_lowercase(), version))
        .collect();
    by_component
        .into_iter()
        .filter_map(|(component, groups)| {
            component_finding(ctx, &component, groups, targets.get(&component).copied())
        })
        .collect()
}

fn component_finding(
    ctx: &StampContext,
    component: &str,
    mut groups: Vec<VersionGroup>,
    target: Option<&String>,
) -> Option<Finding> {
    // Newest first; unparseable versions last, in text order.
    groups.sort_by(
        |a, b| match (Version::parse(&a.version), Version::parse(&b.version)) {
            (Some(x), Some(y)) => y.cmp(&x),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => a.version.cmp(&b.version),
        },
    );
    for group in &mut groups {
        group.hosts.sort();
    }
    let below: Vec<String> = target
        .map(|target| {
            groups
                .iter()
                .filter(|g| compare_versions(&g.version, target) == Some(Ordering::Less))
                .flat_map(|g| g.hosts.iter().cloned())
                .collect()
        })
        .unwrap_or_default();
    let drift = groups.len() > 1;
    if !drift && below.is_empty() {
        return None;
    }

    let mut sentences = Vec::new();
    if drift {
        let spread: Vec<String> = groups
            .iter()
            .map(|g| {
                format!(
                    "{} on {}",
                    labelled(component, &g.version),
                    name_list(&g.hosts, 5)
                )
            })
            .collect();
        sentences.push(format!(
            "{component} differs across hosts of {}: {}",
            ctx.name,
            spread.join("; ")
        ));
    }
    if let (Some(target), false) = (target, below.is_empty()) {
        sentences.push(format!(
            "{} below the target {} of {}: {}",
            if below.len() == 1 {
                "1 host is".to_owned()
            } else {
                format!("{} hosts are", below.len())
            },
            labelled(component, target),
            ctx.name,
            name_list(&below, 5)
        ));
    }
    let message = format!(
        "{}. Apply the update rollup so every host runs the same build",
        sentences.join(". ")
    );
    let evidence = json!({
        "component": component,
        "versions": groups.iter().map(|g| json!({
            "version": g.version,
            "rollup": rollup_name(component, &g.version),
            "hosts": g.hosts,
        })).collect::<Vec<_>>(),
        "target": target,
        "target_rollup": target.and_then(|t| rollup_name(component, t)),
        "below_target": below,
    });
    Some(stamp_finding(
        VERSION_DRIFT,
        Severity::Warning,
        component,
        message,
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::stamp;
    use super::*;

    fn row(id: i64, host: &str, component: &str, version: &str) -> (i64, String, String, String) {
        (id, host.into(), component.into(), version.into())
    }

    #[test]
    fn known_builds_have_rollup_names_unknown_ones_do_not() {
        assert_eq!(
            rollup_name("vmm_server", "3.2.7620.0"),
            Some("VMM 2012 R2 UR1")
        );
        assert_eq!(
            rollup_name("VMM_Agent", "3.2.8292"),
            Some("VMM 2012 R2 UR12")
        );
        assert_eq!(rollup_name("vmm_console", "3.2.7511.0"), None);
        assert_eq!(
            rollup_name("MgmtSvc-AdminSite", "3.50.48.0"),
            Some("WAP UR13.1")
        );
        assert_eq!(rollup_name("wap", "3.27.8196.3"), Some("WAP UR7.1"));
        // A WAP build is no VMM rollup and SPF has no table.
        assert_eq!(rollup_name("vmm_server", "3.50.48.0"), None);
        assert_eq!(rollup_name("spf", "3.2.7620.0"), None);
        assert_eq!(rollup_name("vmm_server", "latest"), None);
    }

    #[test]
    fn versions_compare_numerically_not_as_text() {
        assert_eq!(
            compare_versions("3.2.8002.0", "3.2.7895.0"),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare_versions("3.50.45.0", "3.9.0.0"),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare_versions("3.2.7620", "3.2.7620.0"),
            Some(Ordering::Equal)
        );
        assert_eq!(compare_versions("3.2.x", "3.2.0"), None);
    }

    #[test]
    fn drift_names_versions_rollups_and_hosts() {
        let rows = [
            row(1, "hv01", "vmm_agent", "3.2.7620.0"),
            row(2, "hv02", "vmm_agent", "3.2.7620"),
            row(3, "hv03", "vmm_agent", "3.2.7510.0"),
            row(4, "vmm01", "vmm_server", "3.2.7620.0"),
        ];
        let findings = evaluate(&stamp(), &rows);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(
            (f.rule, f.severity, f.host_id),
            (VERSION_DRIFT, Severity::Warning, None)
        );
        assert_eq!(f.subject, "vmm_agent");
        assert!(
            f.message.contains(
                "3.2.7620.0 (VMM 2012 R2 UR1) on hv01, hv02; 3.2.7510.0 (VMM 2012 R2 RTM) on hv03"
            ),
            "{}",
            f.message
        );
        assert_eq!(f.evidence["versions"][1]["hosts"], json!(["hv03"]));
    }

    #[test]
    fn one_version_everywhere_at_or_above_target_is_fine() {
        let mut ctx = stamp();
        ctx.target_versions
            .insert("vmm_server".into(), "3.2.7620.0".into());
        let rows = [
            row(1, "vmm01", "vmm_server", "3.2.7634.0"),
            row(2, "vmm02", "VMM_Server", "3.2.7634.0"),
        ];
        assert!(evaluate(&ctx, &rows).is_empty());
    }

    #[test]
    fn a_version_below_target_names_the_hosts_even_without_drift() {
        let mut ctx = stamp();
        ctx.target_versions
            .insert("vmm_server".into(), "3.2.7634.0".into());
        let rows = [row(1, "vmm01", "vmm_server", "3.2.7620.0")];
        let findings = evaluate(&ctx, &rows);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].subject, "vmm_server");
        assert!(
            findings[0].message.contains(
                "1 host is below the target 3.2.7634.0 (VMM 2012 R2 UR2) of ams-01: vmm01"
            ),
            "{}",
            findings[0].message
        );
        assert_eq!(findings[0].evidence["below_target"], json!(["vmm01"]));
    }

    #[test]
    fn an_unparseable_version_drifts_but_is_never_below_target() {
        let mut ctx = stamp();
        ctx.target_versions.insert("spf".into(), "7.2.5.0".into());
        assert!(evaluate(&ctx, &[row(1, "spf01", "spf", "unknown")]).is_empty());
        let rows = [
            row(1, "spf01", "spf", "unknown"),
            row(2, "spf02", "spf", "7.2.5.0"),
        ];
        assert_eq!(evaluate(&ctx, &rows)[0].evidence["below_target"], json!([]));
    }
}
