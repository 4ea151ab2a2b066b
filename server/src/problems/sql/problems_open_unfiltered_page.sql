-- Open problems of the fleet newest first, unfiltered: walks the open problems' id index down from
-- the cursor ($1, the id before which the page starts); $2 the limit. The filtered pages are
-- problems_open_page.sql and those of a severity: without their catch-all filters, whose estimates
-- (a row or two) keep the generic plan from caching the lookups of the stamps (a Memoize: in a
-- fleet of 100 stamps the small stamps table is otherwise scanned once per row), this statement's
-- generic plan is the walk with the lookups a custom plan makes; it runs on the list pool, planned
-- once per connection (db::LIST_SETTINGS). The stamp, host and plan names are looked up for the
-- rows returned (lateral, offset 0: a nested loop that keeps the walk's order).
select p.id, p.rule, p.severity, s.name as "stamp!", h.fqdn as host, pl.wap_plan_id as "plan?",
       p.subject, p.message, p.evidence::text as "evidence!", p.opened_at,
       problem_last_seen(p.last_seen_at, p.resolved_at, p.stamp_id) as "last_seen_at!", p.resolved_at,
       problem_acknowledged(p.ack_at, p.ack_until) as "acknowledged!",
       p.ack_by, p.ack_note, p.ack_at, p.ack_until
from problems p
cross join lateral (select s.name from stamps s where s.id = p.stamp_id offset 0) s
left join lateral (select h.fqdn::text as fqdn from hosts h where h.id = p.host_id offset 0) h on true
left join lateral (select pl.wap_plan_id from plans pl where pl.id = p.plan_id offset 0) pl on true
where p.resolved_at is null
  and p.id < coalesce($1::bigint, 9223372036854775807)
order by p.id desc
limit $2
