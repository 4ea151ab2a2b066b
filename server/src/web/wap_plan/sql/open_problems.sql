-- The open plan.* problems about the plan with key $1 (a plan only WAP knows is named by subject
-- alone), most severe first, at most 50: index problems_open_plan_subject_idx.
-- web::wap_plan::OPEN_PROBLEMS.
select rule, severity, message from problems
where resolved_at is null and rule like 'plan.%' and lower(subject) = $1
order by case severity when 'critical' then 0 when 'warning' then 1 else 2 end, rule
limit 50
