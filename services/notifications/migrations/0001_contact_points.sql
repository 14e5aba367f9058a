-- How to reach a person: a projection of engagement's people, kept from their events.
CREATE TABLE contact_points (
    person_id          uuid PRIMARY KEY,
    display_name       text NOT NULL,
    email              text,
    phone              text,
    language           text NOT NULL,
    consent_to_contact boolean NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
