-- For each of these clouds ($1, lower-cased names or ids a stamp's WAP plans name), the stamps
-- whose declared plans name it (index plans_cloud_key_idx, one lookup per cloud: a sub-select,
-- so that no plan of the statement joins the whole table; offset 0 keeps the
-- sub-select from being copied into the where clause and run twice). rules::load::CLOUD_STAMPS_AMONG.
select k as "cloud!", stamps as "stamps!"
from unnest($1::text[]) as k,
     lateral (select array(select distinct s.name::text
                           from plans p join stamps s on s.id = p.stamp_id
                           where lower(btrim(p.cloud)) = lower(k) and btrim(p.cloud) <> ''
                           order by 1) as stamps
              offset 0) named
where cardinality(stamps) > 0
