//! Applying an inventory document: everything validated first, then written in one transaction,
//! so a document is applied whole or not at all; applying it twice changes nothing. The command
//! line shows its progress (a large document takes a while); the HTTP route applies silently.

use std::collections::{HashMap, HashSet};

use sqlx::PgPool;
use stampbook_progress::{Out, Progress};

use super::model::{ApplySummary, InventoryDocument};
use super::store;
use super::validate::{self, NetworkDecl, PlanDecl, ScaleUnitDecl, StampDecl};
use crate::error::ApiError;

struct StampPlan {
    decl: StampDecl,
    networks: Option<Vec<NetworkDecl>>,
    scale_units: Option<Vec<ScaleUnitDecl>>,
}

/// Parses a document given as YAML or JSON (JSON is YAML, but JSON errors read better).
pub fn parse_document(bytes: &[u8], yaml: bool) -> Result<InventoryDocument, ApiError> {
    if yaml {
        super::yaml::parse(bytes)
    } else {
        crate::json::from_json(bytes)
    }
}

/// Validates the whole document; the first error wins, with its field path.
fn validate(
    doc: &InventoryDocument,
    out: Out,
) -> Result<(Vec<StampPlan>, Vec<PlanDecl>), ApiError> {
    let mut progress = Progress::to(
        out,
        "validating",
        (doc.stamps.len() + doc.plans.len()) as u64,
    );
    let mut stamps = Vec::with_capacity(doc.stamps.len());
    let mut names = HashSet::new();
    for (i, s) in doc.stamps.iter().enumerate() {
        let at = format!("stamps[{i}]");
        let decl = validate::stamp(s, None, &at)?;
        if !names.insert(decl.name.clone()) {
            return Err(ApiError::conflict(
                "duplicate_stamp",
                format!("stamp '{}' is declared twice", decl.name),
            )
            .with_field(format!("{at}.name")));
        }
        let networks = s
            .networks
            .as_deref()
            .map(|n| validate::networks(n, &at))
            .transpose()?;
        let scale_units = s
            .scale_units
            .as_deref()
            .map(|n| validate::scale_units(n, &at))
            .transpose()?;
        progress.advance(1, decl.name.as_str());
        stamps.push(StampPlan {
            decl,
            networks,
            scale_units,
        });
    }
    let mut plans = Vec::with_capacity(doc.plans.len());
    let mut ids = HashSet::new();
    for (i, p) in doc.plans.iter().enumerate() {
        let at = format!("plans[{i}]");
        let decl = validate::plan(p, None, &at)?;
        if !ids.insert(decl.wap_plan_id.clone()) {
            return Err(ApiError::conflict(
                "duplicate_plan",
                format!("plan '{}' is declared twice", decl.wap_plan_id),
            )
            .with_field(format!("{at}.wap_plan_id")));
        }
        progress.advance(1, &decl.wap_plan_id);
        plans.push(decl);
    }
    progress.finish();
    Ok((stamps, plans))
}

/// Applies `doc` silently (the HTTP route).
pub async fn apply(
    pool: &PgPool,
    doc: &InventoryDocument,
    actor: &str,
) -> Result<ApplySummary, ApiError> {
    apply_showing(pool, doc, actor, Out::Hidden).await
}

/// Applies `doc`, showing on `out` the validation, then the stamps written (each with its
/// networks and scale units), then the plans.
pub async fn apply_showing(
    pool: &PgPool,
    doc: &InventoryDocument,
    actor: &str,
    out: Out,
) -> Result<ApplySummary, ApiError> {
    let (stamps, plans) = validate(doc, out)?;
    let mut summary = ApplySummary::default();
    let mut tx = pool.begin().await?;
    // one apply at a time: two concurrent documents must not interleave
    sqlx::query!("select pg_advisory_xact_lock(hashtext('stampbook.inventory'))")
        .execute(&mut *tx)
        .await?;
    let mut ids: HashMap<String, i64> = HashMap::new();
    let mut progress = Progress::to(out, "writing stamps", stamps.len() as u64);
    for s in &stamps {
        let id = store::put_stamp(&mut tx, &s.decl, actor, &mut summary).await?;
        let name = s.decl.name.as_str();
        if let Some(n) = &s.networks {
            store::sync_networks(&mut tx, id, name, n, actor, &mut summary).await?;
        }
        if let Some(u) = &s.scale_units {
            store::sync_scale_units(&mut tx, id, name, u, actor, &mut summary).await?;
        }
        ids.insert(name.to_owned(), id);
        progress.advance(1, name);
    }
    progress.finish();
    let mut progress = Progress::to(out, "writing plans", plans.len() as u64);
    for (i, p) in plans.iter().enumerate() {
        let stamp_id = match ids.get(p.stamp.as_str()) {
            Some(id) => *id,
            None => store::fetch_stamp(&mut tx, p.stamp.as_str())
                .await?
                .map(|r| r.id)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "unknown_stamp",
                        format!("plan '{}' names stamp '{}', which is neither in this document nor stored", p.wap_plan_id, p.stamp),
                        format!("plans[{i}].stamp"),
                    )
                })?,
        };
        store::put_plan(&mut tx, p, stamp_id, actor, &mut summary).await?;
        progress.advance(1, &p.wap_plan_id);
    }
    progress.finish();
    tx.commit().await?;
    Ok(summary)
}
