-- A page of one stamp's hosts ($1) by FQDN, unfiltered: walks the (stamp_id, fqdn) index from
-- the cursor ($2, none: the start); $3 the limit. The filtered page is
-- hosts_of_stamp_filtered_page.sql: without its catch-all filters, whose estimates (a row or two
-- of the stamp) make the generic plan sort every host of the stamp, this statement's generic plan
-- is the walk, so it runs on the list pool, planned once per connection (db::LIST_SETTINGS).
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
where h.stamp_id = (select s.id from stamps s where s.name = $1)
  and h.fqdn > coalesce($2::text, '')::citext
order by h.stamp_id, h.fqdn
limit $3
