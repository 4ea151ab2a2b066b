-- The health inputs of the stamps $1 (ids), one row each, in one round trip (health.rs
-- `for_stamps`; the plans list asks it for every page): the kept counts of open problems by
-- rule and severity, less the acknowledged ones (an acknowledgement ends with time, so those are
-- counted now, from the partial index of acknowledged open problems); whether a VMM server of
-- the stamp reported its settings; the inputs of the Remote Console chain that hosts lack (the
-- partial index holds only those hosts), with the first three hosts by name.
select s.id, s.name, s.retired_at is not null as "retired!",
       c.counts as "counts!: sqlx::types::Json<Vec<CountRow>>",
       exists (select from hosts h where h.stamp_id = s.id and h.vmm_settings) as "vmm_reported!",
       b.blind as "blind!: sqlx::types::Json<Vec<BlindRow>>"
from stamps s
cross join lateral (
    select coalesce(json_agg(json_build_object(
               'rule', c.rule, 'severity', c.severity,
               'unacked', greatest(c.n - coalesce(a.n, 0), 0), 'acked', least(coalesce(a.n, 0), c.n))
           order by c.rule, c.severity), '[]') as counts
    from stamp_problem_counts c
    left join (select p.rule, p.severity, count(*) as n
               from problems p
               where p.stamp_id = s.id and p.resolved_at is null
                 and problem_acknowledged(p.ack_at, p.ack_until)
               group by 1, 2) a using (rule, severity)
    where c.stamp_id = s.id) c
cross join lateral (
    select coalesce(json_agg(json_build_object('entry', e.entry, 'n', e.n, 'hosts', e.hosts)
           order by e.entry), '[]') as blind
    from (select u.entry, count(*) as n, (array_agg(h.fqdn::text order by h.fqdn))[1:3] as hosts
          from hosts h cross join lateral unnest(h.blind) as u(entry)
          where h.stamp_id = s.id and h.blind <> '{}'
          group by u.entry) e) b
where s.id = any($1)
