-- Which of these plan keys ($1, lower-cased ids a stamp's WAP servers report) the inventory
-- declares on any stamp, without regard to case (index plans_wap_plan_key_idx).
-- rules::load::DECLARED_AMONG.
select k as "key!"
from unnest($1::text[]) as k
where exists (select 1 from plans p where lower(p.wap_plan_id) = lower(k))
