-- hosts and the facts they report: current state per host, plus a history of changes.

create table hosts (
    id                  bigint generated always as identity
                        constraint hosts_pkey primary key,
    fqdn                citext not null
                        constraint hosts_fqdn_key unique,
    stamp_id            bigint not null
                        constraint hosts_stamp_id_fkey references stamps (id),
    scale_unit          text,
    roles               text[] not null default '{}',
    os_name             text,
    os_version          text,
    cpu_cores           integer,
    memory_mb           bigint,
    storage_gb          bigint,
    vm_count            integer,
    vm_vcpus            integer,
    vm_memory_mb        bigint,
    agent_name          text,
    agent_version       text,
    first_seen_at       timestamptz not null default now(),
    -- when the newest report was received, and its collected_at clamped to that time.
    last_report_at      timestamptz not null default now(),
    last_collected_at   timestamptz not null,
    last_report_id      uuid not null,
    -- digest of the facts of the newest stored report: an identical report is detected with it
    -- before any fact table is touched.
    facts_digest        bytea not null
);

create index hosts_stamp_id_idx on hosts (stamp_id, fqdn);
create index hosts_roles_idx on hosts using gin (roles);

-- certificates, once per distinct DER (thumbprint = uppercase hex SHA-1 of the DER).
create table certificates (
    thumbprint          text not null
                        constraint certificates_pkey primary key
                        constraint certificates_thumbprint_format check (thumbprint ~ '^[0-9A-F]{40}$'),
    der                 bytea not null,
    subject             text not null,
    subject_cn          text,
    issuer              text not null,
    serial              text not null,
    not_before          timestamptz not null,
    not_after           timestamptz not null,
    signature_algorithm text not null,
    signature_hash      text,
    key_algorithm       text not null,
    key_bits            integer,
    -- null: no Key Usage extension; otherwise the flags that are set.
    key_usage           text[],
    -- null: no Extended Key Usage extension; otherwise the OIDs.
    eku                 text[],
    san_dns             text[] not null default '{}',
    self_signed         boolean not null,
    created_at          timestamptz not null default now()
);

create index certificates_not_after_idx on certificates (not_after);

create table host_certificates (
    host_id             bigint not null
                        constraint host_certificates_host_id_fkey references hosts (id) on delete cascade,
    store               text not null,
    thumbprint          text not null
                        constraint host_certificates_thumbprint_fkey references certificates (thumbprint),
    has_private_key     boolean not null default false,
    provider            text,
    added_at            timestamptz,
    first_seen_at       timestamptz not null,
    constraint host_certificates_pkey primary key (host_id, store, thumbprint)
);

create index host_certificates_thumbprint_idx on host_certificates (thumbprint);

create table host_routes (
    host_id             bigint not null
                        constraint host_routes_host_id_fkey references hosts (id) on delete cascade,
    position            integer not null,
    destination         cidr not null,
    -- null means on-link.
    next_hop            inet,
    interface           text,
    metric              integer not null constraint host_routes_metric_check check (metric >= 0),
    persistent          boolean not null default false,
    constraint host_routes_pkey primary key (host_id, position)
);

create table host_interfaces (
    host_id             bigint not null
                        constraint host_interfaces_host_id_fkey references hosts (id) on delete cascade,
    name                text not null,
    addresses           inet[] not null default '{}',
    gateway             inet,
    constraint host_interfaces_pkey primary key (host_id, name)
);

create table host_services (
    host_id             bigint not null
                        constraint host_services_host_id_fkey references hosts (id) on delete cascade,
    name                citext not null,
    state               text not null,
    started_at          timestamptz,
    constraint host_services_pkey primary key (host_id, name)
);

-- role settings as reported (each part null when it was not collected).
create table host_settings (
    host_id             bigint not null
                        constraint host_settings_pkey primary key
                        constraint host_settings_host_id_fkey references hosts (id) on delete cascade,
    vmm                 jsonb,
    hyperv_terminal_service jsonb,
    rd_gateway          jsonb
);

create table host_components (
    host_id             bigint not null
                        constraint host_components_host_id_fkey references hosts (id) on delete cascade,
    name                text not null,
    version             text not null,
    constraint host_components_pkey primary key (host_id, name)
);

create index host_components_name_idx on host_components (name, version);

-- what changed on a host, when (at = the collected_at of the report that showed it).
create table fact_changes (
    id                  bigint generated always as identity
                        constraint fact_changes_pkey primary key,
    host_id             bigint not null
                        constraint fact_changes_host_id_fkey references hosts (id) on delete cascade,
    report_id           uuid not null,
    at                  timestamptz not null,
    kind                text not null
                        constraint fact_changes_kind_check
                        check (kind in ('host', 'vitals', 'certificate', 'route', 'interface', 'service', 'setting', 'component', 'report')),
    key                 text not null,
    change              text not null
                        constraint fact_changes_change_check
                        check (change in ('appeared', 'changed', 'disappeared', 'late')),
    before              jsonb,
    after               jsonb
);

create index fact_changes_host_at_idx on fact_changes (host_id, at desc, id desc);

-- every accepted report id (idempotency), with what became of it.
create table reports (
    report_id           uuid not null
                        constraint reports_pkey primary key,
    host_id             bigint not null
                        constraint reports_host_id_fkey references hosts (id) on delete cascade,
    collected_at        timestamptz not null,
    received_at         timestamptz not null default now(),
    outcome             text not null
                        constraint reports_outcome_check check (outcome in ('stored', 'unchanged', 'late')),
    changes             integer not null default 0,
    -- the whole report, kept only for late reports (they never overwrite newer facts).
    payload             jsonb
);

create index reports_received_at_idx on reports (received_at);
create index reports_host_collected_idx on reports (host_id, collected_at desc);

-- refused reports (unknown or retired stamp, ...), for the NOC to see and replay.
create table quarantined_reports (
    id                  bigint generated always as identity
                        constraint quarantined_reports_pkey primary key,
    report_id           uuid,
    received_at         timestamptz not null default now(),
    stamp               text not null,
    host                text not null,
    code                text not null,
    reason              text not null,
    token_name          text,
    payload             jsonb not null,
    replayed_at         timestamptz,
    replayed_by         text,
    replay_outcome      text
);

create index quarantined_reports_pending_idx on quarantined_reports (received_at desc) where replayed_at is null;
