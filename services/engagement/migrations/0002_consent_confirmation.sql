-- Consent to be contacted is given twice: asked for at registration (consent_to_contact), then
-- confirmed by following a link sent to the address (double opt-in).
ALTER TABLE people ADD COLUMN consent_confirmed_at timestamptz;

-- Only a hash of each link's token is kept: reading this table does not let anyone confirm.
CREATE TABLE consent_confirmations (
    token_hash   bytea PRIMARY KEY,
    person_id    uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    expires_at   timestamptz NOT NULL,
    confirmed_at timestamptz
);
CREATE INDEX consent_confirmations_person ON consent_confirmations (person_id);

-- Registrations per client address and fixed window, shared by every web replica.
CREATE UNLOGGED TABLE registration_attempts (
    client       text NOT NULL,
    window_start timestamptz NOT NULL,
    attempts     integer NOT NULL,
    PRIMARY KEY (client, window_start)
);
