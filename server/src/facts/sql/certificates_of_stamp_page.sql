-- A page of one stamp's certificate installations, soonest expiry first: reads the stamp's
-- hosts by the (stamp_id, fqdn) index and each host's installations (lateral, offset 0, so no
-- plan can walk the fleet's certificates instead), then sorts them: the cost follows the
-- stamp's size (its hosts' installations), not the fleet's.
-- Parameters, the same in the four certificate statements: $1 stamp, $2 expires within days,
-- $3 store, $4 has private key, $5 host, $6 thumbprint, $7..$10 the cursor (not_after,
-- thumbprint, host, store), $11 the limit. The filters that do not pick the walk only filter
-- the rows it reads.
select i.thumbprint as "thumbprint!", i.subject as "subject!", i.subject_cn, i.issuer as "issuer!",
       i.not_after as "not_after!", i.signature_algorithm, i.key_algorithm, i.key_bits,
       i.self_signed as "self_signed!", i.store as "store!", i.has_private_key as "has_private_key!",
       h.fqdn::text as "host!", $1::text as "stamp!"
from hosts h
cross join lateral (
    select c.thumbprint, c.subject, c.subject_cn, c.issuer, c.not_after, c.signature_algorithm,
           c.key_algorithm, c.key_bits, c.self_signed, hc.store, hc.has_private_key
    from host_certificates hc
    join certificates c on c.thumbprint = hc.thumbprint
    where hc.host_id = h.id
      and ($6::text is null or c.thumbprint = $6)
      and c.not_after <= coalesce(now() + make_interval(days => $2::int), 'infinity'::timestamptz)
      and ($3::text is null or hc.store = $3)
      and ($4::bool is null or hc.has_private_key = $4)
    offset 0
) i
where h.stamp_id = (select id from stamps where name = $1)
  and ($5::text is null or h.fqdn = $5::text::citext)
  and ($7::timestamptz is null
       or (i.not_after, i.thumbprint, h.fqdn::text, i.store) > ($7, $8::text, $9::text, $10::text))
order by i.not_after, i.thumbprint, h.fqdn::text, i.store
limit $11
