-- Consent per channel and purpose, every change kept: when, how and by whom. The current consent
-- of a person is the latest change of each (channel, purpose); none means not given.
-- services/engagement/people/consent.py holds the rules.
CREATE TABLE consent_changes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id  uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    channel    text NOT NULL CHECK (channel IN ('email', 'sms')),
    purpose    text NOT NULL
               CHECK (purpose IN ('meetings', 'surveys', 'campaign_news', 'research_demographics')),
    granted    boolean NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    method     text NOT NULL CHECK (method IN ('registration', 'confirmation_link', 'resident_page',
                                               'organizer', 'import', 'cli')),
    -- 'person' (the person themself), 'account:<id>' (an organizer) or 'operator:<login>' (the CLI)
    changed_by text NOT NULL
               CHECK (changed_by = 'person' OR changed_by ~ '^(account|operator):[A-Za-z0-9._@-]{1,64}$')
);
CREATE INDEX consent_changes_person ON consent_changes (person_id, channel, purpose, id DESC);

-- People confirmed before consent had purposes agreed, by their link, to what a confirmation
-- grants today (meetings and surveys by e-mail), as of when they confirmed.
INSERT INTO consent_changes (person_id, channel, purpose, granted, changed_at, method, changed_by)
SELECT p.id, 'email', purpose, true, p.consent_confirmed_at, 'confirmation_link', 'person'
FROM people p CROSS JOIN (VALUES ('meetings'), ('surveys')) AS granted (purpose)
WHERE p.consent_confirmed_at IS NOT NULL AND p.email IS NOT NULL;

-- An erased person leaves only this pseudonymous id: their id can never be registered again, and
-- nothing more is said about it.
CREATE TABLE erased_people (
    person_id uuid PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
