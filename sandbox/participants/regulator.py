"""The regulator's process: the policy decision service over the signed state packs
(the packs it authors), its filings inbox, its inbox of outage notices, and its own
identity in the network.

The inbox (``protocol.filings``, at ``/filings``) shares the policy service's database
and asks the same compiled packs for every filing's decision through the service's
own use case (``policy_packs.service.evaluate``), so each decision is in the decision
log (``GET /policy/decisions/{id}``) with the filing's id as its reference. A filing is
accepted only from a discom of the network (its subscriber id → its state's pack) and
only signed with that discom's key in the directory; receipts are signed with the
regulator's own directory key, and only that key may send a filing back for correction
(``POST /filings/{id}/corrections``, which the console's regulator page signs with it,
naming the signed-in member of staff inside the signed body: the filing keeps who asked,
the commission and the person, and the discom reads both).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from kernel.migrations import upgrade
from kernel.service import LazyApp
from policy_packs.app import PolicySettings, create_app
from policy_packs.decision import Engine as DecisionEngine
from policy_packs.packs import Catalogue
from policy_packs.service import evaluate
from protocol.filings.api import Inbox
from protocol.filings.api import router as inbox_router
from protocol.filings.app import MIGRATIONS as FILING_MIGRATIONS
from protocol.filings.models import PackDecision, RuleCited
from protocol.signing import CustodySigner
from registry.directory.client import HttpKeyLookup
from sandbox.participants.common import (
    ParticipantContext,
    accept_machine_tokens,
    add_lifespan,
    identity_router,
)
from sandbox.participants.outage_inbox import install_outage_receiver
from sandbox.plan import BECKN_KEY


class PackFilingPolicy:
    """The inbox's policy port over the service's own packs, engine and decision log."""

    def __init__(self, catalogue: Catalogue, decider: DecisionEngine) -> None:
        self.catalogue = catalogue
        self.decider = decider

    def decide(
        self,
        session: Session,
        jurisdiction: str,
        document: Mapping[str, Any],
        as_of: date,
        reference: str,
    ) -> PackDecision:
        # The decision log shares the inbox's database: logged in the filing's own unit
        # of work (one SQLite writer; a filing refused later leaves no decision behind).
        recorded = evaluate(
            session,
            self.catalogue,
            self.decider,
            jurisdiction=jurisdiction,
            domain="filing",
            document=document,
            as_of=as_of,
            reference=reference,
        )
        return PackDecision(
            allow=recorded.allow,
            violations=[
                RuleCited(code=v.code, message=v.message, clause=v.clause)
                for v in recorded.violations
            ],
            pack_id=recorded.pack.id,
            pack_version=recorded.pack.version,
            pack_digest=recorded.pack.digest,
            decision_id=recorded.id,
        )


def create() -> FastAPI:
    context = ParticipantContext()
    app = create_app(PolicySettings(**context.service_kwargs()))
    app.include_router(identity_router(context))
    accept_machine_tokens(app, context)  # logging a policy decision needs a machine token
    engine: Engine = app.state.engine
    upgrade(engine, FILING_MIGRATIONS)
    directory = httpx.Client(base_url=context.directory_url, timeout=10)
    me = context.me
    inbox = Inbox(
        engine=engine,
        keys=HttpKeyLookup(directory),
        signer=CustodySigner(context.custody, me.host, BECKN_KEY),
        licensees={m.host: m.state for m in context.plan.discoms() if m.state},
        policy=PackFilingPolicy(app.state.catalogue, app.state.decider),
    )
    app.include_router(inbox_router(inbox))
    app.state.inbox = inbox
    # Outage notices reach the regulator over the exchange, as they reach apps and
    # consumers (issue 13): its Beckn receiver at /beckn keeps them at /outages-inbox.
    install_outage_receiver(app, context, engine, prefix="/outages-inbox")
    add_lifespan(app, lambda: None, directory.close)
    return app


app = LazyApp(create)
