"""Consumers sign in to the consent manager itself (issue 15): the JSON sign-in API of
``credentials.signin`` over the manager's own database, one-time codes through the
sandbox's inbox (the consumer's "phone"), passkeys for ``localhost`` at its port.

The manager knows its consumers by their consents: a consumer id with at least one
consent is an account (enrolled on first sign-in); anyone else gets no code, and the
caller cannot tell the difference.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import FastAPI

from consent.service import ConsentManager
from credentials.signin.api import install_signin_api
from credentials.signin.service import Account, Listing, RelyingParty, Session, SignIn
from kernel.access import Principal
from sandbox.console.signin_inbox import SandboxInbox, address_of
from sandbox.participants.common import ParticipantContext

CONSUMER_SCOPES = frozenset({"consent:consumer", "account"})


def consumer_directory(manager: ConsentManager) -> Callable[[str], Listing | None]:
    """The manager's consumers, by their consents (texted at ``sms:{consumer id}``)."""

    def directory(subject: str) -> Listing | None:
        mine = manager.consents(subject, None, None, 1)
        if not mine:
            return None
        return Listing("consumer", mine[0].provider_id, address_of(subject))

    return directory


def consumer_principal(account: Account, session: Session) -> Principal | None:
    """A consumer's full session: their own consumer routes (``consent:consumer``)."""
    if account.kind != "consumer" or session.stage != "full":
        return None
    return Principal(
        kind="consumer",
        subject=account.subject,
        organisation=account.organisation,
        roles=frozenset({"consumer"}),
        scopes=CONSUMER_SCOPES,
        via="session",
    )


def install_consumer_signin(app: FastAPI, context: ParticipantContext) -> SignIn:
    manager: ConsentManager = app.state.manager
    port = urlsplit(context.me.url).port
    passphrase = context.passphrase.get_secret_value().encode()
    signin = SignIn(
        app.state.engine,
        SandboxInbox(context.plan.data_dir / "inbox"),
        RelyingParty(
            "localhost",
            "IES consent manager (sandbox)",
            tuple(f"{scheme}://localhost:{port}" for scheme in ("http", "https")),
        ),
        hashlib.sha256(b"ies consent sign-in pepper\0" + passphrase).digest(),
        directory=consumer_directory(manager),
    )
    install_signin_api(app, signin, consumer_principal)
    return signin
