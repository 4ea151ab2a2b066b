-- The audit log of one kind of entity ($1) newest first: walks the (entity, id) index down
-- from the cursor ($2); $3 the limit.
select id, at, actor, action, entity, entity_key, before, after, request_id
from audit_log
where entity = $1 and id < coalesce($2::bigint, 9223372036854775807)
order by id desc
limit $3
