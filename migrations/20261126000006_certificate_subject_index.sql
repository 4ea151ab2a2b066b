-- the rule engine finds a VMConnect certificate's root among Root-store certificates by subject.
create index certificates_subject_idx on certificates (subject);

-- the VMM servers of a stamp: a few rows among every host's settings.
create index host_settings_vmm_idx on host_settings (host_id) where vmm is not null;
