-- Quarantined reports of one stamp name ($1), newest first, only pending ones when $2: walks
-- the (stamp, id) index down from the cursor ($3); $4 the limit.
select id, report_id, received_at, stamp, host, code, reason, token_name, replayed_at, replayed_by, replay_outcome
from quarantined_reports
where stamp = $1 and (not $2 or replayed_at is null) and id < coalesce($3::bigint, 9223372036854775807)
order by id desc
limit $4
