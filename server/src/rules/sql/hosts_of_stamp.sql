-- Every host of a stamp ($1), in fqdn order, as the rules read them (a whole run).
-- rules::load::HOSTS_OF_STAMP.
select id, fqdn::text as "fqdn!", roles, last_collected_at, first_seen_at, cpu_cores, memory_mb, storage_gb, vm_count,
       vm_vcpus, vm_memory_mb, sections, collection_errors
from hosts where stamp_id = $1 order by fqdn
