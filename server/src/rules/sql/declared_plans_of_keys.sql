-- The declared plans whose ids are these keys ($1, lower-cased ids, as WAP compares them), with
-- their stamps, and whether each stamp's WAP servers ever reported plans (hosts_wap_collected_idx:
-- the stamp's WAP servers only). One lookup of plans_wap_plan_key_idx per key (lateral, offset
-- 0): a custom plan of a join read every plan for a page of 200 keys. rules::load::DECLARED_PLANS_OF_KEYS.
select p.id, p.wap_plan_id, p.name, p.stamp_id, s.name as stamp, p.cloud, p.public,
       p.quota_vms, p.quota_vcpus, p.quota_memory_gb, p.quota_storage_gb,
       exists (select from hosts h
               where h.stamp_id = p.stamp_id and h.wap_collected_at is not null
                 and 'wap_server' = any(h.roles)) as "wap_collected!"
from (select distinct unnest($1::text[])) as k(key)
cross join lateral (select p.* from plans p where lower(p.wap_plan_id) = k.key offset 0) p
cross join lateral (select s.name from stamps s where s.id = p.stamp_id offset 0) s
order by p.wap_plan_id
