-- where the collector was blind (SPEC §4, §5): the newest report's collection_errors per host
-- (null: the report had none to say, as older agents never do), how many reports the agent's
-- spool dropped before it (null: not said), and which inputs of the Remote Console chain the host
-- should hold but has never collected or failed to collect in its newest report, as
-- '<chain link>:<input>' (e.g. 'rd_gateway_trust:settings.rd_gateway'). Ingest keeps all three;
-- readiness reads `blind` through the partial index, so a healthy fleet costs nothing to ask.
alter table hosts add column collection_errors jsonb,
                  add column agent_spool_dropped bigint,
                  add column blind text[] not null default '{}';

update hosts h set blind = array(
    select distinct x.link || ':' || x.input
    from (values ('vmm_server', 'vmm_certificate', 'settings.vmm', 'vmm'),
                 ('vmm_server', 'vmm_certificate', 'certificates', 'certificates'),
                 ('hyperv_host', 'host_trust', 'certificates', 'certificates'),
                 ('hyperv_host', 'host_trust', 'settings.hyperv_terminal_service', 'hyperv_terminal_service'),
                 ('hyperv_host', 'host_trust', 'services', 'services'),
                 ('rd_gateway', 'rd_gateway_trust', 'certificates', 'certificates'),
                 ('rd_gateway', 'rd_gateway_trust', 'settings.rd_gateway', 'rd_gateway'))
         as x(role, link, input, section)
    where x.role = any(h.roles) and not (x.section = any(h.sections))
    order by 1);

create index hosts_blind_idx on hosts (stamp_id) where blind <> '{}';
create index hosts_collection_errors_idx on hosts (stamp_id) where collection_errors <> '[]'::jsonb;
create index hosts_spool_dropped_idx on hosts (stamp_id) where agent_spool_dropped > 0;
