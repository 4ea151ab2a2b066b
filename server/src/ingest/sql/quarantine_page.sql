-- Every quarantined report, newest first: walks the primary key down from the cursor ($1);
-- $2 the limit.
select id, report_id, received_at, stamp, host, code, reason, token_name, replayed_at, replayed_by, replay_outcome
from quarantined_reports
where id < coalesce($1::bigint, 9223372036854775807)
order by id desc
limit $2
