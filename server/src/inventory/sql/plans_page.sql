-- A page of the fleet's plans by wap_plan_id in byte order: walks the wap_plan_id key from the cursor ($1,
-- none: the start); $2 the limit. The stamp's name is looked up for the rows read (lateral,
-- offset 0: a nested loop in the walk's order).
-- Whether the plan's stamp's WAP servers ever reported plans (hosts_wap_collected_idx, the stamp's
-- WAP servers only) comes with each row: the plans list reads no statement of its own for it. A
-- scalar sub-select with a limit, not exists: PostgreSQL hashed an exists over every stamp's WAP
-- servers (1,000 rows read at 1,000 stamps for a page of 50).
select p.id, p.stamp_id, p.wap_plan_id, p.name, p.public, s.name as "stamp!", p.cloud,
       p.remote_console, p.quota_vms, p.quota_vcpus, p.quota_memory_gb, p.quota_storage_gb,
       p.subscriptions, p.created_at, p.updated_at,
       (select true from hosts h
        where h.stamp_id = p.stamp_id and h.wap_collected_at is not null
          and 'wap_server' = any(h.roles)
        limit 1) is not null as "wap_collected!"
from plans p
cross join lateral (select s.name from stamps s where s.id = p.stamp_id offset 0) s
where p.wap_plan_id collate "C" > coalesce($1::text, '')
order by p.wap_plan_id collate "C"
limit $2
