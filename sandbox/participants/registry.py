"""The network authority's process: the registry with its DeDi directory.

The directory answers did:web for its subscribers by ``Host``; the host map
(``IES_DIRECTORY_HOSTS``) is the sandbox's DNS for domain proofs. The registry also
keeps the trade ledger and export/import records (``/ledger``): the plan's P2P
platforms may record trades, its discoms their meters' blocks, each write signed with
the writer's subscriber key, looked up in this same directory.
"""

from __future__ import annotations

from fastapi import FastAPI

from kernel.ratelimit import install_rate_limits_from
from kernel.service import LazyApp
from registry.app import RegistrySettings, create_app
from registry.directory.tokens import TokenIssuer, install_token_endpoint
from registry.ledger.api import install_ledger
from registry.ledger.service import LedgerWriters
from sandbox.machine_auth import install_token_verification, token_url
from sandbox.participants.common import ParticipantContext, identity_router
from sandbox.plan import AUTHORITY, BECKN_KEY, TRUST_REGISTRY


def create() -> FastAPI:
    context = ParticipantContext()
    app = create_app(RegistrySettings(**context.service_kwargs()))
    app.title = f"{context.me.title}: {context.me.host}"
    app.include_router(identity_router(context, did=False))  # the directory serves its DID
    members = context.plan.members
    writers = LedgerWriters(
        platforms=frozenset(m.host for m in members if m.participant_type == "p2p_platform"),
        discoms=frozenset(m.host for m in members if m.participant_type == "discom"),
    )
    install_ledger(app, app.state.engine, app.state.directory, writers)
    # The token endpoint (private_key_jwt): the directory signs access tokens with its own
    # subscriber key, which every service finds in the directory like any other key.
    custody = context.custody
    issuer = TokenIssuer(
        app.state.directory,
        issuer=context.me.host,
        kid=BECKN_KEY,
        sign=lambda message: custody.sign(BECKN_KEY, message),
        token_urls=frozenset({token_url(context.plan)}),
        authority=AUTHORITY,
        role_registry=TRUST_REGISTRY,
    )
    install_token_endpoint(app, issuer)
    install_token_verification(app, context.plan, context.me.host, app.state.directory)
    install_rate_limits_from(app, context.settings)  # per address and per participant: 429
    return app


app = LazyApp(create)
