-- The host a changed report writes, locked for the report's transaction, and whether it has an
-- open problem a report alone can resolve ($2: those rules). facts::report::HOST_FOR_REPORT.
select id, stamp_id, last_collected_at, facts_digest,
       exists (select 1 from problems p where p.host_id = hosts.id and p.rule = any($2)
               and p.resolved_at is null) as "resolvable_open!"
-- citext against citext: `fqdn = $1::text` would compare as text, past the citext unique index,
-- reading the whole fleet on every report
from hosts where fqdn = $1::text::citext for update
