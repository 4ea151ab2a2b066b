-- A page of one stamp's certificate installations, soonest expiry first: walks the stamp's
-- installations by their (stamp_id, not_after, thumbprint) index from the cursor and looks up
-- each one's host and certificate (lateral, offset 0: a nested loop in the walk's order), so
-- only the installations of the certificates on the page are read and sorted by host and store
-- (an incremental sort), even in the generic plan of the prepared statement (limit unknown):
-- the cost follows the page, not the stamp's size nor the fleet's.
-- Parameters, the same in the four certificate statements: $1 stamp, $2 expires within days,
-- $3 store, $4 has private key, $5 host, $6 thumbprint, $7..$10 the cursor (not_after,
-- thumbprint, host, store), $11 the limit. The filters that do not pick the walk only filter
-- the rows it reads, inside the lookups: there the generic plan does not count them as making
-- the walk short (each catch-all would divide its estimate of the stamp's rows by hundreds, and
-- a walk thought to be a row long is read whole, by a bitmap, and sorted).
select hc.thumbprint as "thumbprint!", c.subject as "subject!", c.subject_cn, c.issuer as "issuer!",
       hc.not_after as "not_after!", c.signature_algorithm, c.key_algorithm, c.key_bits,
       c.self_signed as "self_signed!", hc.store as "store!", hc.has_private_key as "has_private_key!",
       h.host as "host!", $1::text as "stamp!"
from host_certificates hc
cross join lateral (
    select h.fqdn, h.fqdn::text as host from hosts h where h.id = hc.host_id offset 0
) h
cross join lateral (
    select c.subject, c.subject_cn, c.issuer, c.signature_algorithm, c.key_algorithm, c.key_bits,
           c.self_signed
    from certificates c
    where c.thumbprint = hc.thumbprint
      and ($6::text is null or hc.thumbprint = $6)
      and ($3::text is null or hc.store = $3)
      and ($4::bool is null or hc.has_private_key = $4)
    offset 0
) c
where hc.stamp_id = (select id from stamps where name = $1)
  and (hc.not_after, hc.thumbprint) >= (coalesce($7, '-infinity'::timestamptz), coalesce($8::text, ''))
  and hc.not_after <= coalesce(now() + make_interval(days => $2::int), 'infinity'::timestamptz)
  and ($5::text is null or h.fqdn = $5::text::citext)
  and ($7::timestamptz is null
       or (hc.not_after, hc.thumbprint, h.host, hc.store) > ($7, $8::text, $9::text, $10::text))
order by hc.not_after, hc.thumbprint, h.host, hc.store
limit $11
