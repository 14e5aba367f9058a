"""Campaigns: an organisation's outreach to an audience, and how representative its reach is."""
