"""DER onboarding: a rooftop solar (or battery) connection applied for over Beckn with
one verifiable presentation, decided by the discom automatically where the rules allow.

``rules`` and ``decision`` are pure (credential findings, the policy input, the
verdict and its explanation); ``store`` keeps every application and its revisions;
``service`` decides through ports (presentation verifier, grid registry, policy
packs, credential issuer); ``api`` is the discom's queue and history over HTTP.
"""
