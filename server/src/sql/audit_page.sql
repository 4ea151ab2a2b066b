-- The audit log newest first: walks the primary key down from the cursor ($1, the id before
-- which the page starts); $2 the limit.
select id, at, actor, action, entity, entity_key, before, after, request_id
from audit_log
where id < coalesce($1::bigint, 9223372036854775807)
order by id desc
limit $2
