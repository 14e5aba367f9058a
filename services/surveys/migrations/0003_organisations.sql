-- Engagement's organisations as surveys needs them: their names, for the console to show and
-- choose by (organisation.named). Surveys otherwise knows an organisation only by its id.
CREATE TABLE organisations (
    id   uuid PRIMARY KEY,
    name text NOT NULL
);

-- Every organizer write to surveys: who, as what, did what, to what, when, in which request.
-- Engagement's audit_log is in engagement's schema, which surveys cannot write; this one has
-- the same columns and is append-only in the same way.
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
