-- A host's ($1, its FQDN in any case) changes of one kind ($2) newest first: walks the
-- (host_id, kind, id) index down from the cursor ($3); $4 the limit.
select id, at, report_id, kind, key, change, before, after from fact_changes
where host_id = (select id from hosts where fqdn = $1::text::citext)
  and kind = $2
  and id < coalesce($3::bigint, 9223372036854775807)
order by id desc
limit $4
