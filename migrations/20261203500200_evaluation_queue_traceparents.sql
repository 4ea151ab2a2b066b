-- The trace contexts (W3C `traceparent`) of the reports and changes that queued a stamp, so that
-- its evaluation span links to them; at most 32 per queued row (the first ones are kept).
alter table evaluation_queue
    add column traceparents text[] not null default '{}';
