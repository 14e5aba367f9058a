"""Reminders 24 h and 1 h before a meeting, from rows with due times in the database."""
