-- The plans a wap_server's WAP Service Management admin API reports (report.wap), one row per
-- plan per reporting host, as WAP holds them. WAP compares plan ids case-insensitively, so the
-- key is the lower-cased id (the id as WAP spells it is kept beside it). Their changes go to
-- fact_changes (kind 'wap_plan') like every other fact of the host.
create table host_wap_plans (
    host_id             bigint not null
                        constraint host_wap_plans_host_id_fkey references hosts (id) on delete cascade,
    plan_key            text not null,
    wap_id              text not null,
    display_name        text not null,
    state               text not null,
    subscription_count  integer,
    quotas              jsonb not null default '[]',
    constraint host_wap_plans_pkey primary key (host_id, plan_key),
    constraint host_wap_plans_key_check check (plan_key = lower(wap_id))
);

-- "which WAP servers report this plan" (the plan's page, the inventory's re-evaluation)
create index host_wap_plans_plan_key_idx on host_wap_plans (plan_key);

-- when the host's WAP plans were last collected (null: never): "last seen" of its plans
alter table hosts add column wap_collected_at timestamptz;

-- a WAP plan's changes are history of its WAP server like any other fact
alter table fact_changes drop constraint fact_changes_kind_check;
alter table fact_changes add constraint fact_changes_kind_check
    check (kind in ('host', 'vitals', 'certificate', 'route', 'interface', 'service', 'setting', 'component', 'report', 'wap_plan'))
    not valid;
-- checked without holding off writers (the history is the largest table)
alter table fact_changes validate constraint fact_changes_kind_check;

-- "the hosts that reported WAP plans" (every plans page and list, a WAP plan's history) without
-- reading every host of the fleet
create index hosts_wap_collected_idx on hosts (stamp_id) where wap_collected_at is not null;
