//! The stamp page's derived panels: component versions with their update rollups and drift,
//! and the server-certificate expiry timeline laid out per week.

use std::collections::BTreeMap;

use super::read::{self, TIMELINE_WEEKS};
use crate::web::overview::expiry_class;
use crate::web::svg::{self, Columns, Slot};

pub struct VersionRow {
    pub version: String,
    /// The update rollup this build is, when known.
    pub rollup: String,
    pub hosts: i64,
    pub below_target: bool,
}

pub struct ComponentRow {
    pub name: String,
    pub target: String,
    pub drift: bool,
    pub versions: Vec<VersionRow>,
}

/// The name of an update rollup for a component build (`VMM 2012 R2 UR14`), when known.
pub fn rollup_name(component: &str, version: &str) -> Option<&'static str> {
    crate::rules::versions::rollup_name(component, version)
}

/// Components with their versions; drift when hosts disagree or a version is below target.
pub fn components(
    counts: Vec<read::VersionCount>,
    targets: &BTreeMap<String, String>,
) -> Vec<ComponentRow> {
    let mut out: Vec<ComponentRow> = Vec::new();
    for c in counts {
        let target = targets.get(&c.component).cloned().unwrap_or_default();
        let below = !target.is_empty() && version_below(&c.version, &target);
        let row = VersionRow {
            rollup: rollup_name(&c.component, &c.version)
                .unwrap_or_default()
                .to_owned(),
            below_target: below,
            hosts: c.hosts,
            version: c.version,
        };
        match out.last_mut() {
            Some(last) if last.name == c.component => last.versions.push(row),
            _ => out.push(ComponentRow {
                name: c.component,
                target,
                drift: false,
                versions: vec![row],
            }),
        }
    }
    for c in &mut out {
        c.drift = c.versions.len() > 1 || c.versions.iter().any(|v| v.below_target);
    }
    out
}

/// Dotted numeric versions compared part by part (`3.2.8145.0` < `3.2.8169.0`); a version that
/// is not numeric is never called below.
pub fn version_below(version: &str, target: &str) -> bool {
    let parse =
        |s: &str| -> Option<Vec<u64>> { s.trim().split('.').map(|p| p.parse().ok()).collect() };
    match (parse(version), parse(target)) {
        (Some(mut v), Some(mut t)) => {
            let n = v.len().max(t.len());
            v.resize(n, 0);
            t.resize(n, 0);
            v < t
        }
        _ => false,
    }
}

pub fn timeline(
    weeks: &[read::WeekCount],
    warning_days: i32,
    critical_days: i32,
) -> (Columns, i64) {
    // slot 0: already expired; slot w+1: week w from now
    let mut slots: Vec<Slot> = (0..=TIMELINE_WEEKS)
        .map(|i| Slot {
            count: 0,
            class: if i == 0 {
                "b-expired"
            } else {
                match expiry_class(i64::from((i - 1) * 7), warning_days, critical_days) {
                    "critical" => "b-critical",
                    "warning" => "b-warning",
                    _ => "b-ok",
                }
            },
            title: String::new(),
        })
        .collect();
    let mut total = 0;
    for w in weeks {
        let i = (w.week + 1).clamp(0, TIMELINE_WEEKS) as usize;
        if let Some(s) = slots.get_mut(i) {
            s.count += w.certificates;
            total += w.certificates;
        }
    }
    for (i, s) in slots.iter_mut().enumerate() {
        s.title = if i == 0 {
            format!("{} expired, still installed", s.count)
        } else {
            format!(
                "{} expiring in week {} (days {}–{})",
                s.count,
                i,
                (i - 1) * 7,
                i * 7 - 1
            )
        };
    }
    let chart = svg::columns(
        &slots,
        |i| match i {
            0 => Some("expired".to_owned()),
            i if i > 1 && (i - 1) % 4 == 0 => Some(format!("+{} w", i - 1)),
            _ => None,
        },
        format!("{total} server certificates expire within {TIMELINE_WEEKS} weeks or have expired"),
    );
    (chart, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_part_by_part() {
        assert!(version_below("3.2.8145.0", "3.2.8169.0"));
        assert!(!version_below("3.2.8169.0", "3.2.8169.0"));
        assert!(!version_below("3.10.0.0", "3.9.9999.0"));
        assert!(version_below("3.2", "3.2.0.1"));
        assert!(!version_below("beta", "3.2"));
    }

    #[test]
    fn drift_is_several_versions_or_one_below_target() {
        let c = |component: &str, version: &str, hosts| read::VersionCount {
            component: component.into(),
            version: version.into(),
            hosts,
        };
        let targets = BTreeMap::from([("vmm_server".to_owned(), "3.2.8169.0".to_owned())]);
        let rows = components(
            vec![
                c("vmm_agent", "3.2.8145.0", 3),
                c("vmm_agent", "3.2.8169.0", 90),
                c("vmm_server", "3.2.8145.0", 1),
                c("wap", "3.33.8196.14", 1),
            ],
            &targets,
        );
        assert_eq!(rows.len(), 3);
        assert!(rows[0].drift && rows[0].versions.len() == 2);
        assert!(rows[1].drift && rows[1].versions[0].below_target);
        assert!(!rows[2].drift);
    }
}
