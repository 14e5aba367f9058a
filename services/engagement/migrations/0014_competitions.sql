-- Competitions (a decision whose review panel designates some of many applicants), resident
-- ballots counted from their survey's closing tally, and meetings' participation counted from
-- meetings' own tables (services/engagement/decisions/).

-- The ledger's new kinds: a competition's places and weighted criteria, each application
-- received, each conflict of interest declared. The chain and its verifier are unchanged.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('created', 'stage_changed', 'consultation_linked', 'participation_counted',
                    'assessment_written', 'competition_set', 'application_received',
                    'conflict_declared', 'review_scored', 'vote_recorded', 'outcome_recorded',
                    'correction'));

-- Meetings live in this database: their participation is counted from meeting_registrations
-- when a consultation closes (store.participation), so no copy of it is kept from the events.
DROP TABLE consultation_attendance;

-- A competition: how many of its applicants the review panel designates. Its reviewers are the
-- decision's members (decision_members), named and seated.
CREATE TABLE competitions (
    decision_id uuid PRIMARY KEY REFERENCES decisions (id) ON DELETE CASCADE,
    places      integer NOT NULL CHECK (places BETWEEN 1 AND 1000)
);

CREATE TABLE competition_criteria (
    decision_id uuid NOT NULL REFERENCES competitions (decision_id) ON DELETE CASCADE,
    position    smallint NOT NULL CHECK (position >= 1),
    name        text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    weight      integer NOT NULL CHECK (weight BETWEEN 1 AND 100),
    PRIMARY KEY (decision_id, position)
);

-- An application: a community (public, named as it applies) led by an organisation, with its
-- documents. The contact is a registered person (never their address here): notifications
-- tells them the outcome on their consent. Erasing them leaves the application, without them.
CREATE TABLE competition_applications (
    id                uuid PRIMARY KEY,
    decision_id       uuid NOT NULL REFERENCES competitions (decision_id) ON DELETE CASCADE,
    community         text NOT NULL CHECK (btrim(community) <> '' AND length(community) <= 200),
    lead              text NOT NULL CHECK (btrim(lead) <> '' AND length(lead) <= 200),
    summary           text NOT NULL DEFAULT '' CHECK (length(summary) <= 4000),
    document_links    text[] NOT NULL DEFAULT '{}',
    contact_person_id uuid REFERENCES people (id) ON DELETE SET NULL,
    received_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Set when the outcome is recorded: its place in the ranking and whether it was designated.
    rank              integer CHECK (rank >= 1),
    designated        boolean,
    UNIQUE (decision_id, community)
);

-- A reviewer's declared conflict with one application: they score it never.
CREATE TABLE competition_conflicts (
    application_id uuid NOT NULL REFERENCES competition_applications (id) ON DELETE CASCADE,
    reviewer       smallint NOT NULL CHECK (reviewer >= 1),  -- the member's position
    reason         text NOT NULL CHECK (btrim(reason) <> '' AND length(reason) <= 4000),
    declared_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (application_id, reviewer)
);

-- A reviewer's score of an application on one criterion, 0 to 10.
CREATE TABLE competition_scores (
    application_id uuid NOT NULL REFERENCES competition_applications (id) ON DELETE CASCADE,
    reviewer       smallint NOT NULL CHECK (reviewer >= 1),
    criterion      smallint NOT NULL CHECK (criterion >= 1),
    score          smallint NOT NULL CHECK (score BETWEEN 0 AND 10),
    PRIMARY KEY (application_id, reviewer, criterion)
);

-- Single-choice questions' final counts of closed surveys, as survey.closed tells them (summed
-- over the survey's versions): what a resident ballot's outcome is computed from.
CREATE TABLE survey_closing_tallies (
    survey_id  uuid NOT NULL,
    question   text NOT NULL,
    option     text NOT NULL,  -- an option's id; '@other' for the "other" text
    prompt     text NOT NULL,
    label      text NOT NULL,
    responses  integer NOT NULL CHECK (responses >= 0),
    position   smallint NOT NULL,  -- the option's place in the question
    PRIMARY KEY (survey_id, question, option)
);
CREATE TABLE survey_closings (
    survey_id uuid PRIMARY KEY,
    responses integer NOT NULL CHECK (responses >= 0),
    -- Anonymous responses still waiting for their release when the survey closed (not counted).
    pending   integer NOT NULL CHECK (pending >= 0),
    closed_at timestamptz NOT NULL
);

-- A resident ballot's question, the option that approves it, and the counts it was decided by.
ALTER TABLE decisions ADD COLUMN ballot jsonb;
