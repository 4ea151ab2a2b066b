-- read paths for the lists, so that a page reads about the rows it returns whatever the size of
-- the fleet (issue 12): each list's statement walks one of these in the list's order from its
-- cursor, and the plan checks (server/tests/query_plans.rs) hold them to it.

-- the fleet's certificate list in expiry order, with its (not_after, thumbprint) cursor as an
-- index condition.
create index certificates_expiry_order_idx on certificates (not_after, thumbprint);

-- a host's open problems, counted on every host row of the lists.
create index problems_open_host_idx on problems (host_id) where resolved_at is null and host_id is not null;

-- problems newest first: open fleet-wide, and per stamp (open and all).
create index problems_open_id_idx on problems (id desc) where resolved_at is null;
create index problems_open_stamp_id_idx on problems (stamp_id, id desc) where resolved_at is null;
create index problems_stamp_id_idx on problems (stamp_id, id desc);

-- a host's history newest first, all of it and of one kind.
create index fact_changes_host_id_idx on fact_changes (host_id, id desc);
create index fact_changes_host_kind_id_idx on fact_changes (host_id, kind, id desc);

-- the audit log of one entity newest first.
create index audit_log_entity_id_idx on audit_log (entity, id desc);

-- quarantined reports newest first: pending, and per stamp.
create index quarantined_reports_pending_id_idx on quarantined_reports (id desc) where replayed_at is null;
create index quarantined_reports_stamp_id_idx on quarantined_reports (stamp, id desc);

-- plans by wap_plan_id in byte order (the API's order, whatever the database's collation), the
-- fleet's and one stamp's.
create index plans_wap_plan_id_c_idx on plans (wap_plan_id collate "C");
create index plans_stamp_wap_plan_id_idx on plans (stamp_id, wap_plan_id collate "C");
