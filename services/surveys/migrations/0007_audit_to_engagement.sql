-- Surveys' organizer writes now reach engagement's audit log by event (organizer.acted, emitted
-- in each write's transaction: shared/audit.py), the one log admins read. The entries kept here
-- so far go the same way: each row becomes an organizer.acted in the outbox, oldest first, in
-- this migration's transaction, and the table goes. The relay publishes them as any other event
-- and engagement's consumer applies each once (its inbox), at the time of the original write.
--
-- The envelope is written as shared/contracts' Envelope serialises (Envelope.wrap and
-- model_dump_json): a random v4 id, times in UTC as ISO 8601 with 'Z' and the microseconds
-- only when there are some, null for what the envelope leaves out, no aggregate (an entry is
-- about an account, not a person). tests/test_audit_everywhere.py parses the copies back.
INSERT INTO outbox (event_id, routing_key, payload)
SELECT e.id,
       'organizer.acted',
       jsonb_build_object(
           'id', e.id,
           'type', 'organizer.acted',
           'version', 1,
           'occurred_at', e.at,
           'producer', 'surveys',
           'correlation_id', a.request_id,
           'causation_id', NULL::text,
           'actor', 'account:' || a.account_id,
           'aggregate', NULL::text,
           'sequence', NULL::int,
           'data', jsonb_build_object(
               'account_id', a.account_id,
               'roles', to_jsonb(a.roles),
               'action', a.action,
               'target', a.target,
               'service', a.service,
               'request_id', a.request_id,
               'acted_at', e.at))
FROM audit_log a
CROSS JOIN LATERAL (SELECT a.at AT TIME ZONE 'UTC' AS utc) u
CROSS JOIN LATERAL (
    SELECT gen_random_uuid() AS id,
           to_char(u.utc, 'YYYY-MM-DD"T"HH24:MI:SS')
           || CASE WHEN to_char(u.utc, 'US') = '000000' THEN '' ELSE '.' || to_char(u.utc, 'US') END
           || 'Z' AS at
) e
ORDER BY a.id;

DROP TABLE audit_log;
DROP FUNCTION audit_log_is_append_only();
