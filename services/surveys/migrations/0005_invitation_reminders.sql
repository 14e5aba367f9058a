-- When an invitation's reminder was told (invitation.reminder_due): one per invitation, claimed
-- by the reminders job with SKIP LOCKED (services/surveys/invitations/reminders.py).
ALTER TABLE invitations ADD COLUMN reminded_at timestamptz;
CREATE INDEX invitations_to_remind ON invitations (survey_id) WHERE NOT used AND reminded_at IS NULL;
