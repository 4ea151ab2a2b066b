-- Which hosts have reported VMM settings, on the host row, so that a stamp's Remote Console
-- readiness ("has any VMM server of the stamp reported its settings?") reads a partial index of
-- the stamp's VMM hosts instead of joining every host of the stamp to host_settings (1.4 s for
-- the overview's 1,000 stamps at 1,000,000 hosts; deploy/bench-scale). Kept by a trigger on
-- host_settings, so every writer (ingest, the scale fleet loader, tests) keeps it alike; the
-- host row is already locked by the report that writes its settings.
alter table hosts add column vmm_settings boolean not null default false;

update hosts h set vmm_settings = true
from host_settings hs
where hs.host_id = h.id and hs.vmm is not null;

create index hosts_vmm_settings_idx on hosts (stamp_id) where vmm_settings;

create function host_settings_vmm_flag() returns trigger
language plpgsql
as $$
begin
    if tg_op = 'DELETE' then
        update hosts set vmm_settings = false where id = old.host_id and vmm_settings;
        return old;
    end if;
    update hosts set vmm_settings = (new.vmm is not null)
    where id = new.host_id and vmm_settings is distinct from (new.vmm is not null);
    return new;
end
$$;

create trigger host_settings_vmm_flag
after insert or delete or update of vmm on host_settings
for each row execute function host_settings_vmm_flag();
