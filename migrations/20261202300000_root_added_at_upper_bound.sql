-- A root certificate's added_at read from its registry key's last write time (capture.ps1, when
-- it may use Add-Type) is an upper bound, not the moment it was added: kept so that the rules
-- say so in their evidence.
alter table host_certificates add column added_at_upper_bound boolean not null default false;
