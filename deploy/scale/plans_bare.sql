-- deploy/scale/plans_bare.sql: what deploy/bench-scale's bare handler serves for the plans list,
-- the same rows as GET /api/v1/plans in one statement (the best SQL for it; stampbook reads the
-- page, its stamps' health, WAP's reports and declarations of its plans, and the stamps of the
-- clouds those name, in five). $1 the cursor (none: the start), $2 the limit. Per plan: the
-- declared row and its stamp; the stamp's health inputs (open problems by rule and severity, less
-- the acknowledged, whether a VMM server reported, the chain inputs hosts lack), read once per
-- stamp of the page; what the WAP servers report for the plan's key, with the stamps declaring
-- each named cloud; whether the stamp's WAP ever reported.
with page as materialized (
    select p.id, p.stamp_id, p.wap_plan_id, p.name, p.public, s.name as stamp, p.cloud,
           p.remote_console, p.quota_vms, p.quota_vcpus, p.quota_memory_gb, p.quota_storage_gb,
           p.subscriptions, p.created_at, p.updated_at
    from plans p
    cross join lateral (select s.name from stamps s where s.id = p.stamp_id offset 0) s
    where p.wap_plan_id collate "C" > coalesce($1::text, '')
    order by p.wap_plan_id collate "C"
    limit $2
), health as materialized (
    select d.stamp_id, st.retired_at is not null as retired, c.counts,
           exists (select from hosts h where h.stamp_id = d.stamp_id and h.vmm_settings) as vmm_reported,
           exists (select from hosts h where h.stamp_id = d.stamp_id and h.wap_collected_at is not null
                   and 'wap_server' = any(h.roles)) as wap_collected,
           b.blind
    from (select distinct stamp_id from page) d
    join stamps st on st.id = d.stamp_id
    cross join lateral (
        select coalesce(json_agg(json_build_object(
                   'rule', c.rule, 'severity', c.severity,
                   'unacked', greatest(c.n - coalesce(a.n, 0), 0), 'acked', least(coalesce(a.n, 0), c.n))), '[]') as counts
        from stamp_problem_counts c
        left join (select p.rule, p.severity, count(*) as n from problems p
                   where p.stamp_id = d.stamp_id and p.resolved_at is null and p.ack_at is not null
                     and (p.ack_until is null or p.ack_until > now())
                   group by 1, 2) a using (rule, severity)
        where c.stamp_id = d.stamp_id) c
    cross join lateral (
        select coalesce(json_agg(json_build_object('entry', e.entry, 'n', e.n, 'hosts', e.hosts)), '[]') as blind
        from (select u.entry, count(*) as n, (array_agg(h.fqdn::text order by h.fqdn))[1:3] as hosts
              from hosts h cross join lateral unnest(h.blind) as u(entry)
              where h.stamp_id = d.stamp_id and h.blind <> '{}'
              group by u.entry) e) b
)
-- what the WAP servers report for the page's plans, with the cloud each names
, reports as materialized (
    select page.wap_plan_id, ws.name as stamp, wh.fqdn::text as host, wh.wap_collected_at as seen,
           w.wap_id, w.display_name, w.state, w.subscription_count, w.quotas,
           lower(substring(w.quotas -> 0 -> 'settings' ->> 'Clouds' from 'Name="([^"]*)"')) as cloud
    from page
    cross join lateral (select w.* from host_wap_plans w
                        where w.plan_key = lower(page.wap_plan_id) offset 0) w
    cross join lateral (select h.stamp_id, h.fqdn, h.wap_collected_at from hosts h
                        where h.id = w.host_id and h.wap_collected_at is not null
                          and 'wap_server' = any(h.roles) offset 0) wh
    cross join lateral (select s.name from stamps s where s.id = wh.stamp_id offset 0) ws
-- the stamps declaring each cloud named, once per cloud
), clouds as materialized (
    select c.cloud, array(select distinct s2.name::text
                          from plans p2 join stamps s2 on s2.id = p2.stamp_id
                          where lower(btrim(p2.cloud)) = c.cloud and btrim(p2.cloud) <> ''
                          order by 1) as stamps
    from (select distinct cloud from reports where cloud is not null) c
-- the reports of each plan, as JSON
), wap as (
    select r.wap_plan_id,
           json_agg(json_build_object(
               'stamp', r.stamp, 'host', r.host, 'seen', r.seen, 'id', r.wap_id,
               'display_name', r.display_name, 'state', r.state,
               'subscription_count', r.subscription_count, 'quotas', r.quotas,
               'cloud_stamps', clouds.stamps)
           order by r.stamp, r.host) as wap
    from reports r left join clouds using (cloud)
    group by r.wap_plan_id
)
select page.*, health.retired, health.counts, health.vmm_reported, health.blind, health.wap_collected,
       wap.wap
from page join health using (stamp_id) left join wap using (wap_plan_id)
order by page.wap_plan_id collate "C"
