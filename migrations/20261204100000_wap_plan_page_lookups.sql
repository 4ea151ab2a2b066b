-- A WAP plan's page (/plans/wap/{id}) reads the open plan.* problems about the plan and the
-- plan's changes as its WAP servers recorded them. Both read the fleet's whole table before: the
-- open problems (a plan only WAP knows is named by subject alone) and the history (the largest
-- table), 80 ms and 27 ms at 1,000,000 hosts.
create index problems_open_plan_subject_idx on problems (lower(subject))
    where resolved_at is null and rule like 'plan.%';
create index fact_changes_wap_plan_idx on fact_changes (key, at desc, id desc)
    where kind = 'wap_plan';
