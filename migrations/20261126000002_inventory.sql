-- declared inventory: stamps, their networks and scale units, and the plans sold on them.

create table stamps (
    id                  bigint generated always as identity
                        constraint stamps_pkey primary key,
    name                text not null
                        constraint stamps_name_key unique
                        constraint stamps_name_format check (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    display_name        text not null,
    region              text not null default '',
    location            text not null default '',
    purpose             text not null default 'public'
                        constraint stamps_purpose_check check (purpose in ('public', 'private', 'mixed')),
    vmm_server          text,
    spf_endpoint        text,
    rd_gateway_fqdn     text,
    report_interval_s   integer not null default 300
                        constraint stamps_report_interval_positive check (report_interval_s > 0),
    cert_warning_days   integer not null default 30
                        constraint stamps_cert_warning_days_check check (cert_warning_days >= 0),
    cert_critical_days  integer not null default 7
                        constraint stamps_cert_critical_days_check check (cert_critical_days >= 0),
    cpu_overcommit      double precision not null default 4.0
                        constraint stamps_cpu_overcommit_check check (cpu_overcommit > 0),
    memory_overcommit   double precision not null default 1.0
                        constraint stamps_memory_overcommit_check check (memory_overcommit > 0),
    target_versions     jsonb not null default '{}'::jsonb,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    retired_at          timestamptz
);

create trigger stamps_set_updated_at before update on stamps
    for each row execute function set_updated_at();

create table networks (
    id                  bigint generated always as identity
                        constraint networks_pkey primary key,
    stamp_id            bigint not null
                        constraint networks_stamp_id_fkey references stamps (id) on delete cascade,
    name                text not null,
    role                text not null
                        constraint networks_role_check
                        check (role in ('management', 'front_end', 'provider', 'storage', 'other')),
    cidr                cidr not null,
    gateway             inet,
    required_prefixes   cidr[] not null default '{}',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint networks_stamp_name_key unique (stamp_id, name),
    constraint networks_gateway_inside check (gateway is null or gateway << cidr)
);

create trigger networks_set_updated_at before update on networks
    for each row execute function set_updated_at();

create table scale_units (
    id                  bigint generated always as identity
                        constraint scale_units_pkey primary key,
    stamp_id            bigint not null
                        constraint scale_units_stamp_id_fkey references stamps (id) on delete cascade,
    name                text not null,
    kind                text not null
                        constraint scale_units_kind_check check (kind in ('compute', 'storage', 'network')),
    rack                text not null default '',
    notes               text not null default '',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint scale_units_stamp_name_key unique (stamp_id, name)
);

create trigger scale_units_set_updated_at before update on scale_units
    for each row execute function set_updated_at();

create table plans (
    id                  bigint generated always as identity
                        constraint plans_pkey primary key,
    wap_plan_id         text not null
                        constraint plans_wap_plan_id_key unique,
    name                text not null,
    public              boolean not null default true,
    stamp_id            bigint not null
                        constraint plans_stamp_id_fkey references stamps (id),
    cloud               text not null default '',
    remote_console      boolean not null default false,
    quota_vms           bigint not null default 0 constraint plans_quota_vms_check check (quota_vms >= 0),
    quota_vcpus         bigint not null default 0 constraint plans_quota_vcpus_check check (quota_vcpus >= 0),
    quota_memory_gb     bigint not null default 0 constraint plans_quota_memory_check check (quota_memory_gb >= 0),
    quota_storage_gb    bigint not null default 0 constraint plans_quota_storage_check check (quota_storage_gb >= 0),
    subscriptions       bigint not null default 0 constraint plans_subscriptions_check check (subscriptions >= 0),
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);

create index plans_stamp_id_idx on plans (stamp_id);

create trigger plans_set_updated_at before update on plans
    for each row execute function set_updated_at();
