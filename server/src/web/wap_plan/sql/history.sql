-- The newest changes ($2 at most) of the plan with key $1 as the WAP servers recorded them: index
-- fact_changes_wap_plan_idx (only kind 'wap_plan' rows), not the fleet's history.
-- web::wap_plan::history::HISTORY.
select c.at, h.fqdn::text as "host!", c.change, c.before, c.after
from fact_changes c join hosts h on h.id = c.host_id
where c.kind = 'wap_plan' and c.key = $1 and h.wap_collected_at is not null
order by c.at desc, c.id desc
limit $2
