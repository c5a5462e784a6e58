"""Machine tokens in the sandbox: who verifies them, and how a participant gets one.

Every participant's non-Beckn doors that need a caller's identity verify bearer tokens
issued by the directory (``registry.directory.tokens``) with the directory's own
published subscriber key, looked up through the participant's cached key lookup (so
no request reaches the directory per call). A participant calling such a door uses a
:class:`kernel.tokens.TokenClient` signed by its own Beckn subscriber key.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from credentials.keys import KeyCustody
from kernel.access import install_authenticator
from kernel.backoffice import install_backoffice
from kernel.tokens import TOKEN_PATH, AccessTokenVerifier, TokenClient, bearer_authenticator
from registry.directory.keys import KeyLookup, Refusal
from sandbox.onboarding import custody
from sandbox.plan import BECKN_KEY, Member, Plan


def token_url(plan: Plan) -> str:
    return f"{plan.directory.url}{TOKEN_PATH}"


def token_client(
    plan: Plan,
    member: Member,
    custody: KeyCustody,
    audience: str,
    *,
    http: httpx.Client | None = None,
) -> TokenClient:
    """``auth=`` for httpx: ``member`` calling the service whose subscriber id is ``audience``."""
    return TokenClient(
        token_url(plan),
        member.host,
        BECKN_KEY,
        lambda message: custody.sign(BECKN_KEY, message),
        audience,
        http=http,
    )


def install_token_verification(app: FastAPI, plan: Plan, audience: str, keys: KeyLookup) -> None:
    """Accept the directory's access tokens for ``audience`` (this participant's host)."""
    issuer = plan.directory.host

    def key_for(kid: str) -> bytes | None:
        found = keys.lookup_signing_key(issuer, kid, datetime.now(UTC))
        return None if isinstance(found, Refusal) else found.public_key

    verifier = AccessTokenVerifier(issuer=issuer, audience=audience, key_for=key_for)
    install_authenticator(app, bearer_authenticator(verifier))
    install_backoffice(app, audience)  # its back office answers its own operators only


_WORLD_CLIENTS: dict[tuple[str, str, str], TokenClient] = {}


def acting_as(plan: Plan, name: str, passphrase: str, audience: str) -> TokenClient:
    """The use cases acting as a member's back office (they hold the run's passphrase, as
    its operator does): a cached token client for ``audience``."""
    key = (str(plan.data_dir), name, audience)
    if key not in _WORLD_CLIENTS:
        member = plan.member(name)
        _WORLD_CLIENTS[key] = token_client(
            plan, member, custody(plan, member, passphrase), audience
        )
    return _WORLD_CLIENTS[key]


class BackOfficeAuth(httpx.Auth):
    """``auth=`` for the orchestrator's client (``sandbox.usecases.World``): a request to
    a member's port carries that member's own machine token (subject = the member, for
    its own host), so the use cases reach each participant's back office as that
    participant's own tooling (``kernel.backoffice``) without naming credentials.

    A request that already carries an ``Authorization`` header (a Beckn signature, a
    delivery token, another participant's token given with ``auth=``) is sent as it is;
    the directory and the console are not back offices and get nothing added."""

    def __init__(self, plan: Plan, passphrase: str) -> None:
        self.plan = plan
        self.passphrase = passphrase
        self.by_port = {
            m.port: m
            for m in plan.members
            if m.name != plan.directory.name and m.participant_type != "console"
        }

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        member = self.by_port.get(request.url.port or 0)
        if member is None or "authorization" in request.headers:
            yield request
            return
        yield from acting_as(self.plan, member.name, self.passphrase, member.host).auth_flow(
            request
        )
