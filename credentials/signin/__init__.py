"""Sign-in for people (issue 15): one-time codes, passkeys, sessions, lockout.

Consumers sign in with a one-time code delivered through a message channel (a port:
the sandbox owns an SMS-gateway-like inbox) and may add a passkey; operators enrol
through a one-time invitation code, then sign in with passkeys only. ``models`` is
pure (code checks, the lockout state machine); ``store`` persists; ``service`` ties
them to WebAuthn and the channel. Web apps mount their own pages on ``service``.
"""
