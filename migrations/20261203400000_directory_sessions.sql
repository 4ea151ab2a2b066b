-- dashboard sessions of directory (LDAP / Active Directory) logins: no token behind them, but the
-- person's directory name, the scope their groups granted at login and the stamp that grant is
-- limited to (null: every stamp). A token session keeps naming its token, and nothing else.
alter table sessions
    alter column token_id drop not null,
    add column directory_user text,
    add column scope text,
    add column stamp_id bigint references stamps (id) on delete cascade,
    add constraint sessions_token_or_directory check (
        (token_id is not null and directory_user is null and scope is null and stamp_id is null)
        or (token_id is null and directory_user is not null
            and scope in ('read', 'operator', 'admin'))
    );
