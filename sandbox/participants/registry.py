"""The network authority's process: the registry with its DeDi directory.

The directory answers did:web for its subscribers by ``Host``; the host map
(``IES_DIRECTORY_HOSTS``) is the sandbox's DNS for domain proofs.
"""

from __future__ import annotations

from fastapi import FastAPI

from kernel.service import LazyApp
from registry.app import RegistrySettings, create_app
from sandbox.participants.common import ParticipantContext, identity_router


def create() -> FastAPI:
    context = ParticipantContext()
    app = create_app(RegistrySettings(**context.service_kwargs()))
    app.title = f"{context.me.title}: {context.me.host}"
    app.include_router(identity_router(context, did=False))  # the directory serves its DID
    return app


app = LazyApp(create)
