-- The host a changed report writes, locked for the report's transaction, with what the report is
-- compared to (its stamp, host fields, vitals, the sections it ever collected and how each last
-- looked: the history's "before", read with the lock rather than by a second statement), and whether it has an open
-- problem a report alone can resolve ($2: those rules). facts::report::HOST_FOR_REPORT.
select h.id, h.stamp_id, h.last_collected_at, h.facts_digest,
       s.name as stamp, h.scale_unit, h.roles, h.os_name, h.os_version, h.cpu_cores, h.memory_mb,
       h.storage_gb, h.vm_count, h.vm_vcpus, h.vm_memory_mb, h.sections, h.section_digests,
       exists (select 1 from problems p where p.host_id = h.id and p.rule = any($2)
               and p.resolved_at is null) as "resolvable_open!"
-- citext against citext: `fqdn = $1::text` would compare as text, past the citext unique index,
-- reading the whole fleet on every report
from hosts h join stamps s on s.id = h.stamp_id
where h.fqdn = $1::text::citext for update of h
