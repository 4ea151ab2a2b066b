-- A page of one host's certificate installations, soonest expiry first: the host by its FQDN,
-- its installations by the host_certificates key.
-- Parameters, the same in the four certificate statements: $1 stamp, $2 expires within days,
-- $3 store, $4 has private key, $5 host, $6 thumbprint, $7..$10 the cursor (not_after,
-- thumbprint, host, store), $11 the limit. The filters that do not pick the walk only filter
-- the rows it reads.
select c.thumbprint, c.subject, c.subject_cn, c.issuer, c.not_after, c.signature_algorithm, c.key_algorithm,
       c.key_bits, c.self_signed, hc.store, hc.has_private_key, h.fqdn::text as "host!", s.name as stamp
from hosts h
join stamps s on s.id = h.stamp_id
join host_certificates hc on hc.host_id = h.id
join certificates c on c.thumbprint = hc.thumbprint
where h.fqdn = $5::text::citext
  and ($1::text is null or s.name = $1)
  and ($6::text is null or c.thumbprint = $6)
  and c.not_after <= coalesce(now() + make_interval(days => $2::int), 'infinity'::timestamptz)
  and ($3::text is null or hc.store = $3)
  and ($4::bool is null or hc.has_private_key = $4)
  and ($7::timestamptz is null
       or (c.not_after, c.thumbprint, h.fqdn::text, hc.store) > ($7, $8::text, $9::text, $10::text))
order by c.not_after, c.thumbprint, h.fqdn::text, hc.store
limit $11
