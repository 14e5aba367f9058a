-- What kind of region each is (region.baselines_published carries it now): a response is
-- placed in the most specific area holding its ZIP code, and a ZIP region is not an area.
-- NULL for a region described before events carried the kind, until it is described again.
ALTER TABLE regions ADD COLUMN kind text
    CHECK (kind IN ('city', 'county', 'metro', 'area', 'zip', 'tract'));
