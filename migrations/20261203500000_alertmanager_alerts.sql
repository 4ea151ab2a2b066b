-- What Alertmanager has been told: one row per problem sent to it as a firing alert, with the
-- alert as last sent (its labels are the alert's identity there) and when, so that each open
-- problem is sent again before the endsAt it carried passes, and the alert of one that resolved
-- (or was deleted with its host) is ended with exactly the labels it fired with, even when the
-- problem's plan or host is gone by then. The row goes once the ended alert is taken.
create table alertmanager_alerts (
    problem_id bigint      not null constraint alertmanager_alerts_pkey primary key,
    alert      jsonb       not null,
    sent_at    timestamptz not null
);
