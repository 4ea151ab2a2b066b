-- shared helpers and extensions used by every later migration.

create extension if not exists citext;

-- keeps updated_at true without every statement having to remember it.
create or replace function set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end;
$$;
