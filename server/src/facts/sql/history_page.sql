-- A host's ($1, its FQDN in any case) changes newest first: walks the (host_id, id) index down
-- from the cursor ($2, the id before which the page starts); $3 the limit. An unknown host gives
-- no rows (the handler then tells it from a page past the oldest change).
select id, at, report_id, kind, key, change, before, after from fact_changes
where host_id = (select id from hosts where fqdn = $1::text::citext)
  and id < coalesce($2::bigint, 9223372036854775807)
order by id desc
limit $3
