//! What WAP says of each plan beside what is declared (SPEC §6 "Plans carry what WAP reports for
//! them"): the read model that the plans API and the `/plans` pages share. A declared plan is
//! compared with what its stamp's WAP servers report (the rules' own comparison,
//! [`wap_plans::compare`]); a plan only WAP knows is listed with the stamps whose WAP reports it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use stampbook_wire::WapQuota;

use crate::facts::wap::{self, Reported, WapPlanFact};
use crate::inventory::model::{Plan, QuotaSpec};
use crate::inventory::store::{PlanRow, PlansPage};
use crate::rules::load;
use crate::rules::wap_plans::{self, DeclaredPlan, Disagreement};

/// A plan as WAP holds it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanWap {
    /// The id as WAP spells it (WAP compares ids ignoring case).
    pub id: String,
    pub display_name: String,
    /// `private`, `public` or `decommissioned`.
    pub state: String,
    pub subscription_count: Option<i64>,
    /// WAP's service quotas, setting keys and values as WAP holds them.
    pub quotas: Vec<WapQuota>,
    /// When the reporting WAP server last collected its plans.
    pub last_seen_at: DateTime<Utc>,
    /// The WAP servers (`stamp`, `host`) that report it.
    pub reported_by: Vec<Reporter>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reporter {
    pub stamp: String,
    pub host: String,
}

/// How a plan stands between the inventory and WAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WapStatus {
    /// Declared, and WAP agrees.
    Matched,
    /// Declared, WAP has it, and they differ (see `disagreements`).
    Disagrees,
    /// Declared, and the stamp's WAP reports plans without this one.
    NotInWap,
    /// Declared, and the stamp's WAP never reported plans: nothing is known.
    Unknown,
    /// Only WAP knows it.
    WapOnly,
}

impl WapStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WapStatus::Matched => "matched",
            WapStatus::Disagrees => "disagrees",
            WapStatus::NotInWap => "not_in_wap",
            WapStatus::Unknown => "unknown",
            WapStatus::WapOnly => "wap_only",
        }
    }
}

/// A declared plan with what WAP says of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    #[serde(flatten)]
    pub plan: Plan,
    /// Always `declared`.
    #[schema(pattern = "^declared$")]
    pub source: &'static str,
    /// What the stamp's WAP servers report for it; null when they do not.
    pub wap: Option<PlanWap>,
    pub wap_status: WapStatus,
    /// Where declared and WAP disagree (quotas with both values, the cloud's stamp, the state).
    pub disagreements: Vec<Disagreement>,
}

/// A plan WAP reports and the inventory does not declare.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WapOnlyPlan {
    /// WAP's id.
    pub wap_plan_id: String,
    /// Always `wap`.
    #[schema(pattern = "^wap$")]
    pub source: &'static str,
    pub wap_status: WapStatus,
    pub wap: PlanWap,
}

/// One item of the plans list: a declared plan, or one only WAP knows (`source` tells).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PlanItem {
    Declared(Box<PlanView>),
    Wap(WapOnlyPlan),
}

impl PlanItem {
    pub fn wap_plan_id(&self) -> &str {
        match self {
            PlanItem::Declared(p) => &p.plan.wap_plan_id,
            PlanItem::Wap(p) => &p.wap_plan_id,
        }
    }
}

/// Everything the fleet's WAP servers report, and the inventory's side, read once per request.
pub struct Reconciler {
    reported: BTreeMap<String, Vec<Reported>>,
    collected: BTreeSet<i64>,
    declared: BTreeMap<String, (i64, DeclaredPlan)>,
    cloud_stamps: BTreeMap<String, BTreeSet<String>>,
}

fn plan_wap(seen: &[&Reported]) -> Option<PlanWap> {
    plan_wap_owned(seen.iter().map(|r| (*r).clone()).collect())
}

/// What WAP holds of a plan, from the reports of it (the first speaks; each names its reporter),
/// moved into the answer.
fn plan_wap_owned(seen: Vec<Reported>) -> Option<PlanWap> {
    let last_seen_at = seen.iter().map(|r| r.last_seen_at).max()?;
    let mut reported_by = Vec::with_capacity(seen.len());
    let mut first = None;
    for r in seen {
        reported_by.push(Reporter {
            stamp: r.stamp,
            host: r.host,
        });
        first.get_or_insert(r.plan);
    }
    let first = first?;
    Some(PlanWap {
        id: first.id,
        display_name: first.display_name,
        state: first.state,
        subscription_count: first.subscription_count,
        quotas: first.quotas,
        last_seen_at,
        reported_by,
    })
}

/// A plan row as the WAP comparison reads it.
fn declared_plan(r: &PlanRow) -> DeclaredPlan {
    let d = &r.decl;
    DeclaredPlan {
        plan_id: r.id,
        wap_plan_id: d.wap_plan_id.clone(),
        name: d.name.clone(),
        stamp: d.stamp.to_string(),
        cloud: d.cloud.clone(),
        public: d.public,
        vms: d.quota.vms,
        vcpus: d.quota.vcpus,
        memory_gb: d.quota.memory_gb,
        storage_gb: d.quota.storage_gb,
    }
}

/// A declared plan whose key the reconciler holds no declaration of.
fn unknown(plan: Plan) -> PlanView {
    PlanView {
        plan,
        source: "declared",
        wap: None,
        wap_status: WapStatus::Unknown,
        disagreements: Vec::new(),
    }
}

/// What the WAP servers reported, by plan key.
fn by_key(rows: Vec<Reported>) -> BTreeMap<String, Vec<Reported>> {
    let mut out: BTreeMap<String, Vec<Reported>> = BTreeMap::new();
    for r in rows {
        out.entry(r.plan.key()).or_default().push(r);
    }
    out
}

impl Reconciler {
    /// What WAP says of the one plan `id` names, ignoring case (a plan's page, its adoption, the
    /// API's `GET /plans/{id}`): that plan's reports and declarations, not the fleet's.
    pub async fn load_one(conn: &mut PgConnection, id: &str) -> Result<Self, sqlx::Error> {
        Self::load_keys(conn, &[wap::key(id)]).await
    }

    /// What WAP says of the plans with these keys (lower-cased ids), declared or not: their
    /// reports and declarations only.
    pub async fn load_keys(conn: &mut PgConnection, keys: &[String]) -> Result<Self, sqlx::Error> {
        let reported = wap::reported(&mut *conn, wap::Which::WithKeys(keys)).await?;
        let declared = load::declared_plans_of_keys(&mut *conn, keys).await?;
        let clouds = wap_plans::named_clouds(reported.iter().map(|r| &r.plan));
        let cloud_stamps = load::cloud_stamps_among(&mut *conn, clouds).await?;
        Ok(Reconciler {
            reported: by_key(reported),
            collected: declared.wap_collected,
            declared: declared
                .plans
                .into_iter()
                .map(|(s, d)| (wap::key(&d.wap_plan_id), (s, d)))
                .collect(),
            cloud_stamps,
        })
    }

    /// What WAP says of a page of declared plans (and of the plans with the `extra` keys, which
    /// the inventory does not declare: the plans page's plans only WAP knows). The page itself
    /// is each plan's declaration and tells which stamps' WAP servers ever reported plans, so
    /// this reads WAP's reports of the keys and the stamps of the clouds they name: two
    /// statements, where [`Reconciler::load_keys`] reads the declarations again.
    pub async fn for_page(
        conn: &mut PgConnection,
        page: &PlansPage,
        extra: Vec<String>,
    ) -> Result<Self, sqlx::Error> {
        let declared: BTreeMap<String, (i64, DeclaredPlan)> = page
            .rows
            .iter()
            .map(|r| {
                (
                    wap::key(&r.decl.wap_plan_id),
                    (r.stamp_id, declared_plan(r)),
                )
            })
            .collect();
        let mut keys: Vec<String> = declared.keys().cloned().collect();
        keys.extend(extra);
        let reported = wap::reported(&mut *conn, wap::Which::WithKeys(&keys)).await?;
        let clouds = wap_plans::named_clouds(reported.iter().map(|r| &r.plan));
        let cloud_stamps = load::cloud_stamps_among(&mut *conn, clouds).await?;
        Ok(Reconciler {
            reported: by_key(reported),
            collected: page.wap_collected.clone(),
            declared,
            cloud_stamps,
        })
    }

    /// What WAP says of every plan, declared or not.
    pub async fn load(conn: &mut PgConnection) -> Result<Self, sqlx::Error> {
        let reported = by_key(wap::reported(&mut *conn, wap::Which::All).await?);
        let collected = wap::collected_stamps(&mut *conn, None)
            .await?
            .into_iter()
            .collect();
        let all = load::declared_plans(conn).await?;
        let cloud_stamps = load::cloud_stamps(&all);
        let declared = all
            .into_iter()
            .map(|(s, d)| (wap::key(&d.wap_plan_id), (s, d)))
            .collect();
        Ok(Reconciler {
            reported,
            collected,
            declared,
            cloud_stamps,
        })
    }

    /// A declared plan with what its stamp's WAP says.
    pub fn view(&self, plan: Plan) -> PlanView {
        let key = wap::key(&plan.wap_plan_id);
        let Some((stamp_id, _)) = self.declared.get(&key) else {
            return unknown(plan);
        };
        let seen: Vec<&Reported> = self
            .reported
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|r| r.stamp_id == *stamp_id)
            .collect();
        let (status, disagreements) = self.judge(&key, seen.first().map(|r| &r.plan));
        PlanView {
            plan,
            source: "declared",
            wap: plan_wap(&seen),
            wap_status: status,
            disagreements,
        }
    }

    /// [`Reconciler::view`] of each plan of a list: a plan's reports move into its answer instead
    /// of being copied (names, quotas; a page of plans spent 3.5 % of its time copying them),
    /// except where another plan of the list has the same key (ids differing in case), which
    /// needs them too.
    pub fn views(&mut self, plans: Vec<Plan>) -> Vec<PlanView> {
        let keys: Vec<String> = plans.iter().map(|p| wap::key(&p.wap_plan_id)).collect();
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for k in &keys {
            *count.entry(k.as_str()).or_default() += 1;
        }
        let shared: Vec<bool> = keys.iter().map(|k| count[k.as_str()] > 1).collect();
        plans
            .into_iter()
            .zip(shared)
            .map(|(p, shared)| self.take_view(p, shared))
            .collect()
    }

    fn take_view(&mut self, plan: Plan, shared: bool) -> PlanView {
        if shared {
            return self.view(plan);
        }
        let key = wap::key(&plan.wap_plan_id);
        let Some(&(stamp_id, _)) = self.declared.get(&key) else {
            return unknown(plan);
        };
        let seen: Vec<Reported> = self
            .reported
            .remove(&key)
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.stamp_id == stamp_id)
            .collect();
        let (status, disagreements) = self.judge(&key, seen.first().map(|r| &r.plan));
        PlanView {
            plan,
            source: "declared",
            wap: plan_wap_owned(seen),
            wap_status: status,
            disagreements,
        }
    }

    /// How the declared plan of `key` stands, given the first report of it from its stamp's WAP.
    fn judge(&self, key: &str, first: Option<&WapPlanFact>) -> (WapStatus, Vec<Disagreement>) {
        let Some((stamp_id, decl)) = self.declared.get(key) else {
            return (WapStatus::Unknown, Vec::new());
        };
        match first {
            None if self.collected.contains(stamp_id) => (WapStatus::NotInWap, vec![]),
            None => (WapStatus::Unknown, vec![]),
            Some(first) => {
                let d = wap_plans::compare(decl, first, &self.cloud_stamps);
                let status = if d.is_empty() {
                    WapStatus::Matched
                } else {
                    WapStatus::Disagrees
                };
                (status, d)
            }
        }
    }

    /// Plans WAP reports that the inventory does not declare (on `stamp` only when given),
    /// by id.
    pub fn wap_only(&self, stamp: Option<&str>) -> Vec<WapOnlyPlan> {
        self.reported
            .iter()
            .filter(|(key, _)| !self.declared.contains_key(*key))
            .filter_map(|(_, seen)| {
                let seen: Vec<&Reported> = seen
                    .iter()
                    .filter(|r| stamp.is_none_or(|s| r.stamp == s))
                    .collect();
                let wap = plan_wap(&seen)?;
                Some(WapOnlyPlan {
                    wap_plan_id: wap.id.clone(),
                    source: "wap",
                    wap_status: WapStatus::WapOnly,
                    wap,
                })
            })
            .collect()
    }

    /// The declared plan id that WAP's `id` names (ignoring case, as WAP compares ids).
    pub fn declared_id(&self, id: &str) -> Option<&str> {
        self.declared
            .get(&wap::key(id))
            .map(|(_, d)| d.wap_plan_id.as_str())
    }

    /// The WAP-only plan with this id (ignoring case).
    pub fn wap_only_one(&self, id: &str) -> Option<WapOnlyPlan> {
        let key = wap::key(id);
        if self.declared.contains_key(&key) {
            return None;
        }
        let seen: Vec<&Reported> = self.reported.get(&key)?.iter().collect();
        let wap = plan_wap(&seen)?;
        Some(WapOnlyPlan {
            wap_plan_id: wap.id.clone(),
            source: "wap",
            wap_status: WapStatus::WapOnly,
            wap,
        })
    }
}

/// WAP's VM Clouds quota in the inventory's terms (what adopting the plan declares).
pub fn declared_quota(plan: &PlanWap) -> QuotaSpec {
    let fact = crate::facts::wap::WapPlanFact {
        id: plan.id.clone(),
        display_name: plan.display_name.clone(),
        state: plan.state.clone(),
        subscription_count: plan.subscription_count,
        quotas: plan.quotas.clone(),
    };
    let n = |key: &str, unit: i64| wap_plans::wap_number(&fact, key).map(|v| v / unit);
    QuotaSpec {
        vms: n("VmCount", 1),
        vcpus: n("CoreCount", 1),
        memory_gb: n("RamInMB", 1024),
        storage_gb: n("StorageInGB", 1),
    }
}

/// The cloud names of a WAP plan's `Clouds` settings (names where WAP gives them, else ids).
pub fn clouds(plan: &PlanWap) -> Vec<String> {
    plan.quotas
        .iter()
        .filter(|q| q.service_name.eq_ignore_ascii_case("systemcenter"))
        .flat_map(|q| q.settings.iter())
        .filter(|(k, _)| k.eq_ignore_ascii_case("Clouds"))
        .flat_map(|(_, v)| wap_plans::cloud_refs(v))
        .filter_map(|c| c.name.or(c.id))
        .collect()
}
