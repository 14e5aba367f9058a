-- A campaign's audience may name imported lists: anyone who came in through one of those imports
-- of people. Until now an import was only an id on the people it brought (0008) and an audit
-- entry (people.imported, target import:<id>); a form offers imports by file name, date and size,
-- so each is recorded here from now on (services/engagement/people/import_store.py).
CREATE TABLE people_imports (
    id             uuid PRIMARY KEY,
    -- The uploaded file's name, as the organizer knows the list; none for imports made before it
    -- was recorded (no one kept it).
    file_name      text CHECK (length(file_name) <= 200),
    imported_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    account_id     uuid NOT NULL,
    -- How many people the import created (erasure takes some away later: forms count the people
    -- still there); none for earlier imports, whose erased people no one can count any more.
    people_created integer CHECK (people_created >= 0)
);
CREATE INDEX people_imports_newest ON people_imports (imported_at DESC);

-- Earlier imports, from what their audit entries know: the id, when and who. Not the file's name
-- or how many people it created.
INSERT INTO people_imports (id, imported_at, account_id)
SELECT substring(target FROM 8)::uuid, at, account_id
FROM audit_log
WHERE action = 'people.imported'
  AND target ~ '^import:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
ON CONFLICT (id) DO NOTHING;

-- An audience's people are found by their import.
CREATE INDEX people_import_id ON people (import_id) WHERE import_id IS NOT NULL;

-- In the order the organizer listed them, as the audience's regions and CoPs (0007): a campaign
-- cannot name an import that does not exist.
CREATE TABLE campaign_import_lists (
    campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    import_id   uuid NOT NULL REFERENCES people_imports (id) ON DELETE RESTRICT,
    position    smallint NOT NULL,
    PRIMARY KEY (campaign_id, import_id)
);
