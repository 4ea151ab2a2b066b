-- The plans the WAP servers of these stamps ($1) report (a stamp's evaluation): the stamps' WAP
-- hosts from their partial index, their reports by host. facts::wap::OF_STAMPS.
select h.stamp_id as "stamp_id!", s.name as "stamp!", h.fqdn::text as "host!", h.wap_collected_at as "seen!",
       w.wap_id, w.display_name, w.state, w.subscription_count,
       w.quotas::text as "quotas!"
from hosts h
join host_wap_plans w on w.host_id = h.id
cross join lateral (select s.name from stamps s where s.id = h.stamp_id offset 0) s
where h.stamp_id = any($1) and h.wap_collected_at is not null and 'wap_server' = any(h.roles)
order by w.plan_key, s.name, h.fqdn
