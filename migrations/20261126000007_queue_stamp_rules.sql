-- a host-only evaluation request also says whether the stamp-wide rules (version drift, capacity)
-- must run: only when a report changed what they read (components, vitals, roles).
alter table evaluation_queue add column stamp_rules boolean not null default false;
