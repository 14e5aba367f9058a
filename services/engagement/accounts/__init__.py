"""Organizer accounts, their roles and sessions, sign-in and sign-out, and the audit log.

Engagement owns them; nginx asks ``/internal/session`` about every request and passes the
answer to whichever service serves it (shared/auth.py), so one sign-in serves all three."""
