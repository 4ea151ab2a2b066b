-- A page of the fleet's hosts by FQDN: walks the FQDN index from the cursor ($1, none: the
-- start); role, staleness and name part ($2..$4) only filter the rows the walk reads; $5 the
-- limit. The hosts table alone is walked and limited, the stamp and the open problems are
-- looked up for the returned rows only (sub-selects), so that even the generic plan of the
-- prepared statement (limit unknown) cannot turn into a join of the fleet.
select h.fqdn::text as "fqdn!",
       s.name as "stamp!",
       h.scale_unit, h.roles, h.os_name, h.os_version,
       h.cpu_cores, h.memory_mb, h.storage_gb, h.vm_count, h.vm_vcpus, h.vm_memory_mb, h.agent_version,
       h.first_seen_at, h.last_report_at, h.last_collected_at,
       h.last_collected_at < now() - make_interval(secs => 3 * s.report_interval_s) as "stale!",
       (select count(*) from problems p where p.host_id = h.id and p.resolved_at is null) as "open_problems!"
from hosts h
-- the host's stamp, per row read (offset 0 keeps it a nested loop in the walk's order)
cross join lateral (select s.name, s.report_interval_s from stamps s where s.id = h.stamp_id offset 0) s
where h.fqdn > coalesce($1::text, '')::citext
  and ($2::text is null or $2 = any(h.roles))
  and ($3::bool is null
       or (h.last_collected_at < now() - make_interval(secs => 3 * s.report_interval_s)) = $3)
  and ($4::text is null or h.fqdn::text ilike $4)
order by h.fqdn
limit $5
