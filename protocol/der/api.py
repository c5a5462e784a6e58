"""The discom's DER onboarding desk over HTTP: the queue with its automatic verdicts,
and one application's history (every revision, each verdict explaining every rule).

Applications arrive over Beckn (``confirm``), never here: this is the discom's and
the regulator's read side (and the console's JSON twin).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from kernel.backoffice import backoffice
from kernel.pagination import Page, decode_cursor, encode_cursor
from protocol.der.errors import ApplicationNotFound
from protocol.der.service import history, summary
from protocol.der.store import DerStore


def der_router(store: DerStore, prefix: str = "/der-onboarding") -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["DER onboarding"])

    # The discom's back office; an applicant (the installer, by its own token or its
    # operator through the console) may read its own rows (``requester`` = itself), and
    # the console acting for a consumer that consumer's (``consumer`` = their id).
    @router.get("/applications", response_model=Page[dict[str, Any]],
                dependencies=[backoffice(mine="requester", consumer="consumer")],
                summary="The queue: every application received, newest first")  # fmt: skip
    def queue(
        limit: int = Query(default=50, ge=1, le=500),
        cursor: str | None = Query(default=None, max_length=512),
        requester: str | None = Query(default=None, max_length=255),
        consumer: str | None = Query(default=None, max_length=40),
    ) -> Page[dict[str, Any]]:
        filters = {"requester": requester, "consumer": consumer}
        decoded = decode_cursor(cursor, filters) if cursor else []
        after = str(decoded[0]) if decoded else None
        rows = store.queue(after, limit, requester=requester, consumer=consumer)
        next_cursor = encode_cursor([rows[-1].id], filters) if len(rows) == limit else None
        return Page[dict[str, Any]](items=[summary(r) for r in rows], next_cursor=next_cursor)

    @router.get(
        "/applications/{number}",
        dependencies=[backoffice()],
        summary="One application, every revision",
    )
    def application(number: str) -> dict[str, Any]:
        revisions = history(store, number)
        if not revisions:
            raise ApplicationNotFound(f"no application {number}")
        return {"applicationNumber": number, "state": revisions[-1]["state"],
                "revisions": revisions}  # fmt: skip

    return router
