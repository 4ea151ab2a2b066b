//! `/plans/wap/{id}`: a plan as the fleet's WAP servers report it (state, subscriptions, every
//! service quota, the VMM clouds it sells, the changes WAP made to it over time), beside what
//! the inventory declares and where the two disagree. A plan only WAP knows can be adopted by an
//! admin (`POST /plans/wap/{id}/adopt`, CSRF-checked): the plan is declared on the chosen stamp
//! and cloud with WAP's name, state and quotas (audited like any inventory write), and the page
//! gives the `plans:` entry to commit to the inventory document, so that the next
//! `stampbook-server apply` keeps it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::access::Ctx;
use super::error::WebError;
use super::format::{self, When};
use super::page::{self, Chrome, Crumb};
use super::plans::describe;
use crate::api::plan_wap::{self, PlanWap, Reconciler};
use crate::api::plans::to_api;
use crate::facts::wap;
use crate::inventory::model::{ApplySummary, PlanSpec, QuotaSpec};
use crate::inventory::store;
use crate::inventory::validate::{self, PlanDecl};
use crate::startup::AppState;

/// Changes of a plan shown on its page (newest first).
const HISTORY_ROWS: i64 = 100;

/// What the inventory declares for the plan.
pub struct Declared {
    pub wap_plan_id: String,
    pub name: String,
    pub stamp: String,
    pub cloud: String,
    pub public: bool,
    pub quota: String,
    pub wap_status: &'static str,
    pub disagreements: Vec<String>,
}

/// One change WAP made to the plan, as a WAP server reported it.
pub struct HistoryRow {
    pub at: When,
    pub host: String,
    pub change: String,
    /// What changed, in words (`subscription_count 40 → 42`, ...).
    pub what: Vec<String>,
}

/// An open problem about the plan.
pub struct PlanProblem {
    pub rule: String,
    pub severity: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "wap_plan.html")]
pub struct WapPlanPage {
    pub chrome: Chrome,
    /// The id as WAP spells it (as declared when WAP does not report it).
    pub id: String,
    /// What WAP reports; `None` for a declared plan its stamp's WAP does not report.
    pub plan: Option<PlanWap>,
    pub seen: Option<When>,
    /// The VMM clouds WAP's `Clouds` quota settings name.
    pub clouds: Vec<String>,
    pub declared: Option<Declared>,
    pub problems: Vec<PlanProblem>,
    pub history: Vec<HistoryRow>,
    /// An admin's own session on a plan only WAP knows: the adoption form is shown.
    pub can_adopt: bool,
    /// Stamps to adopt it on (live ones), those whose WAP reports it first.
    pub stamps: Vec<String>,
    pub stamp: String,
    pub cloud: String,
    pub remote_console: bool,
    /// The inventory document's `plans:` entry: what adopting declares, or what is declared.
    pub yaml: String,
    /// Why that entry cannot be declared as it stands (an id or name the inventory refuses).
    pub yaml_error: String,
    pub adopted: bool,
    /// Why the admin's adoption was refused.
    pub error: String,
}

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

/// Values of a plan's history entry by field, quota settings flattened to `service/Key`.
fn fields(v: &Value) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for key in ["display_name", "state", "subscription_count"] {
        if let Some(x) = v.get(key) {
            let shown = match x {
                Value::String(s) => s.clone(),
                Value::Null => "not said".to_owned(),
                other => other.to_string(),
            };
            out.insert(key.to_owned(), shown);
        }
    }
    for q in v
        .get("quotas")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let service = q.get("service_name").and_then(Value::as_str).unwrap_or("?");
        for (k, x) in q
            .get("settings")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            out.insert(
                format!("{service}/{k}"),
                x.as_str().map_or_else(|| x.to_string(), str::to_owned),
            );
        }
    }
    out
}

/// What a change did, in words: each field that differs, `before → after`.
pub fn changed_fields(before: Option<&Value>, after: Option<&Value>) -> Vec<String> {
    let (b, a) = (
        before.map(fields).unwrap_or_default(),
        after.map(fields).unwrap_or_default(),
    );
    let cut = |s: &str| {
        if s.chars().count() > 120 {
            format!("{}…", s.chars().take(120).collect::<String>())
        } else {
            s.to_owned()
        }
    };
    let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    keys.into_iter()
        .filter_map(|k| match (b.get(k), a.get(k)) {
            (Some(x), Some(y)) if x == y => None,
            (Some(x), Some(y)) => Some(format!("{k}: {} → {}", cut(x), cut(y))),
            (None, Some(y)) => Some(format!("{k}: {}", cut(y))),
            (Some(x), None) => Some(format!("{k}: {} (gone)", cut(x))),
            (None, None) => None,
        })
        .collect()
}

/// The query of the page after an adoption.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    pub adopted: Option<String>,
    pub wallboard: Option<String>,
}

/// The admin's choice in the adoption form.
#[derive(Debug, Default, Deserialize)]
pub struct AdoptForm {
    pub csrf: Option<String>,
    #[serde(default)]
    pub stamp: String,
    #[serde(default)]
    pub cloud: String,
    /// A checkbox: present (`1`) when Remote Console is offered with the plan.
    pub remote_console: Option<String>,
}

impl AdoptForm {
    fn remote_console(&self) -> bool {
        self.remote_console
            .as_deref()
            .is_some_and(|v| matches!(v, "1" | "on" | "true"))
    }
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    choice: Option<&AdoptForm>,
    adopted: bool,
    error: String,
) -> Result<HttpResponse, WebError> {
    let mut conn = state.pool.acquire().await?;
    let wap_view = Reconciler::load(&mut conn).await?;
    let key = wap::key(id);
    let (plan, declared, decl) = match wap_view.declared_id(id).map(str::to_owned) {
        Some(declared_id) => {
            let row = store::fetch_plan(&mut conn, &declared_id)
                .await?
                .ok_or_else(|| WebError::NotFound(format!("No plan '{id}' is declared.")))?;
            let decl = row.decl.clone();
            let view = to_api(&mut conn, vec![row])
                .await?
                .pop()
                .map(|p| wap_view.view(p))
                .ok_or_else(|| WebError::NotFound(format!("No plan '{id}' is declared.")))?;
            let p = &view.plan;
            let declared = Declared {
                wap_plan_id: p.wap_plan_id.clone(),
                name: p.name.clone(),
                stamp: p.stamp.clone(),
                cloud: p.cloud.clone(),
                public: p.public,
                quota: format!(
                    "{} VMs · {} vCPUs · {} GB memory · {} GB storage",
                    format::int(p.quota.vms),
                    format::int(p.quota.vcpus),
                    format::int(p.quota.memory_gb),
                    format::int(p.quota.storage_gb)
                ),
                wap_status: view.wap_status.as_str(),
                disagreements: view.disagreements.iter().map(describe).collect(),
            };
            (view.wap, Some(declared), Some(decl))
        }
        None => {
            let only = wap_view.wap_only_one(id).ok_or_else(|| {
                WebError::NotFound(format!(
                    "No WAP server reports a plan '{id}' and the inventory does not declare it."
                ))
            })?;
            (Some(only.wap), None, None)
        }
    };
    let history = sqlx::query!(
        r#"select c.at, h.fqdn::text as "host!", c.change, c.before, c.after
           from fact_changes c join hosts h on h.id = c.host_id
           where c.host_id in (select id from hosts where wap_collected_at is not null)
             and c.kind = 'wap_plan' and c.key = $1
           order by c.at desc, c.id desc limit $2"#,
        key,
        HISTORY_ROWS
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|c| HistoryRow {
        at: When::at(c.at, ctx.now),
        host: c.host,
        what: changed_fields(c.before.as_ref(), c.after.as_ref()),
        change: c.change,
    })
    .collect();
    let problems = sqlx::query!(
        r#"select rule, severity, message from problems
           where resolved_at is null and rule like 'plan.%' and lower(subject) = $1
           order by case severity when 'critical' then 0 when 'warning' then 1 else 2 end, rule
           limit 50"#,
        key
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|p| PlanProblem {
        rule: p.rule,
        severity: p.severity,
        message: p.message,
    })
    .collect();
    let mut stamps: Vec<String> = plan
        .iter()
        .flat_map(|p| p.reported_by.iter().map(|r| r.stamp.clone()))
        .collect();
    stamps.extend(
        sqlx::query_scalar!("select name from stamps where retired_at is null order by name")
            .fetch_all(&mut *conn)
            .await?,
    );
    let mut unique = std::collections::BTreeSet::new();
    stamps.retain(|s| unique.insert(s.clone()));
    let clouds = plan.as_ref().map(plan_wap::clouds).unwrap_or_default();
    let stamp = choice
        .map(|c| c.stamp.trim().to_owned())
        .filter(|s| stamps.contains(s))
        .or_else(|| stamps.first().cloned())
        .unwrap_or_default();
    let cloud = choice
        .map(|c| c.cloud.trim().to_owned())
        .or_else(|| clouds.first().cloned())
        .unwrap_or_default();
    let remote_console = choice.is_some_and(AdoptForm::remote_console);
    let (yaml, yaml_error) = match (&decl, &plan) {
        (Some(d), _) => (plan_yaml(d), String::new()),
        (None, Some(p)) => {
            match validate::plan(&adoption(p, &stamp, &cloud, remote_console), None, "") {
                Ok(d) => (plan_yaml(&d), String::new()),
                Err(e) => (String::new(), e.message),
            }
        }
        (None, None) => (String::new(), String::new()),
    };
    let title = plan
        .as_ref()
        .map(|p| p.id.clone())
        .or_else(|| declared.as_ref().map(|d| d.wap_plan_id.clone()))
        .unwrap_or_else(|| id.to_owned());
    let page = WapPlanPage {
        chrome: Chrome::new(ctx, format!("WAP plan {title}"), "plans").crumbs(vec![
            Crumb::link("Overview", "/"),
            Crumb::link("Plans", "/plans"),
            Crumb::here(title.clone()),
        ]),
        id: title,
        seen: plan.as_ref().map(|p| When::at(p.last_seen_at, ctx.now)),
        clouds,
        can_adopt: declared.is_none() && ctx.is_admin() && !ctx.wallboard,
        plan,
        declared,
        problems,
        history,
        stamps,
        stamp,
        cloud,
        remote_console,
        yaml,
        yaml_error,
        adopted,
        error: error.clone(),
    };
    let mut resp = page::render(&page)?;
    if !error.is_empty() {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, WebError> {
    let adopted = q.adopted.as_deref() == Some("1");
    render(&state, &ctx, &id, None, adopted, String::new()).await
}

/// The admin's "adopt": declares the plan only WAP knows on the chosen stamp and cloud, then
/// back to its page (303), which gives the inventory YAML to commit.
pub async fn adopt(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: web::Path<String>,
    f: web::Form<AdoptForm>,
) -> Result<HttpResponse, WebError> {
    let who = ctx.authorize_write(true, f.csrf.as_deref())?;
    let mut conn = state.pool.acquire().await?;
    let found = Reconciler::load(&mut conn).await?;
    if let Some(declared) = found.declared_id(&id) {
        return Err(WebError::Conflict(format!(
            "Plan '{declared}' is already declared in the inventory; its page shows how it compares with WAP."
        )));
    }
    let Some(only) = found.wap_only_one(&id) else {
        return Err(WebError::NotFound(format!(
            "No WAP server reports a plan '{id}': there is nothing to adopt."
        )));
    };
    drop(conn);
    let stamp = f.stamp.trim();
    let spec = adoption(&only.wap, stamp, f.cloud.trim(), f.remote_console());
    let decl = match validate::plan(&spec, None, "") {
        Ok(d) => d,
        Err(e) => {
            let field = e.field.clone().unwrap_or_default();
            let message = if field.is_empty() {
                format!("Not adopted: {}", e.message)
            } else {
                format!("Not adopted: {} ({field})", e.message)
            };
            return render(&state, &ctx, &id, Some(&*f), false, message).await;
        }
    };
    let mut tx = state.pool.begin().await?;
    let live = store::fetch_stamp(&mut tx, decl.stamp.as_str())
        .await?
        .filter(|s| s.retired_at.is_none());
    let Some(target) = live else {
        drop(tx);
        let message = format!("Not adopted: there is no live stamp named '{stamp}' (stamp).");
        return render(&state, &ctx, &id, Some(&*f), false, message).await;
    };
    if store::fetch_plan(&mut tx, &decl.wap_plan_id)
        .await?
        .is_some()
    {
        return Err(WebError::Conflict(format!(
            "Plan '{}' was declared meanwhile.",
            decl.wap_plan_id
        )));
    }
    let mut summary = ApplySummary::default();
    store::put_plan(&mut tx, &decl, target.id, &who.name, &mut summary).await?;
    tx.commit().await?;
    tracing::info!(plan = %decl.wap_plan_id, stamp = %decl.stamp, by = %who.name, "WAP plan adopted into the inventory from the dashboard");
    Ok(page::see_other(&format!(
        "/plans/wap/{}?adopted=1",
        format::encode(&decl.wap_plan_id)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;
    use stampbook_wire::WapQuota;

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

    #[test]
    fn a_history_entry_names_each_field_and_quota_setting_that_changed() {
        let before = json!({"id": "Gold", "display_name": "Gold", "state": "public", "subscription_count": 40,
                            "quotas": [{"service_name": "systemcenter", "settings": {"CoreCount": "100", "VmCount": "5"}}]});
        let after = json!({"id": "Gold", "display_name": "Gold", "state": "private", "subscription_count": 42,
                           "quotas": [{"service_name": "systemcenter", "settings": {"CoreCount": "120", "VmCount": "5"}}]});
        assert_eq!(
            changed_fields(Some(&before), Some(&after)),
            [
                "state: public → private",
                "subscription_count: 40 → 42",
                "systemcenter/CoreCount: 100 → 120"
            ]
        );
        assert!(changed_fields(None, Some(&after)).contains(&"state: private".to_owned()));
        assert!(changed_fields(Some(&before), None).contains(&"state: public (gone)".to_owned()));
    }
}
