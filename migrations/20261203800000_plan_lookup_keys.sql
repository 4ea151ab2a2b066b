-- The WAP plan rules of one stamp look up only what its WAP servers report: whether a reported
-- plan id is declared anywhere (case-insensitive, as WAP compares ids) and which stamps declare
-- plans in a named cloud. Before, each stamp's evaluation read every declared plan of the fleet.
create index plans_wap_plan_key_idx on plans (lower(wap_plan_id));
create index plans_cloud_key_idx on plans (lower(btrim(cloud))) where btrim(cloud) <> '';
