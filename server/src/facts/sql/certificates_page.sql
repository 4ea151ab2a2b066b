-- A page of the fleet's certificate installations, soonest expiry first: walks the certificates'
-- (not_after, thumbprint) index from the cursor and reads each certificate's installations
-- (lateral, offset 0: a nested loop in the walk's order), so only the installations of the
-- certificates on the page are read and sorted by host and store (an incremental sort), even in
-- the generic plan of the prepared statement (limit unknown).
-- Parameters, the same in the four certificate statements: $1 stamp, $2 expires within days,
-- $3 store, $4 has private key, $5 host, $6 thumbprint, $7..$10 the cursor (not_after,
-- thumbprint, host, store), $11 the limit. The filters that do not pick the walk only filter
-- the rows it reads.
select c.thumbprint, c.subject, c.subject_cn, c.issuer, c.not_after, c.signature_algorithm, c.key_algorithm,
       c.key_bits, c.self_signed, i.store as "store!", i.has_private_key as "has_private_key!",
       i.host as "host!", i.stamp as "stamp!"
from certificates c
cross join lateral (
    select hc.store, hc.has_private_key, h.fqdn::text as host, s.name as stamp
    from host_certificates hc
    join hosts h on h.id = hc.host_id
    join stamps s on s.id = h.stamp_id
    where hc.thumbprint = c.thumbprint
      and ($1::text is null or s.name = $1)
      and ($5::text is null or h.fqdn = $5::text::citext)
      and ($3::text is null or hc.store = $3)
      and ($4::bool is null or hc.has_private_key = $4)
    offset 0
) i
where (c.not_after, c.thumbprint) >= (coalesce($7, '-infinity'::timestamptz), coalesce($8::text, ''))
  and c.not_after <= coalesce(now() + make_interval(days => $2::int), 'infinity'::timestamptz)
  and ($6::text is null or c.thumbprint = $6)
  and ($7::timestamptz is null
       or (c.not_after, c.thumbprint, i.host, i.store) > ($7, $8::text, $9::text, $10::text))
order by c.not_after, c.thumbprint, i.host, i.store
limit $11
