-- dashboard sessions held server-side: the signed cookie names a row here, so logging out (the
-- row is deleted) ends the session for every copy of the cookie, not only the browser's own.
create table sessions (
    id                  text primary key,
    token_id            bigint not null references tokens (id) on delete cascade,
    created_at          timestamptz not null default now(),
    expires_at          timestamptz not null
);
create index sessions_token_id_idx on sessions (token_id);
create index sessions_expires_at_idx on sessions (expires_at);
