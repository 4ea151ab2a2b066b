-- a report that changes more facts of one kind than STAMPBOOK_HISTORY_DETAIL_MAX writes one
-- 'summarized' row for that kind (the counts) instead of a row per fact.
alter table fact_changes drop constraint fact_changes_change_check;
alter table fact_changes add constraint fact_changes_change_check
    check (change in ('appeared', 'changed', 'disappeared', 'late', 'summarized'));
