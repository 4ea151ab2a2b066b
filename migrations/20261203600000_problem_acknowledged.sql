-- whether a problem is acknowledged now: acknowledged, with no end or an end still ahead. One
-- definition for every list, page, count and the engine (it was written out about 30 times). A
-- single-expression SQL function, stable like now(): the planner inlines it, so filters and plans
-- are what the written-out condition gave.
create function problem_acknowledged(ack_at timestamptz, ack_until timestamptz)
returns boolean
language sql stable parallel safe
as $$
    select ack_at is not null and (ack_until is null or ack_until > now())
$$;
