"""Drift detection for features, scores and outcomes."""
