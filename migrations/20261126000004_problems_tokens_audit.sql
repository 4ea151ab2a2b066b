-- problems found by the rules, who may do what (tokens), and who did what (audit log).

create table problems (
    id                  bigint generated always as identity
                        constraint problems_pkey primary key,
    rule                text not null,
    severity            text not null
                        constraint problems_severity_check check (severity in ('critical', 'warning', 'info')),
    stamp_id            bigint not null
                        constraint problems_stamp_id_fkey references stamps (id) on delete cascade,
    host_id             bigint
                        constraint problems_host_id_fkey references hosts (id) on delete cascade,
    plan_id             bigint
                        constraint problems_plan_id_fkey references plans (id) on delete set null,
    subject             text not null,
    message             text not null,
    evidence            jsonb not null default '{}'::jsonb,
    opened_at           timestamptz not null default now(),
    last_seen_at        timestamptz not null default now(),
    resolved_at         timestamptz,
    ack_by              text,
    ack_note            text,
    ack_at              timestamptz,
    ack_until           timestamptz,
    constraint problems_resolved_after_opened check (resolved_at is null or resolved_at >= opened_at)
);

-- one open problem per (rule, stamp, host, plan, subject); a recurrence after resolution is a new row.
create unique index problems_open_identity_key on problems
    (rule, stamp_id, coalesce(host_id, 0), coalesce(plan_id, 0), subject)
    where resolved_at is null;
create index problems_open_stamp_idx on problems (stamp_id, severity) where resolved_at is null;
create index problems_host_idx on problems (host_id) where host_id is not null;
create index problems_plan_idx on problems (plan_id) where plan_id is not null;
create index problems_opened_at_idx on problems (opened_at desc, id desc);

-- stamps whose rules must run again (after a report or an inventory change); any replica may
-- take a row with `for update skip locked`.
create table evaluation_queue (
    stamp_id            bigint not null
                        constraint evaluation_queue_pkey primary key
                        constraint evaluation_queue_stamp_id_fkey references stamps (id) on delete cascade,
    requested_at        timestamptz not null default now(),
    -- hosts to evaluate; null means the whole stamp.
    host_ids            bigint[]
);

-- per-stamp figures kept up to date by the evaluator, so that the overview never scans the fleet.
create table stamp_status (
    stamp_id            bigint not null
                        constraint stamp_status_pkey primary key
                        constraint stamp_status_stamp_id_fkey references stamps (id) on delete cascade,
    evaluated_at        timestamptz not null default now(),
    hosts_total         integer not null default 0,
    hosts_stale         integer not null default 0,
    nearest_cert_expiry timestamptz,
    nearest_cert_thumbprint text,
    nearest_cert_host   text,
    physical_cores      bigint not null default 0,
    physical_memory_mb  bigint not null default 0,
    physical_storage_gb bigint not null default 0,
    used_vms            bigint not null default 0,
    used_vcpus          bigint not null default 0,
    used_memory_mb      bigint not null default 0
);

create table tokens (
    id                  bigint generated always as identity
                        constraint tokens_pkey primary key,
    name                text not null
                        constraint tokens_name_key unique,
    scope               text not null
                        constraint tokens_scope_check check (scope in ('collector', 'read', 'operator', 'admin')),
    stamp_id            bigint
                        constraint tokens_stamp_id_fkey references stamps (id),
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash          bytea not null
                        constraint tokens_token_hash_key unique,
    -- first characters of the token, to recognise it in a list.
    prefix              text not null,
    created_at          timestamptz not null default now(),
    created_by          text not null,
    last_used_at        timestamptz,
    revoked_at          timestamptz,
    constraint tokens_stamp_only_for_collector check (stamp_id is null or scope = 'collector')
);

create table audit_log (
    id                  bigint generated always as identity
                        constraint audit_log_pkey primary key,
    at                  timestamptz not null default now(),
    actor               text not null,
    action              text not null,
    entity              text not null,
    entity_key          text not null,
    before              jsonb,
    after               jsonb,
    request_id          text
);

create index audit_log_at_idx on audit_log (at desc, id desc);
create index audit_log_entity_idx on audit_log (entity, entity_key);

create table webhooks (
    id                  bigint generated always as identity
                        constraint webhooks_pkey primary key,
    url                 text not null,
    events              text[] not null,
    -- the HMAC key; it must be readable to sign, so it is stored as given.
    secret              text not null,
    description         text not null default '',
    created_at          timestamptz not null default now(),
    created_by          text not null,
    deleted_at          timestamptz
);

-- outbox: one row per event and webhook; a worker delivers them so that ingest never waits.
create table webhook_deliveries (
    id                  bigint generated always as identity
                        constraint webhook_deliveries_pkey primary key,
    webhook_id          bigint not null
                        constraint webhook_deliveries_webhook_id_fkey references webhooks (id) on delete cascade,
    event               text not null,
    event_id            uuid not null,
    payload             jsonb not null,
    created_at          timestamptz not null default now(),
    next_attempt_at     timestamptz not null default now(),
    attempts            integer not null default 0,
    delivered_at        timestamptz,
    failed_at           timestamptz,
    last_status         integer,
    last_error          text
);

create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at)
    where delivered_at is null and failed_at is null;
create index webhook_deliveries_webhook_idx on webhook_deliveries (webhook_id, id desc);

create table webhook_attempts (
    id                  bigint generated always as identity
                        constraint webhook_attempts_pkey primary key,
    delivery_id         bigint not null
                        constraint webhook_attempts_delivery_id_fkey references webhook_deliveries (id) on delete cascade,
    at                  timestamptz not null default now(),
    status              integer,
    error               text,
    duration_ms         integer not null
);

create index webhook_attempts_delivery_idx on webhook_attempts (delivery_id, id);
