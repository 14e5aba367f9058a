CREATE TABLE people (
    id                 uuid PRIMARY KEY,
    display_name       text NOT NULL,
    email              text,
    phone              text,
    language           text NOT NULL CHECK (language IN ('en', 'es')),
    postal_code        text,
    consent_to_contact boolean NOT NULL,
    is_demo            boolean NOT NULL DEFAULT false,
    registered_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX people_email ON people (lower(email)) WHERE email IS NOT NULL;
