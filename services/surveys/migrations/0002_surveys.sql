-- Surveys, their versions, invitations, responses and the tallies kept from them.
-- services/surveys/README section "Surveys" says what each table is for; the anonymous mode's
-- rules (no column, time or order that links a response to its invitee) shape several of them.

-- A survey belongs to one organisation (whose organizers may change it) and is answered at
-- /surveys/s/<slug>. Its phase is status and schedule together (building/lifecycle.py): an open
-- survey whose opens_at is ahead is not open yet, one whose closes_at has passed is closed.
CREATE TABLE surveys (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id       uuid NOT NULL,
    slug                  text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{4,80}$'),
    mode                  text NOT NULL CHECK (mode IN ('anonymous', 'confidential', 'identified')),
    access                text NOT NULL CHECK (access IN ('public', 'invited', 'both')),
    status                text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'closed')),
    opens_at              timestamptz,
    closes_at             timestamptz CHECK (closes_at > opens_at),
    -- Respondents are compared with this region's baseline, and counted by the regions inside it.
    region_id             uuid,
    campaign_id           uuid,
    suppression_threshold integer NOT NULL DEFAULT 5 CHECK (suppression_threshold BETWEEN 2 AND 100),
    results_public        boolean NOT NULL DEFAULT false,
    current_version       integer NOT NULL DEFAULT 1 CHECK (current_version >= 1),
    is_demo               boolean NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX surveys_organisation ON surveys (organisation_id);

-- The document (building/definition.py) each version was answered against. A draft's edits
-- replace its version; an open survey's edits add one, so every response keeps its own.
CREATE TABLE survey_versions (
    survey_id  uuid NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    version    integer NOT NULL CHECK (version >= 1),
    document   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (survey_id, version)
);

-- One single-use invitation per (survey, person). Only the token's SHA-256 is kept. "used" is a
-- flag and not a time: a time of use could be joined with a response's.
CREATE TABLE invitations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    survey_id   uuid NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    person_id   uuid NOT NULL,
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    campaign_id uuid,
    language    text NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    used        boolean NOT NULL DEFAULT false,
    UNIQUE (survey_id, person_id)
);
CREATE INDEX invitations_person ON invitations (person_id);

-- The key of each submission received: a second submit of the same form (a double click, a
-- retry) finds its key here and is answered as the first was, writing nothing. The key is a
-- random value minted with the form and stored nowhere else once the response is released.
CREATE TABLE submissions (
    key       uuid PRIMARY KEY,
    survey_id uuid NOT NULL REFERENCES surveys (id) ON DELETE CASCADE
);

-- Responses. person_id only for an invited response to a confidential or identified survey;
-- submitted_at never for an anonymous one. Ids are random (gen_random_uuid), not time-ordered.
CREATE TABLE responses (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    survey_id    uuid NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    version      integer NOT NULL,
    answers      jsonb NOT NULL,
    region_id    uuid,
    postal_code  text,
    campaign_id  uuid,
    person_id    uuid,
    submitted_at timestamptz,
    FOREIGN KEY (survey_id, version) REFERENCES survey_versions (survey_id, version)
);
CREATE INDEX responses_survey ON responses (survey_id, version);
CREATE INDEX responses_person ON responses (person_id) WHERE person_id IS NOT NULL;

-- An anonymous response waits here, sealed, until it is released into responses together with
-- others of its survey in random order (answering/release.py): released alone, right after
-- its token was used, the transaction ids and row order would tie it to its invitation.
CREATE TABLE anonymous_pending (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    survey_id   uuid NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    answers     jsonb NOT NULL,
    region_id   uuid,
    postal_code text,
    campaign_id uuid
);
CREATE INDEX anonymous_pending_survey ON anonymous_pending (survey_id);

-- Answers given so far to a survey of several pages: resumed by the random key in the link
-- the resident keeps (and in a cookie). Deleted when the response is submitted.
CREATE TABLE drafts (
    key        uuid PRIMARY KEY,
    survey_id  uuid NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    version    integer NOT NULL,
    token_hash bytea,
    answers    jsonb NOT NULL DEFAULT '{}',
    page       integer NOT NULL DEFAULT 0,
    language   text NOT NULL,
    updated_at date NOT NULL DEFAULT current_date
);

-- Tallies (results/tallies.py): responses per (question, bucket), per version, kept by every
-- response's increments in the transaction that stores it; and the same per demographic
-- answer or region (by, by_bucket) for cross-tabs. survey_totals counts the responses.
CREATE TABLE survey_totals (
    survey_id uuid NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    version   integer NOT NULL,
    responses integer NOT NULL CHECK (responses >= 0),
    PRIMARY KEY (survey_id, version)
);

CREATE TABLE tallies (
    survey_id uuid NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    version   integer NOT NULL,
    question  text NOT NULL,
    bucket    text NOT NULL,
    responses integer NOT NULL CHECK (responses >= 0),
    PRIMARY KEY (survey_id, version, question, bucket)
);

CREATE TABLE crosstab_tallies (
    survey_id uuid NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    version   integer NOT NULL,
    question  text NOT NULL,
    bucket    text NOT NULL,
    "by"      text NOT NULL,
    by_bucket text NOT NULL,
    responses integer NOT NULL CHECK (responses >= 0),
    PRIMARY KEY (survey_id, version, "by", question, bucket, by_bucket)
);

-- Engagement's regions as surveys needs them (region.baselines_published): where a ZIP code is,
-- and each region's population per dimension and band, to compare respondents with.
CREATE TABLE regions (
    id        uuid PRIMARY KEY,
    name      text NOT NULL,
    parent_id uuid,
    zip_codes text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX regions_parent ON regions (parent_id);

CREATE TABLE region_baselines (
    region_id uuid NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
    dimension text NOT NULL,
    band      text NOT NULL,
    estimate  numeric NOT NULL CHECK (estimate >= 0),
    PRIMARY KEY (region_id, dimension, band)
);
