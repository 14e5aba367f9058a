-- The meetings a campaign links (campaign.launched carries them now): its news links to each
-- one's page, where a member registers. Empty for a campaign announced before.
ALTER TABLE notice_campaigns ADD COLUMN meeting_ids uuid[] NOT NULL DEFAULT '{}';
