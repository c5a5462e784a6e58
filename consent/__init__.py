"""Consent layer: consent artefacts, lifecycle and enforcement on consented fetches."""
