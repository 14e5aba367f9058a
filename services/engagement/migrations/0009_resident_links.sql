-- A resident's own page (/me), opened by a link mailed to their address: no password. Only
-- hashes of the links' tokens and of the sessions' cookies are kept, so reading these tables
-- lets nobody sign in as anyone. Both go with the person (erasure).
CREATE TABLE resident_links (
    token_hash bytea PRIMARY KEY,
    person_id  uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX resident_links_person ON resident_links (person_id);
CREATE INDEX resident_links_expiry ON resident_links (expires_at);

-- Separate from organizers' sessions: a resident session opens that person's page, nothing else.
CREATE TABLE resident_sessions (
    session_hash bytea PRIMARY KEY,
    person_id    uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX resident_sessions_person ON resident_sessions (person_id);
CREATE INDEX resident_sessions_expiry ON resident_sessions (expires_at);
