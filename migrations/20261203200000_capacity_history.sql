-- Capacity over time (issue 14 §2): one row per stamp (scale_unit = '') and per scale unit of a
-- stamp, per hour (kept 14 days) and per day (kept 2 years, rolled up from the hours). The
-- primary key makes a snapshot idempotent per period across replicas (insert ... on conflict do
-- nothing). Figures a snapshot could not know are null (no Hyper-V host reported them).
create table capacity_snapshots (
    stamp_id            bigint not null
                        constraint capacity_snapshots_stamp_id_fkey references stamps (id) on delete cascade,
    step                text not null
                        constraint capacity_snapshots_step_check check (step in ('hour', 'day')),
    -- '' for the whole stamp, else the scale unit the hosts reported
    scale_unit          text not null default '',
    at                  timestamptz not null,
    hyperv_hosts        integer not null default 0
                        constraint capacity_snapshots_hosts_check check (hyperv_hosts >= 0),
    physical_cores      bigint constraint capacity_snapshots_cores_check check (physical_cores >= 0),
    physical_memory_gb  double precision constraint capacity_snapshots_memory_check check (physical_memory_gb >= 0),
    physical_storage_gb bigint constraint capacity_snapshots_storage_check check (physical_storage_gb >= 0),
    used_vms            bigint constraint capacity_snapshots_used_vms_check check (used_vms >= 0),
    used_vcpus          bigint constraint capacity_snapshots_used_vcpus_check check (used_vcpus >= 0),
    used_memory_gb      double precision constraint capacity_snapshots_used_memory_check check (used_memory_gb >= 0),
    allocated_vms       bigint constraint capacity_snapshots_alloc_vms_check check (allocated_vms >= 0),
    allocated_vcpus     bigint constraint capacity_snapshots_alloc_vcpus_check check (allocated_vcpus >= 0),
    allocated_memory_gb bigint constraint capacity_snapshots_alloc_memory_check check (allocated_memory_gb >= 0),
    allocated_storage_gb bigint constraint capacity_snapshots_alloc_storage_check check (allocated_storage_gb >= 0),
    subscriptions       bigint constraint capacity_snapshots_subscriptions_check check (subscriptions >= 0),
    -- the stamp's limits when the row was taken (physical × overcommit)
    vcpu_limit          double precision,
    memory_limit_gb     double precision,
    constraint capacity_snapshots_pkey primary key (stamp_id, step, scale_unit, at),
    -- an hour or a UTC day starts on a whole multiple of its length since the epoch
    constraint capacity_snapshots_at_aligned check (
        extract(epoch from at)::bigint % (case step when 'hour' then 3600 else 86400 end) = 0
    )
);

-- the retention job deletes by age across stamps
create index capacity_snapshots_step_at_idx on capacity_snapshots (step, at);

-- per stamp: when the forecast of a resource crosses its limit within these many days,
-- capacity.exhaustion_soon fires (warning, critical)
alter table stamps
    add column exhaustion_warning_days integer not null default 90
        constraint stamps_exhaustion_warning_days_check check (exhaustion_warning_days between 0 and 3650),
    add column exhaustion_critical_days integer not null default 30
        constraint stamps_exhaustion_critical_days_check check (exhaustion_critical_days between 0 and 3650);

-- What each plan allocates on its stamp: its quotas once per subscription. The one place that
-- says where subscription counts come from: today the inventory's declared `subscriptions`;
-- when WAP's counts are stored, a later migration replaces this view to prefer them.
-- (numeric, capped: a product of two bigints must not fail a snapshot)
create view capacity_plan_allocations as
select p.stamp_id,
       p.id as plan_id,
       p.subscriptions,
       least(p.quota_vms::numeric * p.subscriptions, 9223372036854775807)::bigint as vms,
       least(p.quota_vcpus::numeric * p.subscriptions, 9223372036854775807)::bigint as vcpus,
       least(p.quota_memory_gb::numeric * p.subscriptions, 9223372036854775807)::bigint as memory_gb,
       least(p.quota_storage_gb::numeric * p.subscriptions, 9223372036854775807)::bigint as storage_gb
from plans p;
