-- The fleet-wide timeline of /certificates (installations per day of expiry, the expired ones
-- still installed together) counted ahead: counting it live walks every certificate expiring
-- within 90 days and its installations (3 to 4 s at 1,000,000 hosts, deploy/bench-scale), so a
-- large fleet's page reads this tally, counted again in the background when it is older than a
-- few minutes (crate::facts::expiry_tally). Small fleets keep counting live.
create table cert_expiry_tally (
    store text not null,
    -- not_after truncated to the hour; installations already expired when counted share the
    -- hour one day before the count
    hour timestamptz not null,
    installations bigint not null,
    primary key (store, hour)
);

-- the last count: when, how many installations it found (what decides live or tally), how long
create table cert_expiry_tally_runs (
    id boolean primary key default true check (id),
    counted_at timestamptz not null,
    installations bigint not null,
    took_ms integer not null
);
