"""Scoring API, reason codes, signals, batch scoring and the account review page."""
