-- Regions (nestable) and their population baselines, imported from Census ACS exports.
-- services/engagement/regions/catalogue.py documents the dimensions and bands listed here.

CREATE TABLE regions (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind       text NOT NULL CHECK (kind IN ('city', 'county', 'metro', 'area', 'zip', 'tract')),
    name       text NOT NULL CHECK (btrim(name) <> ''),
    parent_id  uuid REFERENCES regions (id) ON DELETE RESTRICT CHECK (parent_id <> id),
    -- The Census GEO_ID (summary level and its variant, "US", FIPS code: 0500000US06001,
    -- 860Z200US94607); none for a region an organizer draws (a group of ZIPs). Imports find a
    -- region by it.
    geo_id     text UNIQUE CHECK (geo_id ~ '^[0-9]{3}[0-9A-Z]{4}US[0-9]+$'),
    is_demo    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX regions_parent ON regions (parent_id);

-- A region inside itself, however many levels up, would make every "regions within" query loop.
CREATE FUNCTION regions_refuse_cycle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        WITH RECURSIVE up (id, parent_id) AS (
            SELECT id, parent_id FROM regions WHERE id = NEW.parent_id
            UNION
            SELECT r.id, r.parent_id FROM regions r JOIN up ON r.id = up.parent_id
        )
        SELECT 1 FROM up WHERE id = NEW.id
    ) THEN
        RAISE EXCEPTION 'region % cannot be inside itself', NEW.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER regions_no_cycle BEFORE INSERT OR UPDATE OF parent_id ON regions
    FOR EACH ROW WHEN (NEW.parent_id IS NOT NULL) EXECUTE FUNCTION regions_refuse_cycle();

-- The platform's bands per dimension; "total" is the dimension's universe (households, people).
CREATE TABLE baseline_bands (
    dimension text NOT NULL,
    band      text NOT NULL,
    position  smallint NOT NULL,
    PRIMARY KEY (dimension, band),
    UNIQUE (dimension, position)
);
INSERT INTO baseline_bands (dimension, band, position) VALUES
    ('age', 'total', 0),
    ('age', 'under_18', 1),
    ('age', '18_24', 2),
    ('age', '25_34', 3),
    ('age', '35_44', 4),
    ('age', '45_54', 5),
    ('age', '55_64', 6),
    ('age', '65_plus', 7),
    ('race_ethnicity', 'total', 0),
    ('race_ethnicity', 'hispanic_latino', 1),
    ('race_ethnicity', 'white', 2),
    ('race_ethnicity', 'black', 3),
    ('race_ethnicity', 'asian', 4),
    ('race_ethnicity', 'american_indian_alaska_native', 5),
    ('race_ethnicity', 'native_hawaiian_pacific_islander', 6),
    ('race_ethnicity', 'another_race', 7),
    ('race_ethnicity', 'two_or_more', 8),
    ('household_income', 'total', 0),
    ('household_income', 'under_25000', 1),
    ('household_income', '25000_49999', 2),
    ('household_income', '50000_74999', 3),
    ('household_income', '75000_99999', 4),
    ('household_income', '100000_149999', 5),
    ('household_income', '150000_199999', 6),
    ('household_income', '200000_plus', 7),
    ('tenure', 'total', 0),
    ('tenure', 'owner', 1),
    ('tenure', 'renter', 2),
    ('language_at_home', 'total', 0),
    ('language_at_home', 'english_only', 1),
    ('language_at_home', 'spanish', 2),
    ('language_at_home', 'other_indo_european', 3),
    ('language_at_home', 'asian_pacific_island', 4),
    ('language_at_home', 'other', 5);

-- One figure per region, band and source (table and year): importing a table again replaces them.
CREATE TABLE baselines (
    region_id       uuid NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
    dimension       text NOT NULL,
    band            text NOT NULL,
    estimate        bigint NOT NULL CHECK (estimate >= 0),
    -- At 90 %, as the Bureau publishes it; none where the source gives none.
    margin_of_error bigint CHECK (margin_of_error >= 0),
    source_table    text NOT NULL CHECK (source_table ~ '^[A-Z]{1,2}[0-9]{2,5}[A-Z]{0,2}$'),
    source_year     smallint NOT NULL CHECK (source_year BETWEEN 2005 AND 2100),
    imported_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (region_id, dimension, band, source_table, source_year),
    FOREIGN KEY (dimension, band) REFERENCES baseline_bands (dimension, band)
);
