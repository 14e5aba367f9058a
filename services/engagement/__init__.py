"""Engagement: people and consent, organisations, regions, CoPs, campaigns, meetings, decisions."""
