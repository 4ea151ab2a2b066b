-- What each fact section of a host looked like the last time a report sent it: slot i holds the
-- first 16 bytes of the SHA-256 of section i as sent (facts::report::SECTIONS names the slots:
-- certificates, interfaces, routes, services, settings); an empty or missing slot is unknown. A
-- changed report does not read and compare a section it sent exactly as last time: applying the
-- same section twice leaves what the first time stored. Only ingest writes the fact tables; a
-- migration that changes how their rows are stored must empty this column.
alter table hosts add column section_digests bytea[] not null default '{}';
