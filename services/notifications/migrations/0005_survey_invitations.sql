-- A fourth kind of mail: an invitation to answer a survey (invitation.issued), whose link holds
-- its token until it is sent. Like a notice it has a purpose (surveys) and goes out only while
-- the person consents to e-mail for it, so the check that only notices have a purpose widens.
ALTER TABLE outgoing_mail DROP CONSTRAINT outgoing_mail_kind_check;
ALTER TABLE outgoing_mail ADD CONSTRAINT outgoing_mail_kind_check
    CHECK (kind IN ('consent_request', 'notice', 'sign_in_link', 'survey_invitation'));
ALTER TABLE outgoing_mail DROP CONSTRAINT outgoing_mail_notice_has_purpose;
ALTER TABLE outgoing_mail ADD CONSTRAINT outgoing_mail_purpose_of_kind
    CHECK ((kind IN ('notice', 'survey_invitation')) = (purpose IS NOT NULL)) NOT VALID;

-- An invitation to someone who cannot be written to (no consent to e-mail about surveys, or no
-- address) is recorded as not sent, with why, and without its link: nothing waits to go out
-- later, as a new consent should not bring back last month's invitation by itself.
ALTER TABLE outgoing_mail DROP CONSTRAINT outgoing_mail_status_check;
ALTER TABLE outgoing_mail ADD CONSTRAINT outgoing_mail_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'cancelled', 'not_sent'));
ALTER TABLE outgoing_mail ADD COLUMN not_sent_because text
    CHECK (not_sent_because IN ('no_consent', 'no_address'));
ALTER TABLE outgoing_mail ADD CONSTRAINT outgoing_mail_not_sent_says_why
    CHECK ((status = 'not_sent') = (not_sent_because IS NOT NULL));
