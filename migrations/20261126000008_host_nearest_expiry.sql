-- each host's nearest expiring certificate with a private key in LocalMachine\My, kept by ingest,
-- so a stamp's nearest expiry is one index probe instead of a walk over every certificate.
alter table hosts add column nearest_cert_expiry timestamptz,
                  add column nearest_cert_thumbprint text;

update hosts h
set (nearest_cert_expiry, nearest_cert_thumbprint) = (
    select c.not_after, c.thumbprint
    from host_certificates hc join certificates c on c.thumbprint = hc.thumbprint
    where hc.host_id = h.id and hc.store = 'LocalMachine\My' and hc.has_private_key
    order by c.not_after, c.thumbprint
    limit 1);

create index hosts_stamp_nearest_expiry_idx on hosts (stamp_id, nearest_cert_expiry)
    where nearest_cert_expiry is not null;
