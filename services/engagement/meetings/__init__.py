"""Meetings and webinars with registration: ``rules`` (no I/O), ``store`` (SQL), ``changes`` (the
host's writes), ``registering`` (residents' registrations, no account), ``events``, ``api`` and
``pages``."""
