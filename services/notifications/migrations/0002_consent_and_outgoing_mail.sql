-- person.registered no longer carries contact data: name and addresses arrive only with
-- person.consent_requested, and consent counts once person.consent_confirmed arrives. Events
-- may arrive in any order, so each fills its own columns and the others may still be empty.
ALTER TABLE contact_points ALTER COLUMN display_name DROP NOT NULL;
ALTER TABLE contact_points ALTER COLUMN language DROP NOT NULL;
-- Rows kept from person.registered v1 asked for consent and never confirmed it.
ALTER TABLE contact_points RENAME COLUMN consent_to_contact TO consent_requested;
ALTER TABLE contact_points ALTER COLUMN consent_requested SET DEFAULT false;
ALTER TABLE contact_points ADD COLUMN consent_confirmed_at timestamptz;

-- Mail to send: written by event handlers, sent by a loop that claims rows with SKIP LOCKED.
-- The address is read from contact_points when sending, so it is kept in one place only; params
-- (a confirmation link's token, say) are cleared once the mail is sent. No uniqueness on
-- purpose: a mail queued twice would show here as two rows.
CREATE TABLE outgoing_mail (
    id              bigserial PRIMARY KEY,
    person_id       uuid NOT NULL,
    purpose         text NOT NULL CHECK (purpose IN ('consent_request', 'notice')),
    params          jsonb NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at         timestamptz
);
CREATE INDEX outgoing_mail_pending ON outgoing_mail (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outgoing_mail_person ON outgoing_mail (person_id);
