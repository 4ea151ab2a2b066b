//! The audit log: every admin write, with who, what, the object before and after, and the
//! request that made it (the `x-request-id` the answer carried, when it came over HTTP).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;

pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub key: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

tokio::task_local! {
    /// The request being served (set by the HTTP layer around each request).
    static REQUEST_ID: String;
}

/// Runs `f` (a request's handling) with `id` as the request every audit row of it names.
pub async fn with_request_id<F: std::future::Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

pub async fn record(conn: &mut PgConnection, e: Entry<'_>) -> Result<(), sqlx::Error> {
    let request_id = REQUEST_ID.try_with(Clone::clone).ok();
    sqlx::query!(
        r#"insert into audit_log (actor, action, entity, entity_key, before, after, request_id)
           values ($1, $2, $3, $4, $5, $6, $7)"#,
        e.actor,
        e.action,
        e.entity,
        e.key,
        e.before,
        e.after,
        request_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// JSON of a value for the log; a value that cannot be serialised is recorded as null.
pub fn json<T: Serialize>(v: &T) -> Option<Value> {
    serde_json::to_value(v).ok()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_key: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The `x-request-id` of the HTTP request that made the change (none from the command line).
    pub request_id: Option<String>,
}

/// The audit list's statements (exposed for the plan checks): the log, and one entity's.
pub const PAGE: &str = include_str!("sql/audit_page.sql");
pub const OF_ENTITY_PAGE: &str = include_str!("sql/audit_of_entity_page.sql");

/// Newest first, before `before_id` when given: down the primary key, or the (entity, id)
/// index for one entity.
pub async fn list(
    pool: &sqlx::PgPool,
    entity: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    match entity {
        Some(entity) => {
            sqlx::query_file_as!(
                AuditRow,
                "src/sql/audit_of_entity_page.sql",
                entity,
                before_id,
                limit
            )
            .fetch_all(pool)
            .await
        }
        None => {
            sqlx::query_file_as!(AuditRow, "src/sql/audit_page.sql", before_id, limit)
                .fetch_all(pool)
                .await
        }
    }
}
