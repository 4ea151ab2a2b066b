-- The plans the WAP servers report with these keys ($1, lower-cased ids), whoever reports them:
-- a page's plans, one plan. From the reports' key index, the reporting host and its stamp per
-- report found (lateral, offset 0: a nested loop; a join let PostgreSQL, which cannot tell how
-- few hosts are WAP servers, merge the reports with every host of the fleet: 52 ms for 200 keys
-- at 100,000 hosts). facts::wap::WITH_KEYS.
select h.stamp_id as "stamp_id!", s.name as "stamp!", h.fqdn::text as "host!", h.wap_collected_at as "seen!",
       w.wap_id, w.display_name, w.state, w.subscription_count,
       w.quotas::text as "quotas!"
from host_wap_plans w
cross join lateral (select h.stamp_id, h.fqdn, h.wap_collected_at from hosts h
                    where h.id = w.host_id and h.wap_collected_at is not null
                      and 'wap_server' = any(h.roles) offset 0) h
cross join lateral (select s.name from stamps s where s.id = h.stamp_id offset 0) s
where w.plan_key = any($1)
order by w.plan_key, s.name, h.fqdn
