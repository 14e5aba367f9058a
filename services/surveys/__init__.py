"""Surveys: surveys and versions, invitations, responses, tallies, results, representativeness."""
