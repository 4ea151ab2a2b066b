-- The hosts of a stamp ($1) among the ids $2 (what reports changed), in fqdn order, as the rules
-- read them. rules::load::HOSTS_OF_STAMP_AMONG. Not `where stamp_id = $1 and ($2 is null or id =
-- any($2))`: that statement's generic plan reads every host of the stamp to return the few asked.
select h.id, h.fqdn::text as "fqdn!", h.roles, h.last_collected_at, h.first_seen_at, h.cpu_cores, h.memory_mb,
       h.storage_gb, h.vm_count, h.vm_vcpus, h.vm_memory_mb, h.sections, h.collection_errors
from unnest($2::bigint[]) as ids(id) join hosts h on h.id = ids.id
where h.stamp_id = $1 order by h.fqdn
