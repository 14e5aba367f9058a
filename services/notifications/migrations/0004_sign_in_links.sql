-- A third kind of mail: the link to a resident's own page, asked for by the person on /me. It
-- goes whatever they consented to (they asked for it), to the address it was asked for at, which
-- its params hold until it is sent (a person who never asked to be contacted has no address in
-- contact_points). The kind's check kept its name from when the column was called purpose.
ALTER TABLE outgoing_mail DROP CONSTRAINT outgoing_mail_purpose_check;
ALTER TABLE outgoing_mail ADD CONSTRAINT outgoing_mail_kind_check
    CHECK (kind IN ('consent_request', 'notice', 'sign_in_link'));
