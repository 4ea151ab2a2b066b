-- What the newest report of a host says its agent set aside in rejected/ (reports the server
-- refused for good, or kept failing on): shown on the host page and counted in /metrics, like
-- the spool's drops, so that no lost report goes unseen.
alter table hosts add column agent_spool_rejected bigint;
create index hosts_spool_rejected_idx on hosts (stamp_id) where agent_spool_rejected > 0;
