-- Organizer accounts and their sessions: one sign-in for the three services (nginx asks
-- engagement about every request's session, see services/engagement/accounts/).
CREATE TABLE accounts (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    display_name  text NOT NULL,
    password_hash text NOT NULL,  -- argon2id, in its own encoded form (parameters and salt inside)
    disabled      boolean NOT NULL DEFAULT false,
    is_demo       boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));

-- What an account may do: admin (everything), organizer of an organisation, lead of a CoP. The
-- organisation and CoP tables come later; their ids are kept here as they will be.
CREATE TABLE account_roles (
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('admin', 'organizer', 'cop_lead')),
    scope      uuid,
    CHECK ((role = 'admin') = (scope IS NULL)),
    UNIQUE NULLS NOT DISTINCT (account_id, role, scope)
);

-- Only a hash of each session's id is kept: reading this table lets no one sign in.
CREATE TABLE sessions (
    id_hash      bytea PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

-- Sign-in attempts per account ('account:<e-mail>') and per address ('address:<ip>') and fixed
-- window, shared by every web replica (as registration_attempts).
CREATE UNLOGGED TABLE login_attempts (
    key          text NOT NULL,
    window_start timestamptz NOT NULL,
    attempts     integer NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- Every organizer write: who, as what, did what, to what, when, in which request. Append-only.
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    account_id uuid NOT NULL,
    roles      text[] NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL,
    service    text NOT NULL,
    request_id text NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at DESC);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
