//! The database pool and the embedded migrations; `read` sends read-only work to a hot standby.

pub mod read;

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// A pool that connects on first use, so that the server starts (and `/readyz` can say 503) while
/// the database is away; acquiring waits at most 5 s.
pub fn pool(url: &str, size: u32) -> Result<PgPool, sqlx::Error> {
    Ok(pool_with(url.parse()?, size))
}

/// [`pool`] from parsed options.
///
/// sqlx pings a connection before every acquire by default: a round trip of its own for each
/// statement a request runs (bench-scale measured the audit list at 5,466 req/s with it, 6,503
/// without). A connection in steady use is known to be alive: only one that sat idle for a
/// second or more is pinged (after a restart of PostgreSQL, say), so a dead connection is still
/// found before a request gets it.
pub fn pool_with(options: PgConnectOptions, size: u32) -> PgPool {
    ping_when_idle(PgPoolOptions::new())
        .max_connections(size.max(2))
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        .idle_timeout(Duration::from_secs(300))
        .connect_lazy_with(options)
}

/// The primary's pools: ping a connection on acquire only when it sat idle (see [`pool_with`]);
/// the standby's keeps sqlx's ping before every acquire (`read::Reads::from_args`).
pub fn ping_when_idle(options: PgPoolOptions) -> PgPoolOptions {
    options
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_WHEN_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// How long a pooled connection may sit idle before it is pinged on its way to a request.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// What the lists' connections set for their sessions ([`list_pool`], once per connection):
/// plans cached once per connection (`plan_cache_mode = force_generic_plan`) and no parallel
/// workers for a page of rows.
///
/// A list statement's limit is a parameter, so PostgreSQL's default (`auto`) plans it again on
/// every run: its generic plan, which must guess the limit (a tenth of the rows it estimates),
/// never looks as cheap as a plan for 51 rows. That planning took as long as the execution (a
/// stamp's hosts at 1,000,000 hosts: 0.2–0.4 ms to plan, 0.2 ms to run), while the bare handler
/// of deploy/bench-scale, running the same SQL with literals, planned once. Only statements whose
/// generic plan walks their index in stamps of 100 and of 1,000 hosts run there
/// (`tests/query_plans.rs` checks each under exactly these settings).
pub const LIST_SETTINGS: &str =
    "set plan_cache_mode = force_generic_plan; set max_parallel_workers_per_gather = 0";

/// The pool of the API's paginated lists on the database of `requests` (or of the
/// standby's pool): half as many connections as that pool (at least 2), opened beside it, whose
/// sessions run [`LIST_SETTINGS`] (set when a connection opens: one round trip per connection,
/// and correct behind a session-mode pooler, where startup options may not pass). Only the API's
/// paginated lists run here (`facts::list`, `problems::list`, `audit::list`, `quarantine::list`,
/// a host's history and the lookup of its id, the declared plans' page with its stamps' health
/// and WAP's view), every statement of them checked safe with a generic plan; everything else
/// keeps PostgreSQL's own choice.
pub fn list_pool(of: &PgPool, ping_every_acquire: bool) -> PgPool {
    let size = (of.options().get_max_connections() / 2).max(2);
    let options = PgPoolOptions::new();
    let options = if ping_every_acquire {
        options
    } else {
        ping_when_idle(options)
    };
    options
        .max_connections(size)
        .min_connections(0)
        .acquire_timeout(of.options().get_acquire_timeout())
        .idle_timeout(Duration::from_secs(300))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                sqlx::raw_sql(LIST_SETTINGS).execute(conn).await?;
                Ok(())
            })
        })
        .connect_lazy_with(of.connect_options().as_ref().clone())
}

/// The background workers' pool (`STAMPBOOK_DB_BACKGROUND_POOL_SIZE`): the database of
/// `requests`, with `size` connections of its own, so that the evaluator and the deliverers never
/// hold the connections requests wait for. By default a quarter of `requests`', and at least one
/// per evaluation lane (`lanes`, `rules::engine::lanes`) plus two (the evaluator's listener, the
/// other workers), so the evaluator runs every lane it has. Its workers wait up to a minute for a
/// connection: background work may queue, requests must not.
pub fn background_pool(requests: &PgPool, size: Option<u32>, lanes: usize) -> PgPool {
    let lanes = u32::try_from(lanes).unwrap_or(u32::MAX);
    let size = size
        .unwrap_or_else(|| {
            (requests.options().get_max_connections() / 4).max(lanes.saturating_add(2))
        })
        .max(2);
    ping_when_idle(PgPoolOptions::new())
        .max_connections(size)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(60))
        .idle_timeout(Duration::from_secs(300))
        .connect_lazy_with(requests.connect_options().as_ref().clone())
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_background_pool_holds_every_evaluation_lane_beside_the_other_workers() {
        for lanes in [2, 3, 4] {
            for size in [2, 4, 16, 64] {
                let requests = pool("postgres://stampbook@127.0.0.1:1/none", size).unwrap();
                let background = background_pool(&requests, None, lanes)
                    .options()
                    .get_max_connections();
                assert!(
                    background >= lanes as u32 + 2,
                    "{size} request connections: {background} in the background pool for {lanes} lanes"
                );
                assert!(
                    background >= size / 4,
                    "{size}: at least a quarter, as before"
                );
            }
        }
        let requests = pool("postgres://stampbook@127.0.0.1:1/none", 16).unwrap();
        let sized = background_pool(&requests, Some(3), 3)
            .options()
            .get_max_connections();
        assert_eq!(sized, 3, "an operator's size is kept");
    }
}
