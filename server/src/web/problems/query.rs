//! The problems page's list: open problems in the order an operator works them (critical,
//! warning, info; acknowledged ones after those that count; newest first within each), history
//! (resolved, all) newest first; filtered like the API and paged by a keyset cursor. Also the
//! open problems of one stamp or host, most severe first, acknowledged ones last (stamp and host
//! pages).

use sqlx::PgPool;

use crate::problems::{Filter, Problem, State};

/// Where a page starts: after the problem with this rank and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub rank: i32,
    pub id: i64,
}

impl Cursor {
    pub fn encode(self) -> String {
        format!("{}.{}", self.rank, self.id)
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let (rank, id) = s.split_once('.')?;
        Some(Cursor {
            rank: rank.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// A stamp the filter offers.
pub struct StampChoice {
    pub name: String,
    pub display_name: String,
    pub retired: bool,
}

/// What the problems page shows, as read.
pub struct ProblemsData {
    /// One page of problems with their ranks, and whether more follow.
    pub rows: Vec<(i32, Problem)>,
    pub more: bool,
    pub stamps: Vec<StampChoice>,
}

/// Reads the problems page: `page_size` problems after `after`, and the stamps to choose from.
pub async fn problems_page(
    pool: &PgPool,
    f: &Filter,
    after: Option<Cursor>,
    page_size: i64,
) -> Result<ProblemsData, sqlx::Error> {
    let mut rows = page(pool, f, after, page_size + 1).await?;
    let more = rows.len() as i64 > page_size;
    rows.truncate(page_size as usize);
    let stamps = sqlx::query_as!(
        StampChoice,
        r#"select name, display_name, retired_at is not null as "retired!" from stamps order by name"#
    )
    .fetch_all(pool)
    .await?;
    Ok(ProblemsData { rows, more, stamps })
}

/// One page of problems and, for each, its rank (for the next page's cursor).
pub async fn page(
    pool: &PgPool,
    f: &Filter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<(i32, Problem)>, sqlx::Error> {
    match f.state {
        State::Open => {
            let ranked = open_ranked(pool, f, after, limit).await?;
            details(pool, &ranked).await
        }
        // history is newest first, as the API lists it (rank 0 for all)
        State::Resolved | State::All => {
            let f = Filter {
                before_id: after.map(|c| c.id),
                ..f.clone()
            };
            let rows = crate::problems::list(pool, &f, limit).await?;
            Ok(rows.into_iter().map(|p| (0, p)).collect())
        }
    }
}

/// Open problems in rank order: one index-ordered branch per rank (severity, acknowledged or
/// not), each stopping after `limit` rows, so that a page costs the same whether 100 or 100,000
/// problems are open. A branch before the cursor's rank is skipped (`id < 0`), the cursor's own
/// continues below its id.
async fn open_ranked(
    pool: &PgPool,
    f: &Filter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<(i64, i32)>, sqlx::Error> {
    let bound = |rank: i32| match after {
        None => i64::MAX,
        Some(c) if rank < c.rank => 0,
        Some(c) if rank == c.rank => c.id,
        Some(_) => i64::MAX,
    };
    let rows = sqlx::query!(
        r#"select id as "id!", rank as "rank!" from (
               (select p.id, 0 as rank from problems p
                where p.resolved_at is null and p.severity = 'critical' and not problem_acknowledged(p.ack_at, p.ack_until)
                  and p.id < $7
                  and ($1::text is null or p.stamp_id = (select id from stamps where name = $1))
                  and ($2::text is null or p.severity = $2)
                  and ($3::text is null or p.rule = $3 or p.rule like $3 || '.%')
                  and ($4::text is null or p.host_id = (select id from hosts where fqdn = $4::text::citext))
                  and ($5::text is null or p.plan_id = (select id from plans where wap_plan_id = $5))
                  and ($6::bool is null or problem_acknowledged(p.ack_at, p.ack_until) = $6)
                order by p.id desc limit $13)
               union all
               (select p.id, 1 as rank from problems p
                where p.resolved_at is null and p.severity = 'warning' and not problem_acknowledged(p.ack_at, p.ack_until)
                  and p.id < $8
                  and ($1::text is null or p.stamp_id = (select id from stamps where name = $1))
                  and ($2::text is null or p.severity = $2)
                  and ($3::text is null or p.rule = $3 or p.rule like $3 || '.%')
                  and ($4::text is null or p.host_id = (select id from hosts where fqdn = $4::text::citext))
                  and ($5::text is null or p.plan_id = (select id from plans where wap_plan_id = $5))
                  and ($6::bool is null or problem_acknowledged(p.ack_at, p.ack_until) = $6)
                order by p.id desc limit $13)
               union all
               (select p.id, 2 as rank from problems p
                where p.resolved_at is null and p.severity = 'info' and not problem_acknowledged(p.ack_at, p.ack_until)
                  and p.id < $9
                  and ($1::text is null or p.stamp_id = (select id from stamps where name = $1))
                  and ($2::text is null or p.severity = $2)
                  and ($3::text is null or p.rule = $3 or p.rule like $3 || '.%')
                  and ($4::text is null or p.host_id = (select id from hosts where fqdn = $4::text::citext))
                  and ($5::text is null or p.plan_id = (select id from plans where wap_plan_id = $5))
                  and ($6::bool is null or problem_acknowledged(p.ack_at, p.ack_until) = $6)
                order by p.id desc limit $13)
               union all
               (select p.id, 3 as rank from problems p
                where p.resolved_at is null and p.severity = 'critical' and problem_acknowledged(p.ack_at, p.ack_until)
                  and p.id < $10
                  and ($1::text is null or p.stamp_id = (select id from stamps where name = $1))
                  and ($2::text is null or p.severity = $2)
                  and ($3::text is null or p.rule = $3 or p.rule like $3 || '.%')
                  and ($4::text is null or p.host_id = (select id from hosts where fqdn = $4::text::citext))
                  and ($5::text is null or p.plan_id = (select id from plans where wap_plan_id = $5))
                  and ($6::bool is null or problem_acknowledged(p.ack_at, p.ack_until) = $6)
                order by p.id desc limit $13)
               union all
               (select p.id, 4 as rank from problems p
                where p.resolved_at is null and p.severity = 'warning' and problem_acknowledged(p.ack_at, p.ack_until)
                  and p.id < $11
                  and ($1::text is null or p.stamp_id = (select id from stamps where name = $1))
                  and ($2::text is null or p.severity = $2)
                  and ($3::text is null or p.rule = $3 or p.rule like $3 || '.%')
                  and ($4::text is null or p.host_id = (select id from hosts where fqdn = $4::text::citext))
                  and ($5::text is null or p.plan_id = (select id from plans where wap_plan_id = $5))
                  and ($6::bool is null or problem_acknowledged(p.ack_at, p.ack_until) = $6)
                order by p.id desc limit $13)
               union all
               (select p.id, 5 as rank from problems p
                where p.resolved_at is null and p.severity = 'info' and problem_acknowledged(p.ack_at, p.ack_until)
                  and p.id < $12
                  and ($1::text is null or p.stamp_id = (select id from stamps where name = $1))
                  and ($2::text is null or p.severity = $2)
                  and ($3::text is null or p.rule = $3 or p.rule like $3 || '.%')
                  and ($4::text is null or p.host_id = (select id from hosts where fqdn = $4::text::citext))
                  and ($5::text is null or p.plan_id = (select id from plans where wap_plan_id = $5))
                  and ($6::bool is null or problem_acknowledged(p.ack_at, p.ack_until) = $6)
                order by p.id desc limit $13)
           ) ranked
           order by rank, id desc
           limit $13"#,
        f.stamp,
        f.severity,
        f.rule,
        f.host,
        f.plan,
        f.acknowledged,
        bound(0),
        bound(1),
        bound(2),
        bound(3),
        bound(4),
        bound(5),
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.rank)).collect())
}

/// The problems of a page with their names, in the page's order (`problems::by_ids`, the API's
/// read of problems by id).
async fn details(pool: &PgPool, ranked: &[(i64, i32)]) -> Result<Vec<(i32, Problem)>, sqlx::Error> {
    let ids: Vec<i64> = ranked.iter().map(|(id, _)| *id).collect();
    let mut conn = pool.acquire().await?;
    let mut found: std::collections::HashMap<i64, Problem> =
        crate::problems::by_ids(&mut conn, &ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    Ok(ranked
        .iter()
        .filter_map(|(id, rank)| Some((*rank, found.remove(id)?)))
        .collect())
}

/// Open problems of a stamp and/or a host: unacknowledged first, then by severity, newest first.
pub async fn open_for(
    pool: &PgPool,
    stamp_id: Option<i64>,
    host_id: Option<i64>,
    limit: i64,
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
           where p.resolved_at is null
             and ($1::bigint is null or p.stamp_id = $1)
             and ($2::bigint is null or p.host_id = $2)
           order by 13, case p.severity when 'critical' then 0 when 'warning' then 1 else 2 end,
                    p.opened_at desc, p.id desc
           limit $3"#,
        stamp_id,
        host_id,
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| crate::problems::problem!(r))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor { rank: 3, id: 42 };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("x.1"), None);
        assert_eq!(Cursor::decode("7"), None);
    }
}
