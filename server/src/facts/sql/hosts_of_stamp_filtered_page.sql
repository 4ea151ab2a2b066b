-- A page of one stamp's hosts ($1) by FQDN with a role, staleness or name part ($3..$5, at least
-- one given): walks the (stamp_id, fqdn) index from the cursor ($2, none: the start); $6 the
-- limit. As in hosts_page.sql, only the hosts table is walked and limited. The filters sit
-- inside the per-row lookup of the host's stamp (lateral, offset 0: a nested loop in the walk's
-- order), where they only filter the rows read: in the where clause, the generic plan of the
-- prepared statement (limit unknown) would divide its estimate of the stamp's hosts by each
-- catch-all, think the walk a row or two long, and read and sort the whole stamp instead
-- (tests/query_plans.rs, stamps of 1,000 hosts).
select h.fqdn::text as "fqdn!",
       s.name as "stamp!",
       h.scale_unit, h.roles, h.os_name, h.os_version,
       h.cpu_cores, h.memory_mb, h.storage_gb, h.vm_count, h.vm_vcpus, h.vm_memory_mb, h.agent_version,
       h.first_seen_at, h.last_report_at, h.last_collected_at,
       h.last_collected_at < now() - make_interval(secs => 3 * s.report_interval_s) as "stale!",
       (select count(*) from problems p where p.host_id = h.id and p.resolved_at is null) as "open_problems!"
from hosts h
cross join lateral (
    select s.name, s.report_interval_s from stamps s
    where s.id = h.stamp_id
      and ($3::text is null or $3 = any(h.roles))
      and ($4::bool is null
           or (h.last_collected_at < now() - make_interval(secs => 3 * s.report_interval_s)) = $4)
      and ($5::text is null or h.fqdn::text ilike $5)
    offset 0
) s
where h.stamp_id = (select s.id from stamps s where s.name = $1)
  and h.fqdn > coalesce($2::text, '')::citext
order by h.stamp_id, h.fqdn
limit $6
