//! Problems as operators and integrations see them: listing with filters, one problem, and
//! acknowledging (who, note, optional until). Opening and resolving is the rule engine's job.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::PgPool;

use crate::audit::{self, Entry};
use crate::error::ApiError;

/// A problem's place on the dashboard, as operators reach it at `public_url`: the problems of its
/// stamp, open and resolved, at its row (what alerts and chat messages link to).
pub fn page_url(public_url: &url::Url, stamp: &str, id: i64) -> String {
    let mut base = public_url.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let mut u = base.join("problems").unwrap_or(base);
    u.query_pairs_mut()
        .clear()
        .append_pair("stamp", stamp)
        .append_pair("state", "all");
    u.set_fragment(Some(&format!("p{id}")));
    u.to_string()
}

/// A problem's evidence from the text of its `jsonb` column (always JSON; `null` otherwise).
pub fn evidence(text: String) -> Box<RawValue> {
    RawValue::from_string(text).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// The problem shape of SPEC §6.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub id: i64,
    pub rule: String,
    /// critical, warning or info.
    pub severity: String,
    pub stamp: String,
    /// The host's FQDN, or null.
    pub host: Option<String>,
    /// The plan's wap_plan_id, or null.
    pub plan: Option<String>,
    pub subject: String,
    pub message: String,
    /// What made the rule fire, as stored (JSON): handed through as PostgreSQL gives it, not
    /// parsed into a tree and written again for every problem of a page.
    #[schema(value_type = Object)]
    pub evidence: Box<RawValue>,
    pub opened_at: DateTime<Utc>,
    /// When an evaluation last found it firing, to the minute (the evaluations of one stamp come
    /// every few seconds while its hosts report; each moves this at most once a minute).
    pub last_seen_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Under an acknowledgement that has not ended (it then does not count for health).
    pub acknowledged: bool,
    /// The latest acknowledgement, also once it has ended.
    pub acknowledgement: Option<Acknowledgement>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Acknowledgement {
    pub by: String,
    pub note: String,
    pub at: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    #[default]
    Open,
    Resolved,
    All,
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub stamp: Option<String>,
    pub severity: Option<String>,
    pub rule: Option<String>,
    pub state: State,
    pub host: Option<String>,
    pub plan: Option<String>,
    /// Some(false): only open problems not under an active acknowledgement.
    pub acknowledged: Option<bool>,
    /// The id after which (in the list's order: newest first) the page starts.
    pub before_id: Option<i64>,
}

impl Filter {
    /// Whether nothing but the stamp, the state and the cursor narrows the list.
    fn is_unfiltered(&self) -> bool {
        self.severity.is_none()
            && self.rule.is_none()
            && self.host.is_none()
            && self.plan.is_none()
            && self.acknowledged.is_none()
    }
}

/// A `Problem` from a query row that has the problem columns under their names (the list,
/// the problems page and the stamp and host pages all select them so).
macro_rules! problem {
    ($r:expr) => {{
        let r = $r;
        $crate::problems::Problem {
            id: r.id,
            rule: r.rule,
            severity: r.severity,
            stamp: r.stamp,
            host: r.host,
            plan: r.plan,
            subject: r.subject,
            message: r.message,
            evidence: $crate::problems::evidence(r.evidence),
            opened_at: r.opened_at,
            last_seen_at: r.last_seen_at,
            resolved_at: r.resolved_at,
            acknowledged: r.acknowledged,
            acknowledgement: match (r.ack_by, r.ack_at) {
                (Some(by), Some(at)) => Some($crate::problems::Acknowledgement {
                    by,
                    note: r.ack_note.unwrap_or_default(),
                    at,
                    until: r.ack_until,
                }),
                _ => None,
            },
        }
    }};
}
pub(crate) use problem;

/// The problem list statements (in `sql/`, exposed for the plan checks): one per path through
/// the indexes, all with the same parameters.
pub mod statements {
    pub const PAGE: &str = include_str!("sql/problems_page.sql");
    pub const OPEN_PAGE: &str = include_str!("sql/problems_open_page.sql");
    pub const OPEN_OF_SEVERITY_PAGE: &str = include_str!("sql/problems_open_of_severity_page.sql");
    pub const OF_STAMP_PAGE: &str = include_str!("sql/problems_of_stamp_page.sql");
    pub const OPEN_OF_STAMP_PAGE: &str = include_str!("sql/problems_open_of_stamp_page.sql");
    pub const OPEN_OF_STAMP_SEVERITY_PAGE: &str =
        include_str!("sql/problems_open_of_stamp_severity_page.sql");
    /// The unfiltered pages have other parameters: (stamp,) cursor, limit.
    pub const OPEN_OF_STAMP_UNFILTERED_PAGE: &str =
        include_str!("sql/problems_open_of_stamp_unfiltered_page.sql");
    pub const OPEN_UNFILTERED_PAGE: &str = include_str!("sql/problems_open_unfiltered_page.sql");
    pub const UNFILTERED_PAGE: &str = include_str!("sql/problems_unfiltered_page.sql");
    pub const OF_HOST_PAGE: &str = include_str!("sql/problems_of_host_page.sql");
}

/// The rows of a problem statement (`query_file!`) on `$pool`, as problems.
macro_rules! problem_rows {
    ($query:expr, $pool:expr) => {
        $query
            .fetch_all($pool)
            .await?
            .into_iter()
            .map(|r| problem!(r))
            .collect()
    };
}

/// Runs one of the filtered problem list statements (they share their parameters).
macro_rules! problem_page {
    ($file:literal, $pool:expr, $state:expr, $f:expr, $limit:expr) => {{
        let f = $f;
        problem_rows!(
            sqlx::query_file!(
                $file,
                $state,
                f.stamp,
                f.severity,
                f.rule,
                f.host,
                f.plan,
                f.acknowledged,
                f.before_id,
                $limit
            ),
            $pool
        )
    }};
}

/// Newest first (by id), read from the narrowest filter given: one host's problems, one
/// stamp's (open, of one severity or any, or all), the fleet's open ones of one severity, else the fleet's (open or
/// all), each down its index from the cursor. The unfiltered pages have statements of their own.
/// Every statement's generic plan walks its index (`tests/query_plans.rs`): `pool` may be a list
/// pool (`db::LIST_SETTINGS`).
pub async fn list(pool: &PgPool, f: &Filter, limit: i64) -> Result<Vec<Problem>, sqlx::Error> {
    use sqlx::query_file as q;
    let state = match f.state {
        State::Open => "open",
        State::Resolved => "resolved",
        State::All => "all",
    };
    let open = matches!(f.state, State::Open);
    let unfiltered = f.is_unfiltered();
    let after = f.before_id;
    Ok(match (&f.host, &f.stamp, open) {
        (Some(_), _, _) => problem_page!(
            "src/problems/sql/problems_of_host_page.sql",
            pool,
            state,
            f,
            limit
        ),
        (None, Some(stamp), true) if unfiltered => problem_rows!(
            q!(
                "src/problems/sql/problems_open_of_stamp_unfiltered_page.sql",
                stamp,
                after,
                limit
            ),
            pool
        ),
        (None, Some(_), true) if f.severity.is_some() => problem_page!(
            "src/problems/sql/problems_open_of_stamp_severity_page.sql",
            pool,
            state,
            f,
            limit
        ),
        (None, Some(_), true) => problem_page!(
            "src/problems/sql/problems_open_of_stamp_page.sql",
            pool,
            state,
            f,
            limit
        ),
        (None, Some(_), false) => problem_page!(
            "src/problems/sql/problems_of_stamp_page.sql",
            pool,
            state,
            f,
            limit
        ),
        (None, None, true) if f.severity.is_some() => problem_page!(
            "src/problems/sql/problems_open_of_severity_page.sql",
            pool,
            state,
            f,
            limit
        ),
        (None, None, true) if unfiltered => problem_rows!(
            q!(
                "src/problems/sql/problems_open_unfiltered_page.sql",
                after,
                limit
            ),
            pool
        ),
        (None, None, true) => problem_page!(
            "src/problems/sql/problems_open_page.sql",
            pool,
            state,
            f,
            limit
        ),
        (None, None, false) if f.state == State::All && unfiltered => problem_rows!(
            q!(
                "src/problems/sql/problems_unfiltered_page.sql",
                after,
                limit
            ),
            pool
        ),
        (None, None, false) => {
            problem_page!("src/problems/sql/problems_page.sql", pool, state, f, limit)
        }
    })
}

pub async fn get(pool: &PgPool, id: i64) -> Result<Option<Problem>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select p.id, p.rule, p.severity, s.name as stamp, h.fqdn::text as host, pl.wap_plan_id as "plan?",
                  p.subject, p.message, p.evidence::text as "evidence!", p.opened_at,
                  problem_last_seen(p.last_seen_at, p.resolved_at, p.stamp_id) as "last_seen_at!", p.resolved_at,
                  problem_acknowledged(p.ack_at, p.ack_until) as "acknowledged!",
                  p.ack_by, p.ack_note, p.ack_at, p.ack_until
           from problems p
           join stamps s on s.id = p.stamp_id
           left join hosts h on h.id = p.host_id
           left join plans pl on pl.id = p.plan_id
           where p.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| problem!(r)))
}

/// The problems with these ids, in the API's shape (for webhook events).
pub async fn by_ids(
    conn: &mut sqlx::PgConnection,
    ids: &[i64],
) -> Result<Vec<Problem>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select p.id, p.rule, p.severity, s.name as stamp, h.fqdn::text as host, pl.wap_plan_id as "plan?",
                  p.subject, p.message, p.evidence::text as "evidence!", p.opened_at,
                  problem_last_seen(p.last_seen_at, p.resolved_at, p.stamp_id) as "last_seen_at!", p.resolved_at,
                  problem_acknowledged(p.ack_at, p.ack_until) as "acknowledged!",
                  p.ack_by, p.ack_note, p.ack_at, p.ack_until
           from problems p
           join stamps s on s.id = p.stamp_id
           left join hosts h on h.id = p.host_id
           left join plans pl on pl.id = p.plan_id
           where p.id = any($1) order by p.id"#,
        ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| problem!(r)).collect())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AckRequest {
    /// Why it is acknowledged (a ticket, a change window).
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
    /// When the acknowledgement ends (RFC 3339); none: until the problem resolves.
    pub until: Option<DateTime<Utc>>,
}

/// Acknowledges an open problem; the stamp's health changes at once (it is derived).
pub async fn acknowledge(
    pool: &PgPool,
    id: i64,
    by: &str,
    req: &AckRequest,
) -> Result<Problem, ApiError> {
    let note = req.note.trim();
    if note.is_empty() || note.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "invalid_note",
            "say why in a note of 1 to 2000 characters",
            "note",
        ));
    }
    if let Some(until) = req.until
        && until <= Utc::now()
    {
        return Err(ApiError::invalid(
            "invalid_until",
            "until must be in the future",
            "until",
        ));
    }
    let mut tx = pool.begin().await?;
    let current = sqlx::query!(
        "select resolved_at, stamp_id from problems where id = $1 for update",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("problem {id}")))?;
    if current.resolved_at.is_some() {
        return Err(ApiError::conflict(
            "problem_resolved",
            format!("problem {id} is resolved; there is nothing to acknowledge"),
        ));
    }
    sqlx::query!(
        "update problems set ack_by = $2, ack_note = $3, ack_at = now(), ack_until = $4 where id = $1",
        id,
        by,
        note,
        req.until
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Entry {
            actor: by,
            action: "acknowledge",
            entity: "problem",
            key: &id.to_string(),
            before: None,
            after: Some(serde_json::json!({"note": note, "until": req.until})),
        },
    )
    .await?;
    // plans' rules depend on acknowledgements
    crate::rules::queue::request_stamp(&mut tx, current.stamp_id).await?;
    tx.commit().await?;
    get(pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("problem {id}")))
}
