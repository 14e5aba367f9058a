-- Notices: what notifications knows of meetings, their registrations and launched campaigns
-- (projections of engagement's events), each person's own choices made here (quiet hours,
-- unsubscribes), and one delivery row per (event, person, channel) with its state.

-- A quiet window in the person's local time (start inclusive, end exclusive, may wrap midnight):
-- campaign messages wait until it ends. Set on the preferences page.
ALTER TABLE contact_points ADD COLUMN time_zone text;
ALTER TABLE contact_points ADD COLUMN quiet_start time;
ALTER TABLE contact_points ADD COLUMN quiet_end time;
ALTER TABLE contact_points ADD CONSTRAINT contact_points_quiet_window
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL) AND (quiet_start IS NULL OR time_zone IS NOT NULL));

-- A person's "stop sending me this" from a message's signed link or the preferences page. It
-- outlasts a later consent set from engagement until engagement hears of it (person.unsubscribed).
CREATE TABLE unsubscribes (
    person_id       uuid NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('email', 'sms')),
    purpose         text NOT NULL,
    unsubscribed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (person_id, channel, purpose)
);

-- The newest facts of each meeting (meeting.* and registration.* events carry them, with the
-- meeting's own change count: an older one never replaces a newer).
CREATE TABLE notice_meetings (
    meeting_id      uuid PRIMARY KEY,
    organisation_id uuid,
    cop_id          uuid,
    sequence        integer NOT NULL,
    facts           jsonb NOT NULL,
    join_url        text,
    cancelled       boolean NOT NULL DEFAULT false
);

-- Who registered, where they asked to hear about the meeting, and where their registration
-- stands; ``position`` is the newest event applied (the person's aggregate sequence).
CREATE TABLE notice_registrations (
    registration_id uuid PRIMARY KEY,
    meeting_id      uuid NOT NULL,
    person_id       uuid NOT NULL,
    language        text NOT NULL,
    display_name    text NOT NULL,
    email           text,
    phone           text,
    link_path       text,
    status          text NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
    position        bigint NOT NULL
);
CREATE INDEX notice_registrations_meeting ON notice_registrations (meeting_id) WHERE status <> 'cancelled';
CREATE INDEX notice_registrations_person ON notice_registrations (person_id);

CREATE TABLE notice_campaigns (
    campaign_id     uuid PRIMARY KEY,
    organisation_id uuid NOT NULL,
    title           text NOT NULL,
    launched_at     timestamptz NOT NULL
);

-- One row per (event, person, channel): the unique key makes a redelivered event write nothing.
-- ``subject`` is what the report groups by (meeting:<id>, campaign:<id>); ``notice`` the event
-- (or the reminder) it came from. ``transactional``: asked for by the person (their registration,
-- a change to their meeting, a reminder), so it goes to the address they registered with
-- (``address``) whatever they consented to, and never waits for quiet hours. A row being sent
-- holds a lease (``claim``, ``claimed_until``); one whose lease ran out while pending was in
-- flight when its sender died: it is recorded failed ('interrupted') and not sent again.
CREATE TABLE deliveries (
    id              bigserial PRIMARY KEY,
    notice          uuid NOT NULL,
    person_id       uuid NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('email', 'sms')),
    subject         text NOT NULL,
    kind            text NOT NULL,
    purpose         text NOT NULL,
    transactional   boolean NOT NULL,
    address         text,
    language        text NOT NULL DEFAULT 'en',
    params          jsonb NOT NULL DEFAULT '{}',
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'failed', 'suppressed', 'deferred')),
    reason          text,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    claim           uuid,
    claimed_until   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at     timestamptz,
    UNIQUE (notice, person_id, channel),
    -- failed, suppressed and deferred say why; a pending one may hold its last transient answer
    CHECK (state IN ('pending', 'sent') OR reason IS NOT NULL)
);
CREATE INDEX deliveries_due ON deliveries (channel, next_attempt_at)
    WHERE state IN ('pending', 'deferred') AND claimed_until IS NULL;
CREATE INDEX deliveries_claimed ON deliveries (claimed_until) WHERE claimed_until IS NOT NULL;
CREATE INDEX deliveries_subject ON deliveries (subject, notice);
CREATE INDEX deliveries_person ON deliveries (person_id);

-- The send-rate limit per channel, shared by every sender replica: sends granted in the
-- current one-second window.
CREATE TABLE send_windows (
    channel      text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    used         integer NOT NULL
);

-- Reminders 24 h and 1 h before a meeting, per registration: due rows are claimed with SKIP
-- LOCKED and turned into a delivery in the same transaction, so several schedulers and a
-- restart never remind twice. ``starts_at`` is the start they remind of: a moved meeting's
-- reminders are due again for its new start.
CREATE TABLE reminders (
    registration_id uuid NOT NULL,
    offset_name     text NOT NULL CHECK (offset_name IN ('24h', '1h')),
    meeting_id      uuid NOT NULL,
    starts_at       timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'done', 'cancelled')),
    PRIMARY KEY (registration_id, offset_name)
);
CREATE INDEX reminders_due ON reminders (due_at) WHERE state = 'scheduled';
CREATE INDEX reminders_meeting ON reminders (meeting_id);
