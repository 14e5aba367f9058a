-- A person's address refused for good, from notifications' notification.failed: the latest
-- refusal per person and channel that says the address is at fault (people/refusals.py decides
-- from the server's answer), shown beside the person on /console/people and to them on /me.
-- A change of that channel's address clears it in the change's transaction: the refusal's
-- columns emptied, the change's time kept, so a refusal of the old address that arrives after
-- the change is not taken for one of the new. The reason is the server's answer as it gave it,
-- which can quote the address: the row goes with the person (erasure) and is in their download.
-- The serving role reads and writes it by the default privileges (shared/db.py
-- grant_serving_role), as every table.
CREATE TABLE address_refusals (
    person_id          uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    channel            text NOT NULL CHECK (channel IN ('email', 'sms')),
    delivery_id        bigint,
    reason             text CHECK (length(reason) <= 500),
    refused_at         timestamptz,
    address_changed_at timestamptz,
    PRIMARY KEY (person_id, channel),
    CONSTRAINT address_refusals_whole CHECK (num_nulls(delivery_id, reason, refused_at) IN (0, 3)),
    CONSTRAINT address_refusals_any CHECK (refused_at IS NOT NULL OR address_changed_at IS NOT NULL)
);
