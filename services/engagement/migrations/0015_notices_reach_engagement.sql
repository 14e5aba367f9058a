-- What notifications tells engagement of its sends: how many people each campaign's news reached
-- (campaign.contacted, counted once per event through the inbox), and unsubscribes recorded as
-- consent changes made by the person through a message's link (person.unsubscribed).
CREATE TABLE campaign_contacts (
    campaign_id uuid PRIMARY KEY,
    contacted   integer NOT NULL CHECK (contacted >= 0),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

ALTER TABLE consent_changes DROP CONSTRAINT consent_changes_method_check;
ALTER TABLE consent_changes ADD CONSTRAINT consent_changes_method_check
    CHECK (method IN ('registration', 'confirmation_link', 'resident_page', 'organizer', 'import', 'cli',
                      'unsubscribe_link'));
