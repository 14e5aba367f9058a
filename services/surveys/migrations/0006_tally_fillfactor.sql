-- Every batch of submissions adds to the same few thousand tally and cross-tab rows. An update
-- that finds room on its row's page is a heap-only tuple: no new entry in the six-column primary
-- key. Full pages (the default fillfactor of 100) made most cross-tab updates under load
-- (60 % of them, measured in survey_ingest) write index entries too, inside the row locks every
-- batch waits for. Pages filled to a third leave that room; the tables stay small (cells, not
-- responses).
ALTER TABLE survey_totals SET (fillfactor = 30);
ALTER TABLE tallies SET (fillfactor = 30);
ALTER TABLE crosstab_tallies SET (fillfactor = 30);
