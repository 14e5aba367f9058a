-- People who may be invited to surveys. No contact data: surveys never needs it.
CREATE TABLE respondents (
    person_id     uuid PRIMARY KEY,
    language      text NOT NULL,
    postal_code   text,
    registered_at timestamptz NOT NULL
);

-- Live tally of respondents by postal code and language: the baseline for representativeness.
-- Incremented, not recomputed, so an event applied twice would show here as a double count.
CREATE TABLE respondent_tallies (
    postal_code text NOT NULL,
    language    text NOT NULL,
    respondents integer NOT NULL,
    PRIMARY KEY (postal_code, language)
);
