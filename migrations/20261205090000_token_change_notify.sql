-- A server answers bearer tokens from memory only while it hears every change that can refuse
-- one (server/src/auth/token_cache.rs): revoked, scope, stamp, name, hash, deleted, or its stamp
-- renamed. Each such change notifies 'stampbook_tokens' when it commits. Recording a token's use
-- (last_used_at) does not: it refuses nothing.
create function notify_token_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify('stampbook_tokens', '');
    return null;
end;
$$;

create trigger tokens_notify_change
    after update of revoked_at, scope, stamp_id, name, token_hash or delete on tokens
    for each statement execute function notify_token_change();

create trigger stamps_notify_token_change
    after update of name on stamps
    for each statement execute function notify_token_change();
