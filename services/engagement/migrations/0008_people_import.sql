-- What an organizer knows of a person beyond what they registered with: their role in the
-- coalition, their region and free tags. An import brings these; registration leaves the
-- defaults. services/engagement/people/importing.py holds the rules.
ALTER TABLE people
    ADD COLUMN role      text NOT NULL DEFAULT 'resident' CHECK (role IN ('resident', 'member', 'organizer')),
    ADD COLUMN region_id uuid REFERENCES regions (id) ON DELETE SET NULL,
    ADD COLUMN tags      text[] NOT NULL DEFAULT '{}',
    -- The import that brought the person (its audit entry's target is import:<id>); none when
    -- they registered themselves.
    ADD COLUMN import_id uuid;

-- Imports find people already there by phone number as well as by e-mail address.
CREATE INDEX people_phone ON people (phone) WHERE phone IS NOT NULL;
CREATE INDEX people_tags ON people USING gin (tags);
CREATE INDEX people_postal_code ON people (postal_code) WHERE postal_code IS NOT NULL;
