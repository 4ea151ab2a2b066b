-- The VMM settings the stamp's hosts ($1) reported, for the Remote Console rules (every run of
-- the stamp, host runs too): through hosts.vmm_settings's partial index, the stamp's few VMM
-- servers, not its every host joined to host_settings. rules::load::VMM_SETTINGS_OF_STAMP.
select h.id, h.fqdn::text as "fqdn!", hs.vmm as "vmm!"
from hosts h join host_settings hs on hs.host_id = h.id
where h.stamp_id = $1 and h.vmm_settings and hs.vmm is not null order by h.id
