-- A page of one stamp's ($1) plans by wap_plan_id: walks the (stamp_id, wap_plan_id) index from
-- the cursor ($2, none: the start); $3 the limit.
-- Whether the stamp's WAP servers ever reported plans (hosts_wap_collected_idx) comes with each row:
-- one lookup for the page (the sub-select names the stamp, not the row, so PostgreSQL runs it once),
-- with a limit, not exists, which PostgreSQL may hash over every stamp.
select p.id, p.stamp_id, p.wap_plan_id, p.name, p.public, $1::text as "stamp!", p.cloud,
       p.remote_console, p.quota_vms, p.quota_vcpus, p.quota_memory_gb, p.quota_storage_gb,
       p.subscriptions, p.created_at, p.updated_at,
       (select true from hosts h
        where h.stamp_id = (select s.id from stamps s where s.name = $1)
          and h.wap_collected_at is not null
          and 'wap_server' = any(h.roles)
        limit 1) is not null as "wap_collected!"
from plans p
where p.stamp_id = (select s.id from stamps s where s.name = $1)
  and p.wap_plan_id collate "C" > coalesce($2::text, '')
order by p.stamp_id, p.wap_plan_id collate "C"
limit $3
