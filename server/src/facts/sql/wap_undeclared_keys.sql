-- The plan keys the WAP servers report that the inventory declares under no case, in key order,
-- at most $1: the plans only WAP knows. Every WAP host (partial index) and its reports, each key
-- looked up among the declared ids: bounded by the fleet's reported plans, not its hosts.
-- facts::wap::UNDECLARED_KEYS.
select distinct w.plan_key as "plan_key!"
from (select h.id from hosts h
      where h.wap_collected_at is not null and 'wap_server' = any(h.roles) offset 0) h
cross join lateral (select w.plan_key from host_wap_plans w where w.host_id = h.id offset 0) w
where not exists (select 1 from plans p where lower(p.wap_plan_id) = w.plan_key)
order by 1
limit $1
