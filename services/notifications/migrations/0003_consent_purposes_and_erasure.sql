-- Consent per channel and purpose ('email:meetings'), the whole set as engagement last announced
-- it in person.consent_changed (an older set arriving late is refused by its sequence).
ALTER TABLE contact_points ADD COLUMN consents text[] NOT NULL DEFAULT '{}';
-- Confirmed before consent had purposes: what a confirmation grants (as engagement's 0005).
UPDATE contact_points SET consents = '{email:meetings,email:surveys}'
WHERE consent_confirmed_at IS NOT NULL AND email IS NOT NULL;

-- A mail's kind (the confirmation request, or a notice) and, for a notice, its purpose: it is
-- sent only while the person consents to e-mail for that purpose.
ALTER TABLE outgoing_mail RENAME COLUMN purpose TO kind;
ALTER TABLE outgoing_mail ADD COLUMN purpose text
    CHECK (purpose IN ('meetings', 'surveys', 'campaign_news', 'research_demographics'));
-- Notices queued before purposes existed (only tests queued any) can no longer be sent; they
-- keep no purpose, so the check holds for every row written from now on (NOT VALID).
UPDATE outgoing_mail SET status = 'cancelled', params = '{}' WHERE kind = 'notice' AND status = 'pending';
ALTER TABLE outgoing_mail ADD CONSTRAINT outgoing_mail_notice_has_purpose
    CHECK ((kind = 'notice') = (purpose IS NOT NULL)) NOT VALID;
