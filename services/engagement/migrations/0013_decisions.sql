-- Development decisions and the "who decides" ledger (services/engagement/decisions/).
--
-- The decision tables hold a decision's current state, for pages and rules; the ledger holds
-- every step that led to it, hash-chained and append-only. The ledger is the record: what the
-- state tables say can be checked against it, never the other way round.

-- One chain for the whole platform: sequence 1, 2, 3 ... with no gap, each entry's prev_hash the
-- hash of the entry before (the first's 64 zeros). One chain rather than one per decision: an
-- entry removed from anywhere but the end breaks it, also a whole decision's entries (a chain per
-- decision could lose one decision whole and still verify). Appends take one advisory lock
-- (decisions are written by people, a few a minute), and the insert trigger below refuses any
-- entry that is not the head's successor, so even a writer that forgot the lock cannot fork it.
CREATE TABLE ledger_entries (
    sequence    bigint PRIMARY KEY CHECK (sequence >= 1),
    decision_id uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('created', 'stage_changed', 'consultation_linked',
                                              'participation_counted', 'assessment_written',
                                              'review_scored', 'vote_recorded', 'outcome_recorded',
                                              'correction')),
    account_id  uuid,  -- none: the operator (the demo loader, a CLI)
    who_name    text NOT NULL CHECK (length(who_name) BETWEEN 1 AND 200),
    role        text NOT NULL CHECK (length(role) BETWEEN 1 AND 200),
    at          timestamptz NOT NULL,
    payload     text NOT NULL,  -- the payload's canonical JSON, exactly the bytes hashed
    corrects    bigint REFERENCES ledger_entries (sequence) CHECK (corrects < sequence),
    prev_hash   text NOT NULL UNIQUE CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash        text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
    CHECK ((kind = 'correction') = (corrects IS NOT NULL))
);
CREATE INDEX ledger_entries_decision ON ledger_entries (decision_id, sequence);

CREATE FUNCTION ledger_entries_follow_the_head() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head ledger_entries%ROWTYPE;
BEGIN
    SELECT * INTO head FROM ledger_entries ORDER BY sequence DESC LIMIT 1;
    IF NEW.sequence <> coalesce(head.sequence, 0) + 1
       OR NEW.prev_hash <> coalesce(head.hash, repeat('0', 64)) THEN
        RAISE EXCEPTION 'ledger entry % does not follow the head (%)', NEW.sequence, head.sequence
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_entries_append BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_follow_the_head();

CREATE FUNCTION ledger_entries_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: add a correction instead'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_are_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_are_append_only();

-- The default privileges (shared/db.py grant_serving_role) gave the serving role UPDATE and
-- DELETE on this table as it was created; take them back from every role but the owner, by name
-- (the serving role's name is the installation's, not this file's). The triggers above still
-- refuse the owner, who alone may disable them.
REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries FROM PUBLIC;
DO $$
DECLARE
    grantee text;
BEGIN
    FOR grantee IN
        SELECT DISTINCT g.grantee FROM information_schema.role_table_grants g
        WHERE g.table_schema = current_schema() AND g.table_name = 'ledger_entries'
          AND g.grantee <> current_user AND g.grantee <> 'PUBLIC'
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries FROM %I', grantee);
    END LOOP;
END $$;

CREATE TABLE decisions (
    id              uuid PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE RESTRICT,
    region_id       uuid NOT NULL REFERENCES regions (id) ON DELETE RESTRICT,
    title           text NOT NULL CHECK (btrim(title) <> '' AND length(title) <= 200),
    site            text NOT NULL DEFAULT '' CHECK (length(site) <= 200),
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    document_links  text[] NOT NULL DEFAULT '{}',
    body            text NOT NULL CHECK (body IN ('city_council', 'planning_commission', 'cop_steering',
                                                  'review_panel', 'resident_ballot')),
    method          text NOT NULL CHECK (method IN ('majority', 'consensus', 'resident_ballot',
                                                    'administrative')),
    stage           text NOT NULL DEFAULT 'proposed'
                    CHECK (stage IN ('proposed', 'consultation', 'deliberation', 'decided',
                                     'implementing', 'evaluated')),
    outcome         text CHECK (outcome IN ('approved', 'rejected', 'amended', 'deferred')),
    rationale       text NOT NULL DEFAULT '' CHECK (length(rationale) <= 8000),
    is_demo         boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- An outcome is recorded once, when the decision is decided, and stays.
    CHECK ((outcome IS NULL) = (stage IN ('proposed', 'consultation', 'deliberation')))
);
CREATE INDEX decisions_organisation ON decisions (organisation_id);
CREATE INDEX decisions_region_stage ON decisions (region_id, stage);

-- When each stage was entered (the timeline).
CREATE TABLE decision_stages (
    decision_id uuid NOT NULL REFERENCES decisions (id) ON DELETE CASCADE,
    stage       text NOT NULL,
    entered_at  timestamptz NOT NULL,
    PRIMARY KEY (decision_id, stage)
);

-- The deciding body's members, named and seated as the public record names them.
CREATE TABLE decision_members (
    decision_id uuid NOT NULL REFERENCES decisions (id) ON DELETE CASCADE,
    position    smallint NOT NULL CHECK (position >= 1),
    name        text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
    seat        text NOT NULL DEFAULT '' CHECK (length(seat) <= 200),
    vote        text CHECK (vote IN ('for', 'against', 'abstain', 'absent', 'recused')),
    reason      text NOT NULL DEFAULT '' CHECK (length(reason) <= 2000),
    PRIMARY KEY (decision_id, position),
    CHECK (vote <> 'recused' OR btrim(reason) <> '')
);

-- A survey or meeting (an id of surveys' or meetings') a decision consults through.
CREATE TABLE decision_consultations (
    decision_id   uuid NOT NULL REFERENCES decisions (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('survey', 'meeting')),
    target_id     uuid NOT NULL,
    linked_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    what_we_heard text NOT NULL DEFAULT '' CHECK (length(what_we_heard) <= 8000),
    how_used      text NOT NULL DEFAULT '' CHECK (length(how_used) <= 4000),
    closed_at     timestamptz,
    -- Counted when closed: responses to a survey, people who attended a meeting (and, for a
    -- meeting, how many registered).
    participants  integer CHECK (participants >= 0),
    registered    integer CHECK (registered >= 0),
    PRIMARY KEY (decision_id, kind, target_id)
);
CREATE INDEX decision_consultations_target ON decision_consultations (kind, target_id);

-- The equity impact assessment: one per decision, rewritten until the outcome is recorded
-- (each version is in the ledger). ``groups`` is a list of {group, benefits, burdens}.
CREATE TABLE decision_assessments (
    decision_id  uuid PRIMARY KEY REFERENCES decisions (id) ON DELETE CASCADE,
    who_pays     text NOT NULL CHECK (length(who_pays) BETWEEN 1 AND 4000),
    who_benefits text NOT NULL CHECK (length(who_benefits) BETWEEN 1 AND 4000),
    who_decides  text NOT NULL CHECK (length(who_decides) BETWEEN 1 AND 4000),
    groups       jsonb NOT NULL,
    mitigations  text NOT NULL CHECK (length(mitigations) <= 4000),
    narrative    text NOT NULL CHECK (length(narrative) <= 8000),
    written_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Responses to surveys, as response.submitted tells them: the survey and the demographics
-- section's bands only (never who answered), once per response, for counting participation.
CREATE TABLE consultation_responses (
    response_id  uuid PRIMARY KEY,
    survey_id    uuid NOT NULL,
    demographics jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX consultation_responses_survey ON consultation_responses (survey_id);

-- Registrations and attendance of meetings, by the registration's pseudonymous id only.
CREATE TABLE consultation_attendance (
    meeting_id      uuid NOT NULL,
    registration_id uuid NOT NULL,
    registered      boolean NOT NULL DEFAULT true,
    attended        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (meeting_id, registration_id)
);
