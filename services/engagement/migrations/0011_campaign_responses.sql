-- Responses to a campaign's surveys (surveys' response.submitted), counted for the campaign's
-- reach (campaigns/responses.py). Counts only: no response, respondent or time is kept, so
-- nothing here can be joined back to a person. Each event adds one, once: the consumer's inbox
-- row for it is written in the same transaction, so a redelivery finds it and adds nothing.

-- By where the respondent is: the region surveys placed the response in (none: not placed) and
-- the ZIP code given (none: not given). A campaign's region counts a response when either lies
-- inside it. The campaign is not a foreign key: surveys names the campaigns it learnt of from
-- engagement's own events, and a count must never be refused (and parked) over one.
CREATE TABLE campaign_responses (
    campaign_id uuid NOT NULL,
    region_id   uuid,
    zip         text CHECK (zip ~ '^[0-9]{5}$'),
    responses   integer NOT NULL CHECK (responses > 0),
    CONSTRAINT campaign_responses_cell UNIQUE NULLS NOT DISTINCT (campaign_id, region_id, zip)
);

-- By the band each answer to the demographics section falls in (shared/demographics.py), one per
-- dimension answered: who was reached, to set beside the audience's population.
CREATE TABLE campaign_response_bands (
    campaign_id uuid NOT NULL,
    dimension   text NOT NULL,
    band        text NOT NULL,
    responses   integer NOT NULL CHECK (responses > 0),
    PRIMARY KEY (campaign_id, dimension, band),
    FOREIGN KEY (dimension, band) REFERENCES baseline_bands (dimension, band)
);
