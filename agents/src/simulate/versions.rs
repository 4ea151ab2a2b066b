//! Component versions: System Center 2012 R2 update rollups as the hosts report them, the
//! fleet's target, and what a stamp one rollup behind (or a host one more behind) runs.

use stampbook_wire::{Component, Role};

/// VMM server / agent builds, oldest first; the last one is the fleet's target.
const VMM: [&str; 3] = ["3.2.8071.0", "3.2.8145.0", "3.2.8169.0"];
/// Windows Azure Pack builds, oldest first.
const WAP: [&str; 3] = ["3.31.8196.4", "3.32.8196.12", "3.33.8196.14"];
/// Service Provider Foundation builds, oldest first.
const SPF: [&str; 3] = ["7.2.3117.0", "7.2.3198.0", "7.2.3221.0"];
const SQL_SERVER: &str = "12.0.5000.0";

/// Which rollup a stamp (or a host) runs: 0 is the target, 1 one behind, 2 two behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampVersions {
    behind: usize,
}

impl StampVersions {
    pub fn current() -> Self {
        StampVersions { behind: 0 }
    }

    pub fn behind(rollups: usize) -> Self {
        StampVersions {
            behind: rollups.min(VMM.len() - 1),
        }
    }

    /// One rollup older than this.
    pub fn older(self) -> Self {
        StampVersions::behind(self.behind + 1)
    }

    fn pick(self, builds: &[&'static str; 3]) -> &'static str {
        builds[builds.len() - 1 - self.behind]
    }

    /// The `target_versions` every simulated stamp declares.
    pub fn target() -> Vec<(&'static str, &'static str)> {
        let now = StampVersions::current();
        vec![
            ("vmm_server", now.pick(&VMM)),
            ("vmm_agent", now.pick(&VMM)),
            ("wap", now.pick(&WAP)),
            ("spf", now.pick(&SPF)),
        ]
    }

    /// What a host of `role` reports in `settings.components`.
    pub fn components(self, role: Role) -> Vec<Component> {
        let list: Vec<(&str, &str)> = match role {
            Role::VmmServer => vec![
                ("vmm_server", self.pick(&VMM)),
                ("vmm_agent", self.pick(&VMM)),
            ],
            Role::HypervHost => vec![("vmm_agent", self.pick(&VMM))],
            Role::SpfServer => vec![("spf", self.pick(&SPF))],
            Role::WapServer => vec![("wap", self.pick(&WAP))],
            Role::SqlServer => vec![("sql_server", SQL_SERVER)],
            _ => vec![],
        };
        list.into_iter()
            .map(|(name, version)| Component {
                name: name.to_owned(),
                version: version.to_owned(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_one_rollup_behind_a_stamp_below_target_is_older_still() {
        let vmm = |v: StampVersions| v.components(Role::HypervHost)[0].version.clone();
        assert_eq!(vmm(StampVersions::current()), "3.2.8169.0");
        assert_eq!(vmm(StampVersions::current().older()), "3.2.8145.0");
        assert_eq!(vmm(StampVersions::behind(1).older()), "3.2.8071.0");
        assert_eq!(vmm(StampVersions::behind(9)), "3.2.8071.0", "clamped");
        assert!(StampVersions::target().contains(&("vmm_server", "3.2.8169.0")));
    }
}
