"""The network authority's process: the registry with its DeDi directory.

The directory answers did:web for its subscribers by ``Host``; the host map
(``IES_DIRECTORY_HOSTS``) is the sandbox's DNS for domain proofs. The registry also
keeps the trade ledger and export/import records (``/ledger``): the plan's P2P
platforms may record trades, its discoms their meters' blocks, each write signed with
the writer's subscriber key, looked up in this same directory.
"""

from __future__ import annotations

from fastapi import FastAPI

from kernel.service import LazyApp
from registry.app import RegistrySettings, create_app
from registry.ledger.api import install_ledger
from registry.ledger.service import LedgerWriters
from sandbox.participants.common import ParticipantContext, identity_router


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
    return app


app = LazyApp(create)
