-- Campaigns: an organisation's outreach to an audience, draft -> launched -> closed. The audience
-- is a definition (regions, ZIP codes, CoPs, tags of people), resolved against people when it is
-- counted.
-- Its regions and CoPs are rows with foreign keys (a campaign cannot name one that does not
-- exist); surveys, meetings and decisions are ids only, for services that do not exist yet.

CREATE TABLE campaigns (
    id              uuid PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE RESTRICT,
    title           text NOT NULL CHECK (btrim(title) <> '' AND length(title) <= 200),
    goal            text NOT NULL DEFAULT '' CHECK (length(goal) <= 2000),
    status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'launched', 'closed')),
    zip_codes       text[] NOT NULL DEFAULT '{}',
    tags            text[] NOT NULL DEFAULT '{}',
    survey_ids      uuid[] NOT NULL DEFAULT '{}',
    meeting_ids     uuid[] NOT NULL DEFAULT '{}',
    decision_ids    uuid[] NOT NULL DEFAULT '{}',
    is_demo         boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    launched_at     timestamptz,
    closed_at       timestamptz,
    -- What the status says happened, happened: launched has a time, closed has both.
    CHECK ((status = 'draft') = (launched_at IS NULL)),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX campaigns_organisation ON campaigns (organisation_id);

-- In the order the organizer listed them (the reach page names them in it).
CREATE TABLE campaign_regions (
    campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    region_id   uuid NOT NULL REFERENCES regions (id) ON DELETE RESTRICT,
    position    smallint NOT NULL,
    PRIMARY KEY (campaign_id, region_id)
);
CREATE TABLE campaign_cops (
    campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    cop_id      uuid NOT NULL REFERENCES cops (id) ON DELETE RESTRICT,
    position    smallint NOT NULL,
    PRIMARY KEY (campaign_id, cop_id)
);
