"""Invitations to answer a survey: one random single-use token per invitee, stored hashed,
issued for a campaign's audience (``campaign.audience_listed``) or on demand by an organizer."""
