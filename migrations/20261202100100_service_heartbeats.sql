-- the service's own pulse: every replica process writes one row when it starts accepting reports
-- and moves last_beat_at every few seconds while it does. A stretch of time no row covers is an
-- outage of the whole service (nobody could take a report): `host.stale` does not blame hosts for
-- it (SPEC §5). One row per process start (a fresh replica_id), pruned after 90 days.
create table service_heartbeats (
    replica_id          uuid not null
                        constraint service_heartbeats_pkey primary key,
    hostname            text not null,
    started_at          timestamptz not null,
    last_beat_at        timestamptz not null,
    constraint service_heartbeats_order_check check (last_beat_at >= started_at)
);

create index service_heartbeats_started_idx on service_heartbeats (started_at);
