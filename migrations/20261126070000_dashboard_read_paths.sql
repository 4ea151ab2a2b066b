-- dashboard read paths (server/src/web): what expires when, answered from indexes alone.
-- certificate rows carry their DER and are wide; these let the stamp page's expiry timeline look
-- a certificate's not_after up by thumbprint, and the certificates page count what expires in a
-- window, without visiting them.
create index certificates_thumbprint_not_after_idx on certificates (thumbprint) include (not_after);
create index certificates_not_after_thumbprint_idx on certificates (not_after) include (thumbprint);

-- the installations of a certificate with their store (the store filter of the timeline).
create index host_certificates_thumbprint_store_idx on host_certificates (thumbprint, store) include (host_id);
