//! The database a dashboard page reads: the hot standby through `AppState.reads` (the primary
//! when there is none, or it lags), except right after one of the dashboard's own forms wrote.
//! Those forms redirect to a page that names the write (`acked=`, `adopted=`, `replayed=`), and
//! that page reads the primary, so whoever wrote sees the write even if the standby has not
//! replayed it yet.

use sqlx::PgPool;

use super::access::Ctx;
use crate::state::AppState;

/// The query keys the redirects of the dashboard's forms add.
const AFTER_WRITE: [&str; 3] = ["acked", "adopted", "replayed"];

pub fn pool<'a>(state: &'a AppState, ctx: &Ctx) -> &'a PgPool {
    if after_write(&ctx.here) {
        state.reads.fresh()
    } else {
        state.reads.pool()
    }
}

fn after_write(here: &str) -> bool {
    let Some((_, query)) = here.split_once('?') else {
        return false;
    };
    let query = query.split('#').next().unwrap_or(query);
    query
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .any(|k| AFTER_WRITE.contains(&k))
}

#[cfg(test)]
mod tests {
    use super::after_write;

    #[test]
    fn pages_after_a_form_wrote_are_told_apart() {
        assert!(after_write("/problems?stamp=ams-01&acked=12"));
        assert!(after_write("/plans/wap/gold?adopted=1"));
        assert!(after_write("/quarantine?replayed=3"));
        assert!(!after_write("/problems?stamp=ams-01"));
        assert!(!after_write("/problems"));
        assert!(!after_write("/hosts/acked.example.net"));
        assert!(!after_write("/problems?q=acked"));
    }
}
