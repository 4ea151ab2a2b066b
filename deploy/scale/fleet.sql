-- deploy/scale/fleet.sql: defines pg_temp.load_fleet(hosts, stamps), which fills an empty,
-- migrated stampbook database with a synthetic fleet in a few set-based statements (seconds, not
-- the hours that many reports through the API would take). The plan checks
-- (server/tests/query_plans.rs) and deploy/bench-scale both load their fleets with it.
--
-- Per host: 2 machine certificates of its own (LocalMachine\My, expiring over the next two
-- years) and its stamp's CA (LocalMachine\Root, shared by the stamp's hosts), 3 routes, role
-- settings on the VMM servers, the VMM agent's version (and the VMM server's) as a component, the
-- Hyper-V service; 1 host in 10 has an open problem and 1 in 10 a resolved one
-- (in every stamp); 1 host in 20 is stale; 10 plans per stamp (1 in 20 with an open problem);
-- each stamp's first host is its WAP server, which reports the stamp's plans (one with other
-- cores than declared) and a trial plan only WAP knows.
-- Host names interleave the stamps (host i is in stamp i mod stamps), so
-- walking the FQDN index and keeping one stamp's hosts reads stamps × the rows it returns:
-- exactly the plan the lists must not take. The rows have the shape ingest writes (the bench
-- pushes reports through the API and compares).
-- A certificate's thumbprint (40 upper-case hex digits, as Windows shows them) from a name.
create or replace function pg_temp.thumbprint(name text) returns text
language sql immutable as $$
    select upper(encode(sha256(convert_to(name, 'UTF8')), 'hex'))::char(40)::text
$$;

-- Minutes from now (less 30 days) to the expiry of host i's machine certificate k: spread over
-- the next two years.
create or replace function pg_temp.cert_minutes(i int, k int) returns int
language sql immutable as $$
    select ((i::bigint * 7919 + k * 104729) % (730 * 1440))::int
$$;

create or replace function pg_temp.load_fleet(n_hosts int, n_stamps int) returns void
language plpgsql as $$
begin
    set local synchronous_commit = off;

    insert into stamps (name, display_name, region, report_interval_s)
    select format('st%s', lpad(s::text, 4, '0')), format('Stamp %s', s), 'region-' || (s % 7), 300
    from generate_series(1, n_stamps) s;

    insert into scale_units (stamp_id, name, kind)
    select id, 'su-01', 'compute' from stamps;

    insert into hosts (fqdn, stamp_id, scale_unit, roles, os_name, os_version, cpu_cores, memory_mb,
                       storage_gb, vm_count, vm_vcpus, vm_memory_mb, agent_name, agent_version,
                       first_seen_at, last_report_at, last_collected_at, last_report_id,
                       facts_digest, sections, nearest_cert_expiry, nearest_cert_thumbprint, wap_collected_at)
    select format('host-%s.example.net', lpad(i::text, 7, '0')),
           st.id,
           'su-01',
           -- the first host of each stamp is its WAP server (hosts 1 to n_stamps: one a stamp)
           case when i <= n_stamps then array['wap_server']
                when i % 50 = 0 then array['vmm_server']
                when i % 50 = 1 then array['rd_gateway']
                when i % 50 = 2 then array['nvgre_gateway']
                else array['hyperv_host'] end,
           'Windows Server 2019 Datacenter', '10.0.17763',
           32, 262144, 2048, i % 40, (i % 40) * 4, (i % 40) * 8192,
           'stampbook-agent', '1.4.' || (i % 3),
           now() - interval '90 days',
           now() - make_interval(secs => (i % 280)),
           -- 1 host in 20 stopped reporting two hours ago (stale at a 300 s interval)
           case when i % 20 = 7 then now() - interval '2 hours' else now() - make_interval(secs => (i % 280)) end,
           gen_random_uuid(),
           '\x00'::bytea,
           array['host', 'vitals', 'certificates', 'routes', 'interfaces', 'services', 'settings', 'components']
               || case when i <= n_stamps then array['wap'] else '{}' end,
           -- the sooner of its two machine certificates (the stamp's CA expires years later)
           now() + make_interval(mins => least(pg_temp.cert_minutes(i, 0), pg_temp.cert_minutes(i, 1))) - interval '30 days',
           pg_temp.thumbprint(format('host-%s.example.net', lpad(i::text, 7, '0')) || '#'
                || (case when pg_temp.cert_minutes(i, 0) <= pg_temp.cert_minutes(i, 1) then 0 else 1 end)),
           case when i <= n_stamps then now() - make_interval(secs => (i % 280)) end
    from generate_series(1, n_hosts) i
    join stamps st on st.name = format('st%s', lpad((i % n_stamps + 1)::text, 4, '0'));

    -- two machine certificates per host, and one CA per stamp
    insert into certificates (thumbprint, der, subject, subject_cn, issuer, serial, not_before, not_after,
                              signature_algorithm, signature_hash, key_algorithm, key_bits, san_dns, self_signed)
    select pg_temp.thumbprint(h.fqdn::text || '#' || k),
           '\x30'::bytea,
           'CN=' || h.fqdn, h.fqdn, 'CN=CA ' || h.stamp_id, lpad(to_hex(h.id * 2 + k), 16, '0'),
           now() - interval '1 year',
           now() + make_interval(mins => pg_temp.cert_minutes(substr(h.fqdn::text, 6, 7)::int, k)) - interval '30 days',
           'sha256RSA', 'sha256', 'RSA', 2048, array[h.fqdn::text], false
    from hosts h cross join generate_series(0, 1) k;
    insert into certificates (thumbprint, der, subject, subject_cn, issuer, serial, not_before, not_after,
                              signature_algorithm, signature_hash, key_algorithm, key_bits, san_dns, self_signed)
    select pg_temp.thumbprint('ca#' || s.name),
           '\x30'::bytea, 'CN=CA ' || s.id, 'CA ' || s.id, 'CN=CA ' || s.id, to_hex(s.id),
           now() - interval '5 years', now() + interval '10 years' + make_interval(mins => s.id::int),
           'sha256RSA', 'sha256', 'RSA', 4096, '{}', true
    from stamps s;

    -- (stamp and expiry given, as ingest gives them: the trigger that fills them is for writers
    -- that do not, a row at a time; in host order, as ingest writes them a host at a time: a
    -- join by thumbprint left a 1,000,000-host fleet's installations scattered)
    insert into host_certificates (host_id, store, thumbprint, has_private_key, provider, added_at, first_seen_at,
                                   stamp_id, not_after)
    select h.id, 'LocalMachine\My', c.thumbprint,
           true, 'Microsoft RSA SChannel Cryptographic Provider', now() - interval '1 year', now() - interval '90 days',
           h.stamp_id, c.not_after
    from hosts h cross join generate_series(0, 1) k
    join certificates c on c.thumbprint = pg_temp.thumbprint(h.fqdn::text || '#' || k)
    order by h.id, k;
    insert into host_certificates (host_id, store, thumbprint, has_private_key, first_seen_at, stamp_id, not_after)
    select h.id, 'LocalMachine\Root', c.thumbprint, false, now() - interval '90 days', h.stamp_id, c.not_after
    from hosts h join stamps s on s.id = h.stamp_id
    join certificates c on c.thumbprint = pg_temp.thumbprint('ca#' || s.name)
    order by h.id;
    insert into host_routes (host_id, position, destination, next_hop, interface, metric, persistent)
    select h.id, r, case r when 0 then '0.0.0.0/0'::cidr when 1 then '10.0.0.0/8'::cidr else '172.16.0.0/12'::cidr end,
           case r when 0 then '10.0.0.1/32'::cidr end, 'Ethernet0', 10 * (r + 1), r = 0
    from hosts h cross join generate_series(0, 2) r;

    insert into host_settings (host_id, vmm)
    select h.id, '{"server": "vmm"}'::jsonb from hosts h where 'vmm_server' = any(h.roles);
    -- components as the agent names them (System Center 2012 R2 UR builds); 1 host in 100 a
    -- rollup behind; the Hyper-V service on every Hyper-V host
    insert into host_components (host_id, name, version)
    select h.id, 'vmm_agent', case when h.id % 100 = 3 then '3.2.8145.0' else '3.2.8169.0' end
    from hosts h where h.roles && array['hyperv_host', 'vmm_server'];
    insert into host_components (host_id, name, version)
    select h.id, 'vmm_server', '3.2.8169.0' from hosts h where 'vmm_server' = any(h.roles);
    insert into host_services (host_id, name, state, started_at)
    select h.id, 'vmms', 'running', now() - interval '30 days' from hosts h where 'hyperv_host' = any(h.roles);

    -- 1 host in 10 has an open problem (its newest certificate's expiry), 1 in 10 a resolved one
    insert into problems (rule, severity, stamp_id, host_id, subject, message, opened_at, last_seen_at, resolved_at)
    select 'certificate.expiring', case when h.id % 30 = 0 then 'critical' else 'warning' end, h.stamp_id, h.id,
           'LocalMachine\My', 'a certificate expires soon', now() - interval '1 day', now(),
           case when (h.id / n_stamps) % 10 = 5 then now() - interval '1 hour' end
    from hosts h where (h.id / n_stamps) % 10 in (0, 5);
    insert into plans (wap_plan_id, name, public, stamp_id, cloud, remote_console, quota_vms, quota_vcpus,
                       quota_memory_gb, quota_storage_gb, subscriptions)
    select format('plan-%s-%s', s.name, k), format('Plan %s of %s', k, s.name), k % 2 = 0, s.id,
           'Cloud ' || s.name, k % 3 = 0, 100 * k, 400 * k, 800 * k, 4000 * k, k * 7
    from stamps s cross join generate_series(1, 10) k;
    -- what each stamp's WAP server reports: the stamp's 10 plans (their ids in upper case, as a
    -- WAP admin may spell them; plan 5 with other cores than declared) on the stamp's cloud, and a
    -- private trial plan the inventory does not declare
    insert into host_wap_plans (host_id, plan_key, wap_id, display_name, state, subscription_count, quotas)
    select h.id, lower(pl.wap_plan_id), upper(pl.wap_plan_id), pl.name,
           case when pl.public then 'public' else 'private' end, pl.subscriptions,
           jsonb_build_array(jsonb_build_object('service_name', 'systemcenter', 'instance_id', 'vmm-' || s.name,
               'settings', jsonb_build_object(
                   'Clouds', format('<Clouds><Cloud Id="%s" Name="%s" StampId="%s" /></Clouds>',
                                    md5(pl.cloud), pl.cloud, md5(s.name)),
                   'VmCount', pl.quota_vms::text,
                   'CoreCount', (case when pl.wap_plan_id like '%-5' then pl.quota_vcpus / 2 else pl.quota_vcpus end)::text,
                   'RamInMB', (pl.quota_memory_gb * 1024)::text,
                   'StorageInGB', pl.quota_storage_gb::text)))
    from plans pl join stamps s on s.id = pl.stamp_id join hosts h on h.stamp_id = s.id and h.wap_collected_at is not null;
    insert into host_wap_plans (host_id, plan_key, wap_id, display_name, state, subscription_count, quotas)
    select h.id, 'trial-' || s.name, 'Trial-' || s.name, 'Trial of ' || s.name, 'private', 0, '[]'::jsonb
    from hosts h join stamps s on s.id = h.stamp_id where h.wap_collected_at is not null;
    insert into problems (rule, severity, stamp_id, plan_id, subject, message, opened_at, last_seen_at)
    select 'plan.stamp_unhealthy', 'critical', pl.stamp_id, pl.id, pl.wap_plan_id, 'the plan is sold on an unhealthy stamp',
           now() - interval '2 days', now()
    from plans pl where pl.id % 20 = 0;
    insert into stamp_problem_counts (stamp_id, rule, severity, n)
    select stamp_id, rule, severity, count(*) from problems where resolved_at is null
    group by stamp_id, rule, severity;

    -- history for 1 host in 1000, audit and quarantine rows for their lists
    insert into fact_changes (host_id, report_id, at, kind, key, change, before, after)
    select h.id, gen_random_uuid(), now() - make_interval(mins => c),
           (array['vitals', 'certificate', 'route', 'service'])[c % 4 + 1], 'k' || c, 'changed', '1', '2'
    from hosts h cross join generate_series(1, 200) c where h.id % 1000 = 1;
    insert into audit_log (actor, action, entity, entity_key)
    select 'admin', 'update', (array['stamp', 'network', 'plan', 'token', 'scale_unit'])[i % 5 + 1], 'k' || i
    from generate_series(1, 5000) i;
    insert into quarantined_reports (stamp, host, code, reason, payload, replayed_at)
    select 'unknown-' || (i % 20), 'h' || i, 'unknown_stamp', 'no such stamp', '{}'::jsonb,
           case when i % 3 = 0 then now() end
    from generate_series(1, 3000) i;
end
$$;
