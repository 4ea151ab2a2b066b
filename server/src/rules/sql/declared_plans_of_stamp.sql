-- The plans declared on one stamp ($1), with the stamp's name: the WAP rules compare each with
-- what the stamp's WAP servers hold. rules::load::DECLARED_PLANS_OF_STAMP.
select p.id, p.wap_plan_id, p.name, p.stamp_id, s.name as stamp, p.cloud, p.public,
       p.quota_vms, p.quota_vcpus, p.quota_memory_gb, p.quota_storage_gb
from plans p join stamps s on s.id = p.stamp_id
where p.stamp_id = $1
order by p.wap_plan_id
