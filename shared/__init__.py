"""Plumbing shared by the three services: settings, database, bus, outbox, inbox, HTTP."""
