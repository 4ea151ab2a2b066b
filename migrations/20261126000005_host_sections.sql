-- which fact sections a host has ever reported, so rules can tell "not collected" from "none".
alter table hosts add column sections text[] not null default '{}';
