-- a certificate's subject can be longer than a btree index row may be (about 2.7 kB: a crafted
-- or merely verbose subject made the whole report fail); a hash index keeps only the hash and
-- still answers the rule engine's `subject = any(...)` lookups.
drop index certificates_subject_idx;
create index certificates_subject_idx on certificates using hash (subject);
