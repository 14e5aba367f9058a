-- Decisions' outcomes told to who took part, and survey invitations as deliveries.

-- Who answered a survey by invitation, from response.submitted's respondent_id (only a
-- confidential or identified survey's invited response names one; an anonymous respondent is
-- never known here, so cannot be told a decision's outcome). Not which response was theirs.
CREATE TABLE survey_participants (
    survey_id    uuid NOT NULL,
    person_id    uuid NOT NULL,
    PRIMARY KEY (survey_id, person_id)
);
CREATE INDEX survey_participants_person ON survey_participants (person_id);

-- Decisions whose outcome was told, with their organisation: whose organizers see the report.
CREATE TABLE notice_decisions (
    decision_id     uuid PRIMARY KEY,
    organisation_id uuid NOT NULL,
    title           text NOT NULL
);
