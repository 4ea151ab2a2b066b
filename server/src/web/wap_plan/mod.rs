//! `/plans/wap/{id}`: a plan as the fleet's WAP servers report it (state, subscriptions, every
//! service quota, the VMM clouds it sells, the changes WAP made to it over time), beside what
//! the inventory declares and where the two disagree. A plan only WAP knows can be adopted by an
//! admin (`POST /plans/wap/{id}/adopt`, CSRF-checked): the plan is declared on the chosen stamp
//! and cloud with WAP's name, state and quotas (audited like any inventory write), and the page
//! gives the `plans:` entry to commit to the inventory document, so that the next
//! `stampbook-server apply` keeps it.

pub mod adoption;
pub mod history;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use self::adoption::{adoption, plan_yaml};
use self::history::HistoryRow;
use super::access::Ctx;
use super::error::WebError;
use super::format::{self, When};
use super::page::{self, Chrome, Crumb};
use super::plans::describe;
use crate::api::plan_wap::{self, PlanWap, Reconciler};
use crate::api::plans::to_api;
use crate::facts::wap;
use crate::inventory::model::ApplySummary;
use crate::inventory::store;
use crate::inventory::validate;
use crate::state::AppState;

/// The statement of the open `plan.*` problems a plan's page lists (for the plan checks of the
/// tests).
pub const OPEN_PROBLEMS: &str = include_str!("sql/open_problems.sql");

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
    let db = super::reads::pool(state, ctx);
    let mut conn = db.acquire().await?;
    let wap_view = Reconciler::load_one(&mut conn, id).await?;
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
    let history = history::load(&mut conn, &key, ctx.now).await?;
    let problems = sqlx::query_file!("src/web/wap_plan/sql/open_problems.sql", key)
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
    let found = Reconciler::load_one(&mut conn, &id).await?;
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
