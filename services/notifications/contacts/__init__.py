"""Notifications' own projection of people for notices: the channels they can be reached on and
the purposes they consented to (contact_points, from engagement's events), their language, and
what they chose here: quiet hours and unsubscribes."""
