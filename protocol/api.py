"""HTTP glue: the Beckn receiver router any participant mounts, and the message log API.

The router only reads the body (never more than the receiver's limit), hands the
bytes and headers to :class:`~protocol.receiving.Receiver`, and writes back what it
answered: the signed Ack/NACK body, ONIX's ``Signature`` header and the per-step
timings as ``Server-Timing``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from kernel.access import signed
from kernel.backoffice import backoffice
from kernel.database import from_db
from kernel.pagination import Page, decode_cursor, encode_cursor
from kernel.problems import InvalidCursor, problem_responses
from protocol.envelope import ACTIONS
from protocol.errors import TransactionNotFound
from protocol.receiving import Receiver
from protocol.sharing import DataProvider
from protocol.store import MessageRow, ProtocolStore

_ERROR = {
    "type": "object",
    "properties": {
        "errorCode": {"type": "string"},
        "errorMessage": {"type": "string"},
        "step": {"type": "string"},
        "type": {"type": "string"},
    },
    "required": ["errorCode", "errorMessage"],
}
_ACK = {
    "type": "object",
    "required": ["status", "signature", "message"],
    "properties": {
        "status": {"type": "string", "enum": ["ACK", "NACK"]},
        "signature": {"type": "string", "description": "Beckn CounterSignature"},
        "message": {
            "type": "object",
            "required": ["status", "messageId"],
            "properties": {
                "status": {"type": "string", "enum": ["ACK", "NACK"]},
                "messageId": {"type": "string"},
            },
        },
        "error": _ERROR,
    },
}
_ENVELOPE = {
    "type": "object",
    "required": ["context", "message"],
    "properties": {"context": {"type": "object"}, "message": {"type": "object"}},
}


def _ack_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            "Signature": {
                "description": "ONIX: the Ack signed over its bytes, bound to the caller",
                "schema": {"type": "string"},
            }
        },
        "content": {"application/json": {"schema": _ACK}},
    }


_PROBLEMS = problem_responses(400, 413)
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _ack_response("ACK with its CounterSignature"),
    400: {
        **_ack_response("NACK: the body, envelope or payload is not valid"),
        "content": {
            **_ack_response("")["content"],
            # The service shell refuses some bytes (a NUL) before the receiver sees them.
            **_PROBLEMS[400]["content"],
        },
    },
    413: _PROBLEMS[413],
    401: _ack_response("NACK: the signature, signer or its standing does not pass"),
    409: _ack_response("NACK: this messageId was received before (no callback follows)"),
    500: _ack_response("NACK: the receiver cannot take the message now; retry"),
}


def beckn_router(
    receiver: Receiver, *, prefix: str = "", actions: tuple[str, ...] = ACTIONS
) -> APIRouter:
    """``POST {prefix}/{action}`` for each action, answered by ``receiver``."""
    router = APIRouter(prefix=prefix, tags=["beckn"])
    for action in actions:
        router.add_api_route(
            f"/{action}",
            _endpoint(receiver, action),
            methods=["POST"],
            name=f"beckn_{action}",
            summary=f"Receive a signed Beckn `{action}`",
            dependencies=[signed("beckn")],
            response_class=Response,
            responses=_RESPONSES,
            openapi_extra={
                "parameters": [
                    {
                        "name": "Authorization",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 2048},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ENVELOPE}},
                },
            },
        )
    return router


def _endpoint(receiver: Receiver, action: str) -> Any:
    async def receive(request: Request) -> Response:
        limit = receiver.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        chunks: list[bytes] = []
        size = 0
        if declared.isdigit() and int(declared) > limit:
            body = b"\0" * (limit + 1)  # refused by the parse step without reading it
        else:
            async for chunk in request.stream():
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    break
            body = b"".join(chunks)
        headers = {k.lower(): v for k, v in request.headers.items()}
        outcome = await run_in_threadpool(receiver.receive, action, body, headers)
        timing = ", ".join(f"{t.name};dur={t.seconds * 1000:.3f}" for t in outcome.timings)
        return Response(
            outcome.body,
            status_code=outcome.status,
            media_type="application/json",
            headers={**outcome.headers, "Server-Timing": timing},
        )

    receive.__name__ = f"receive_{action}"
    return receive


# ------------------------------------------------------------------ the message log


class LoggedMessage(BaseModel):
    seq: int
    at: str
    participant: str
    direction: str
    counterparty: str
    action: str
    message_id: str
    transaction_id: str
    timestamp: str
    digest: str
    signature: str
    verdict: str
    http_status: int | None
    error_code: str | None
    step: str | None
    detail: str | None


def _view(row: MessageRow) -> LoggedMessage:
    return LoggedMessage(
        seq=row.pk or 0,
        at=from_db(row.at).isoformat(),
        participant=row.participant,
        direction=row.direction,
        counterparty=row.counterparty,
        action=row.action,
        message_id=row.message_id,
        transaction_id=row.transaction_id,
        timestamp=row.timestamp,
        digest=row.digest,
        signature=row.signature,
        verdict=row.verdict,
        http_status=row.http_status,
        error_code=row.error_code,
        step=row.step,
        detail=row.detail,
    )


def message_log_router(store: ProtocolStore) -> APIRouter:
    router = APIRouter(prefix="/protocol", tags=["message log"])

    @router.get(
        "/transactions/{transaction_id}/messages",
        dependencies=[backoffice()],
        response_model=Page[LoggedMessage],
        summary="Every message of one transaction, inbound and outbound, oldest first",
        responses=problem_responses(400, 404, 422),
    )
    def transaction_messages(
        transaction_id: Annotated[str, Path(min_length=1, max_length=255)],
        participant: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        cursor: Annotated[str | None, Query(max_length=1000)] = None,
    ) -> Page[LoggedMessage]:
        filters = {"transaction_id": transaction_id, "participant": participant}
        after = decode_cursor(cursor, filters)[0] if cursor else None
        if after is not None and not isinstance(after, int):
            raise InvalidCursor("the cursor does not point at a message")
        rows = store.messages(participant, transaction_id, after, limit + 1)
        if not rows and cursor is None:
            raise TransactionNotFound(f"no message of transaction {transaction_id!r} is logged")
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].pk], filters) if more and rows else None
        return Page[LoggedMessage](items=[_view(r) for r in rows], next_cursor=next_cursor)

    return router


# ------------------------------------------------------------------ dataset downloads


def download_router(provider: DataProvider) -> APIRouter:
    """``GET /datasets/{collection_id}``: the DOWNLOAD access method's signed link.

    The link (``expires``, ``requester``, ``signature``) must be intact and unexpired,
    and the GET must carry the requester's own Beckn signature over the request target
    (``GET {path}?{query}``); anything else is a problem-details refusal and not a byte
    of the dataset is read.
    """
    router = APIRouter(tags=["datasets"])

    @router.get(
        "/datasets/{collection_id}",
        dependencies=[signed("beckn")],
        summary="Stream a dataset offered by a signed DOWNLOAD link",
        response_class=StreamingResponse,
        responses={
            200: {"description": "the dataset (JSON)", "content": {"application/json": {}}},
            **problem_responses(400, 401, 403, 422),
        },
    )
    def download(
        collection_id: Annotated[str, Path(min_length=1, max_length=255)],
        request: Request,
        expires: Annotated[str, Query(max_length=20)],
        signature: Annotated[str, Query(max_length=100)],
        authorization: Annotated[str | None, Header(max_length=2048)] = None,
        requester: Annotated[str | None, Query(max_length=255)] = None,
    ) -> StreamingResponse:
        chunks = provider.open_download(
            collection_id, request.url.path, request.url.query, authorization
        )
        return StreamingResponse(chunks, media_type="application/json")

    return router
