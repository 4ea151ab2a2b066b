//! The database pool and the embedded migrations; `read` sends read-only work to a hot standby.

pub mod read;

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// A pool that connects on first use, so that the server starts (and `/readyz` can say 503) while
/// the database is away; acquiring waits at most 5 s.
pub fn pool(url: &str, size: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(size.max(2))
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        .idle_timeout(Duration::from_secs(300))
        .connect_lazy(url)
}

/// The background workers' pool (`STAMPBOOK_DB_BACKGROUND_POOL_SIZE`): the database of
/// `requests`, with `size` connections of its own (default a quarter of `requests`', at least 2),
/// so that the evaluator and the deliverers never hold the connections requests wait for. Its
/// workers wait up to a minute for a connection: background work may queue, requests must not.
pub fn background_pool(requests: &PgPool, size: Option<u32>) -> PgPool {
    let size = size
        .unwrap_or_else(|| requests.options().get_max_connections() / 4)
        .max(2);
    PgPoolOptions::new()
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
