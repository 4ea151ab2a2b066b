-- Open problems of one stamp newest first: walks the open problems' (stamp_id, id) index down from the cursor.
-- Parameters, the same in the problem list statements: $1 state (open, resolved, all), $2 stamp,
-- $3 severity, $4 rule (or its family prefix), $5 host, $6 plan, $7 acknowledged, $8 the cursor
-- (the id before which the page starts), $9 the limit. Only the problems table is walked and
-- limited; the stamp, host and plan names are looked up for the rows returned (lateral, offset
-- 0: a nested loop that keeps the walk's order). The filters that do not pick the walk sit
-- inside the stamp's lookup, comparing ids found once (init plans) or the row's own columns:
-- there they only filter the rows read, where in the where clause the generic plan of the
-- prepared statement (limit unknown) would divide its estimate of the stamp's problems by each
-- catch-all, think the walk a row or two long, and read and sort every problem of the stamp
-- (tests/query_plans.rs, stamps of 1,000 hosts).
select p.id, p.rule, p.severity, s.name as "stamp!", h.fqdn as host, pl.wap_plan_id as "plan?",
       p.subject, p.message, p.evidence::text as "evidence!", p.opened_at,
       problem_last_seen(p.last_seen_at, p.resolved_at, p.stamp_id) as "last_seen_at!", p.resolved_at,
       problem_acknowledged(p.ack_at, p.ack_until) as "acknowledged!",
       p.ack_by, p.ack_note, p.ack_at, p.ack_until
from problems p
cross join lateral (
    select s.name from stamps s
    where s.id = p.stamp_id
      and ($5::text is null or p.host_id = (select id from hosts where fqdn = $5::text::citext))
      and ($1 = 'all' or ($1 = 'open') = (p.resolved_at is null))
      and ($3::text is null or p.severity = $3)
      and ($4::text is null or p.rule = $4 or p.rule like $4 || '.%')
      and ($6::text is null or p.plan_id = (select id from plans where wap_plan_id = $6))
      and ($7::bool is null or problem_acknowledged(p.ack_at, p.ack_until) = $7)
    offset 0
) s
left join lateral (select h.fqdn::text as fqdn from hosts h where h.id = p.host_id offset 0) h on true
left join lateral (select pl.wap_plan_id from plans pl where pl.id = p.plan_id offset 0) pl on true
where p.stamp_id = (select id from stamps where name = $2)
  and p.resolved_at is null
  and p.id < coalesce($8::bigint, 9223372036854775807)
order by p.stamp_id, p.id desc
limit $9
