"""The installer's desk over HTTP, on its back end (``/app/der-applications``): its
staff prepare, the consumer's wallet app (the console, for the signed-in consumer:
``X-On-Behalf-Of: consumer <number>``, the back office's consumer opening) reads the
requests addressed to them and answers with a signed decision; an approved application
goes out from the installer's BAP at once. The installer's own staff and tooling may
not decide. Every refusal is a problem and changes nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlmodel import Session

from kernel.access import Principal
from kernel.backoffice import backoffice
from kernel.problems import problem_responses
from sandbox.participants.der_requests import service
from sandbox.participants.der_requests.errors import NotTheConsumer
from sandbox.participants.der_requests.service import APPROVED, Decision, Draft

# The installer's BAP: (discom subscriber id, DERConnectionApplication) -> what came
# back from the discom's BPP (acknowledged, transactionId, error).
Send = Callable[[str, dict[str, Any]], dict[str, Any]]
RequestId = Annotated[str, Path(pattern=r"^DERREQ-[0-9A-F]{20,40}$")]
ConsumerNumber = Annotated[str | None, Query(alias="consumerNumber", max_length=40)]


# The discom's decision on the application a transaction carried (its on_confirm), or None.
Decided = Callable[[str], dict[str, Any] | None]


def router(
    engine: Engine, installer: str, installer_name: str, send: Send, decided: Decided
) -> APIRouter:
    api = APIRouter(prefix="/app/der-applications", tags=["installer DER applications"])
    lock = threading.Lock()  # one decision at a time: an application is sent once

    @api.post(
        "",
        dependencies=[backoffice()],
        status_code=201,
        summary="Prepare an application: it awaits the consumer's approval",
        responses=problem_responses(422),
    )
    def prepare(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        draft: Draft = service.read(Draft, body)
        with Session(engine) as s:
            row = service.prepare(s, draft, installer, installer_name)
            s.commit()
            return service.view(row, service.trail(s, row.id))

    @api.get(
        "",
        dependencies=[backoffice(consumer="consumerNumber")],
        summary="Application requests, newest first (a consumer: their own)",
    )
    def listing(consumer: ConsumerNumber = None) -> list[dict[str, Any]]:
        with Session(engine) as s:
            return [service.view(r) for r in service.listing(s, consumer)]

    @api.get(
        "/{request_id}",
        dependencies=[backoffice(consumer="consumerNumber")],
        summary="One application request, its audit trail and the discom's decision",
        responses=problem_responses(404),
    )
    def one(request_id: RequestId, consumer: ConsumerNumber = None) -> dict[str, Any]:
        with Session(engine) as s:
            row = service.get(s, request_id, consumer)
            shown = service.view(row, service.trail(s, row.id))
        # The discom's answer, once it came: the consumer's wallet app collects the
        # DERCredential with the delivery token it carries (it is theirs).
        shown["decision"] = decided(row.transaction_id) if row.transaction_id else None
        return shown

    @api.post(
        "/{request_id}/decision",
        summary="The consumer's decision (signed by their wallet); approved: sent to the discom",
        responses=problem_responses(403, 404, 409, 422),
    )
    def decide(
        request_id: RequestId,
        body: Annotated[dict[str, Any], Body()],
        consumer: ConsumerNumber = None,
        who: Principal = backoffice(consumer="consumerNumber"),
    ) -> JSONResponse:
        # Only the consumer, through their wallet app (the console acting for the consumer
        # it signed in, naming their number): never the installer's staff or tooling.
        if who.kind != "consumer":
            raise NotTheConsumer(f"{who.subject} is not the consumer: only they decide")
        decision: Decision = service.read(Decision, body)
        confirm: dict[str, Any] | None = None
        with lock:
            with Session(engine, expire_on_commit=False) as s:
                row = service.get(s, request_id, consumer)
                service.decide(s, row, decision, installer)
                s.commit()  # the consumer's word is kept whatever the discom then answers
            if row.state == APPROVED:
                # No transaction open while the BAP sends: it logs in the same database.
                sent = send(row.discom, {**row.application, "presentation": decision.presentation})
                with Session(engine, expire_on_commit=False) as s:
                    row = service.get(s, request_id)
                    row.transaction_id = sent.get("transactionId")
                    s.add(row)
                    service.record(s, row, "sent" if sent.get("acknowledged") else "send-refused",
                                   installer, transactionId=sent.get("transactionId"),
                                   error=sent.get("error"))  # fmt: skip
                    s.commit()
                confirm = sent.get("document")  # what crossed the network, not kept here
        with Session(engine) as s:
            shown = service.view(row, service.trail(s, row.id))
        return JSONResponse({**shown, "confirm": confirm})

    return api
