//! Events into the outbox: one `webhook_deliveries` row per event and subscribed webhook,
//! written in the transaction that opened or resolved the problems.

use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::problems::{self, Problem};

pub const PROBLEM_OPENED: &str = "problem.opened";
pub const PROBLEM_RESOLVED: &str = "problem.resolved";
pub const EVENTS: [&str; 2] = [PROBLEM_OPENED, PROBLEM_RESOLVED];

/// The JSON body a receiver gets (signed with `X-Stampbook-Signature`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Event {
    /// `problem.opened` or `problem.resolved`.
    pub event: String,
    /// Unique per event (the same for every webhook it goes to): receivers deduplicate with it.
    pub event_id: Uuid,
    pub occurred_at: chrono::DateTime<Utc>,
    pub problem: Problem,
}

/// Queues `problem.opened` for `opened` and `problem.resolved` for `resolved` problem ids.
pub async fn problem_events(
    tx: &mut PgConnection,
    opened: &[i64],
    resolved: &[i64],
) -> Result<(), sqlx::Error> {
    if opened.is_empty() && resolved.is_empty() {
        return Ok(());
    }
    let subscribers =
        sqlx::query_scalar!(r#"select count(*) as "n!" from webhooks where deleted_at is null"#)
            .fetch_one(&mut *tx)
            .await?;
    if subscribers == 0 {
        return Ok(());
    }
    let mut events: Vec<String> = Vec::new();
    let mut ids: Vec<Uuid> = Vec::new();
    let mut payloads: Vec<Value> = Vec::new();
    let now = Utc::now();
    for (kind, list) in [(PROBLEM_OPENED, opened), (PROBLEM_RESOLVED, resolved)] {
        if list.is_empty() {
            continue;
        }
        for problem in problems::by_ids(tx, list).await? {
            let event = Event {
                event: kind.to_owned(),
                event_id: Uuid::new_v4(),
                occurred_at: now,
                problem,
            };
            events.push(kind.to_owned());
            ids.push(event.event_id);
            payloads.push(serde_json::to_value(&event).unwrap_or(Value::Null));
        }
    }
    sqlx::query!(
        r#"insert into webhook_deliveries (webhook_id, event, event_id, payload)
           select w.id, e.event, e.event_id, e.payload
           from unnest($1::text[], $2::uuid[], $3::jsonb[]) as e(event, event_id, payload)
           join webhooks w on w.deleted_at is null and e.event = any(w.events)
           order by e.event_id, w.id"#,
        &events,
        &ids,
        &payloads
    )
    .execute(tx)
    .await?;
    Ok(())
}
