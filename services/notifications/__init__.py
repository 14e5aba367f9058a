"""Notifications: contact points and preferences, templates, deliveries, reminders, unsubscribe."""
