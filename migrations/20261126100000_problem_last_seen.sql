-- a whole evaluation of a stamp no longer rewrites every still-firing problem's last_seen_at
-- (1,000 row updates per stamp and run when a whole fleet is stale, most of a full run's
-- database time); it records when it ran, and an open problem was last seen at the later of its
-- own last_seen_at (opened, changed, or touched by a host's evaluation) and that time.
alter table stamp_status add column whole_evaluated_at timestamptz;

-- when an open problem was last seen firing; a resolved problem's own column is final (its
-- resolution folds the stamp's last whole evaluation in).
create function problem_last_seen(last_seen_at timestamptz, resolved_at timestamptz, stamp_id bigint)
returns timestamptz
language sql stable parallel safe
as $$
    select case when resolved_at is null
                then greatest(last_seen_at,
                              (select s.whole_evaluated_at from stamp_status s where s.stamp_id = problem_last_seen.stamp_id))
                else last_seen_at end
$$;
