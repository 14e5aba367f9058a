-- Meetings and webinars hosted by an organisation or a Community of Practice, and residents'
-- registrations for them (no account: a personal link whose token only a hash of is kept).
-- services/engagement/meetings/rules.py holds the rules.
CREATE TABLE meetings (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('in_person', 'webinar', 'hybrid', 'public_hearing')),
    organisation_id uuid REFERENCES organisations (id) ON DELETE RESTRICT,
    cop_id          uuid REFERENCES cops (id) ON DELETE RESTRICT,
    -- {"en": ..., "es": ...}: the host writes each language (English at least).
    title           jsonb NOT NULL CHECK (jsonb_typeof(title -> 'en') = 'string'),
    description     jsonb NOT NULL DEFAULT '{"en": ""}',
    -- The IANA zone the host gave the local times in, and the instants they name.
    time_zone       text NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    venue           text CHECK (length(venue) <= 500),
    step_free       boolean NOT NULL DEFAULT false,
    -- Shown to people holding a seat only, never on the public page.
    join_url        text CHECK (length(join_url) <= 2000),
    capacity        integer CHECK (capacity > 0),
    status          text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    -- One more on every change: the calendar entry's SEQUENCE in the notices.
    sequence        integer NOT NULL DEFAULT 0,
    recording_url   text CHECK (length(recording_url) <= 2000),
    decision_id     uuid,
    is_demo         boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    cancelled_at    timestamptz,
    CHECK (num_nonnulls(organisation_id, cop_id) = 1),
    CHECK (ends_at > starts_at),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE INDEX meetings_organisation ON meetings (organisation_id) WHERE organisation_id IS NOT NULL;
CREATE INDEX meetings_cop ON meetings (cop_id) WHERE cop_id IS NOT NULL;
CREATE INDEX meetings_starts ON meetings (starts_at);

-- A registration is a person's (found or registered by the address typed), with the name and
-- address typed for this meeting: registering is consent to be contacted about this meeting
-- only (purpose 'meetings'), not general consent, which stays in consent_changes. Erasing the
-- person deletes their registrations (cascade). One person may hold several (a parent
-- registering two children with one address), each with a link of its own.
CREATE TABLE meeting_registrations (
    id             uuid PRIMARY KEY,
    meeting_id     uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    person_id      uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    token_hash     bytea NOT NULL UNIQUE,
    display_name   text NOT NULL CHECK (length(display_name) <= 200),
    email          text CHECK (length(email) <= 320),
    phone          text CHECK (length(phone) <= 20),
    language       text NOT NULL CHECK (language IN ('en', 'es')),
    contact_purpose text NOT NULL DEFAULT 'meetings' CHECK (contact_purpose = 'meetings'),
    status         text NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
    -- Access needs asked on the form, and the language interpreted into, when one is wanted.
    needs          text[] NOT NULL DEFAULT '{}'
                   CHECK (needs <@ ARRAY['asl', 'captions', 'childcare', 'step_free_access']),
    interpretation text CHECK (length(interpretation) <= 60),
    -- The waitlist's order: who registered first is promoted first.
    position       bigint GENERATED ALWAYS AS IDENTITY,
    registered_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    confirmed_at   timestamptz,
    cancelled_at   timestamptz,
    attended_at    timestamptz,
    CHECK (num_nonnulls(email, phone) >= 1),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    CHECK (status <> 'confirmed' OR confirmed_at IS NOT NULL)
);
CREATE INDEX meeting_registrations_meeting ON meeting_registrations (meeting_id, status, position);
CREATE INDEX meeting_registrations_person ON meeting_registrations (person_id);
