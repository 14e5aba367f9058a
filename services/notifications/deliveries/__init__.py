"""Deliveries: one row per (event, person, channel) with its state. Handlers only write rows
(writing.py); senders claim due rows with FOR UPDATE SKIP LOCKED (sender.py), decide each by the
person's consent and quiet hours at that moment (rules.py), send, and record the outcome; the
report (report.py) counts every intended recipient in exactly one state."""
