-- the problems page lists open problems by severity, newest first, one index-ordered branch per
-- severity: a page then reads its 50 rows, not every open problem of the fleet.
create index problems_open_severity_id_idx on problems (severity, id desc) where resolved_at is null;
