-- Organisations in a coalition and its Communities of Practice (CoPs), with their members and
-- the requests to join that residents send from a public page. Accounts hold their roles over
-- these ids already (account_roles: organizer:<organisation id>, cop_lead:<CoP id>).
CREATE TABLE organisations (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
    kind       text NOT NULL
               CHECK (kind IN ('nonprofit', 'government', 'business', 'university', 'union', 'other')),
    region_id  uuid REFERENCES regions (id) ON DELETE RESTRICT,
    is_demo    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Two organisations of one name would be told apart by nobody choosing from a list.
CREATE UNIQUE INDEX organisations_name ON organisations (lower(name));

CREATE TABLE cops (
    id          uuid PRIMARY KEY,
    topic       text NOT NULL CHECK (btrim(topic) <> '' AND length(topic) <= 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    is_demo     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX cops_topic ON cops (lower(topic));

-- A member is a registered person or an organisation, never both in one row.
CREATE TABLE cop_members (
    id              uuid PRIMARY KEY,
    cop_id          uuid NOT NULL REFERENCES cops (id) ON DELETE CASCADE,
    person_id       uuid REFERENCES people (id) ON DELETE CASCADE,
    organisation_id uuid REFERENCES organisations (id) ON DELETE CASCADE,
    added_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (num_nonnulls(person_id, organisation_id) = 1),
    UNIQUE NULLS NOT DISTINCT (cop_id, person_id, organisation_id)
);
CREATE INDEX cop_members_person ON cop_members (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX cop_members_organisation ON cop_members (organisation_id) WHERE organisation_id IS NOT NULL;

-- Someone asked to join from the public page: a name and an address, no account. Pending until
-- a lead or an admin adds them (as a registered person) or dismisses the request; asking twice
-- with one address is one request.
CREATE TABLE cop_join_requests (
    id       uuid PRIMARY KEY,
    cop_id   uuid NOT NULL REFERENCES cops (id) ON DELETE CASCADE,
    name     text NOT NULL CHECK (length(name) <= 200),
    email    text NOT NULL CHECK (length(email) <= 320),
    asked_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX cop_join_requests_once ON cop_join_requests (cop_id, lower(email));
