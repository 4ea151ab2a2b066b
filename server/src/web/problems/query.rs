//! The problems page's list: open problems in the order an operator works them (critical,
//! warning, info; acknowledged ones after those that count; newest first within each), history
//! (resolved, all) newest first; filtered like the API and paged by a keyset cursor.

use sqlx::PgPool;

use crate::problems::{Acknowledgement, Filter, Problem, State};

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

/// One page of problems and, for each, its rank (for the next page's cursor).
pub async fn page(
    pool: &PgPool,
    f: &Filter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<(i32, Problem)>, sqlx::Error> {
    let state = match f.state {
        State::Open => "open",
        State::Resolved => "resolved",
        State::All => "all",
    };
    // Rank and page on the problems table alone; join names only for the page's rows.
    let rows = sqlx::query!(
        r#"with page as (
               select p.id,
                      case when $1 <> 'open' then 0
                           else (case p.severity when 'critical' then 0 when 'warning' then 1 else 2 end)
                                + (case when p.ack_at is not null and (p.ack_until is null or p.ack_until > now())
                                        then 3 else 0 end)
                      end as rank
               from problems p
               where ($1 = 'all' or ($1 = 'open') = (p.resolved_at is null))
                 and ($2::text is null or p.stamp_id = (select id from stamps where name = $2))
                 and ($3::text is null or p.severity = $3)
                 and ($4::text is null or p.rule = $4 or p.rule like $4 || '.%')
                 and ($5::text is null or p.host_id = (select id from hosts where fqdn = $5::text::citext))
                 and ($6::text is null or p.plan_id = (select id from plans where wap_plan_id = $6))
                 and ($7::bool is null or (p.ack_at is not null and (p.ack_until is null or p.ack_until > now())) = $7)
           ), ranked as (
               select id, rank from page
               where ($8::int is null or rank > $8 or (rank = $8 and id < $9))
               order by rank, id desc
               limit $10
           )
           select p.id, p.rule, p.severity, s.name as stamp, h.fqdn::text as host, pl.wap_plan_id as "plan?",
                  p.subject, p.message, p.evidence, p.opened_at,
                  problem_last_seen(p.last_seen_at, p.resolved_at, p.stamp_id) as "last_seen_at!", p.resolved_at,
                  (p.ack_at is not null and (p.ack_until is null or p.ack_until > now())) as "acknowledged!",
                  p.ack_by, p.ack_note, p.ack_at, p.ack_until, k.rank as "rank!"
           from ranked k
           join problems p on p.id = k.id
           join stamps s on s.id = p.stamp_id
           left join hosts h on h.id = p.host_id
           left join plans pl on pl.id = p.plan_id
           order by k.rank, k.id desc"#,
        state,
        f.stamp,
        f.severity,
        f.rule,
        f.host,
        f.plan,
        f.acknowledged,
        after.map(|c| c.rank),
        after.map(|c| c.id),
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.rank,
                Problem {
                    id: r.id,
                    rule: r.rule,
                    severity: r.severity,
                    stamp: r.stamp,
                    host: r.host,
                    plan: r.plan,
                    subject: r.subject,
                    message: r.message,
                    evidence: r.evidence,
                    opened_at: r.opened_at,
                    last_seen_at: r.last_seen_at,
                    resolved_at: r.resolved_at,
                    acknowledged: r.acknowledged,
                    acknowledgement: match (r.ack_by, r.ack_at) {
                        (Some(by), Some(at)) => Some(Acknowledgement {
                            by,
                            note: r.ack_note.unwrap_or_default(),
                            at,
                            until: r.ack_until,
                        }),
                        _ => None,
                    },
                },
            )
        })
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
