-- A decision's details (title, site, description, document links, organisation, region, deciding
-- body and its members, method) edited before its outcome is recorded: a ledger entry of its own
-- kind, naming each field changed with its value before and after (decisions/changes.py). The
-- chain and its verifier are unchanged.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('created', 'details_edited', 'stage_changed', 'consultation_linked',
                    'participation_counted', 'assessment_written', 'competition_set',
                    'application_received', 'conflict_declared', 'review_scored', 'vote_recorded',
                    'outcome_recorded', 'correction'));
