-- A stamp's open problems of one severity, newest first (the NOC's "criticals of this stamp"):
-- walked in id order from the cursor, so a page reads its rows even when the severity is rare
-- among the stamp's open problems. It serves every lookup the (stamp_id, severity) index served
-- (its leading columns), which it replaces.
create index problems_open_stamp_severity_id_idx on problems (stamp_id, severity, id desc)
    where resolved_at is null;
drop index problems_open_stamp_idx;
