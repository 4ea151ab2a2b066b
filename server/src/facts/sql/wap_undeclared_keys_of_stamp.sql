-- wap_undeclared_keys.sql for the WAP servers of one stamp ($1, by name; index
-- hosts_wap_collected_idx), at most $2. facts::wap::UNDECLARED_KEYS_OF_STAMP.
select distinct w.plan_key as "plan_key!"
from (select h.id from hosts h
      where h.stamp_id = (select id from stamps where name = $1)
        and h.wap_collected_at is not null and 'wap_server' = any(h.roles) offset 0) h
cross join lateral (select w.plan_key from host_wap_plans w where w.host_id = h.id offset 0) w
where not exists (select 1 from plans p where lower(p.wap_plan_id) = w.plan_key)
order by 1
limit $2
