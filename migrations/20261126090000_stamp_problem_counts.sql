-- open problems counted per stamp, rule and severity, kept by whoever opens, resolves or changes
-- problems (the evaluator, a plan's deletion) under the stamp's evaluation lock. Stamp health
-- (overview, plans, the stamps API) reads these few rows instead of grouping every open problem
-- of the fleet: with every host of a 100,000-host fleet stale that is 100,000 rows per request.
-- Acknowledgements are not in here: they end with time, so health subtracts the currently
-- acknowledged open problems, which the partial index below finds without visiting the rest.
create table stamp_problem_counts (
    stamp_id            bigint not null
                        constraint stamp_problem_counts_stamp_id_fkey references stamps (id) on delete cascade,
    rule                text not null,
    severity            text not null
                        constraint stamp_problem_counts_severity_check check (severity in ('critical', 'warning', 'info')),
    n                   bigint not null
                        constraint stamp_problem_counts_n_check check (n > 0),
    constraint stamp_problem_counts_pkey primary key (stamp_id, rule, severity)
);

insert into stamp_problem_counts (stamp_id, rule, severity, n)
select stamp_id, rule, severity, count(*)
from problems
where resolved_at is null
group by stamp_id, rule, severity;

create index problems_open_acknowledged_idx on problems (stamp_id)
    where resolved_at is null and ack_at is not null;
