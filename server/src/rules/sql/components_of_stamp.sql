-- The components of every host of a stamp ($1), for the version rules. rules::load::COMPONENTS_OF_STAMP.
select h.id, h.fqdn::text as "fqdn!", c.name, c.version
from hosts h cross join lateral (select name, version from host_components c where c.host_id = h.id) c
where h.stamp_id = $1 order by h.id, c.name
