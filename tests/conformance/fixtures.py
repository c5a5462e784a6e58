"""Deliberately broken participants, built from the stack's real components with one
defect each, registered in a running sandbox and served over real HTTP on loopback."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from credentials.keys import EncryptedFileCustody
from kernel.database import create_db_engine
from kernel.migrations import upgrade
from protocol.client import answer
from protocol.envelope import Context
from protocol.errors import MessageDuplicate
from protocol.participant import BecknParticipant
from protocol.receiving import Inbound, Unit
from protocol.signing import Verdict, parse_signature
from registry.directory.client import CallbackSigner, DirectoryWriter, HttpKeyLookup
from registry.directory.keys import Refusal
from sandbox.conformance.identity import KitKey, _key
from sandbox.conformance.receiver import free_port
from sandbox.plan import AUTHORITY, DATA_NETWORK, OWNER_KEY, SUBSCRIBERS, Plan

Served = tuple[str, uvicorn.Server, threading.Thread]
# How each fixture BPP answers status (a defect may swap it), by participant.
REPLIES: dict[int, Callable[[Inbound, dict[str, Any], str, Unit], Any]] = {}


def serve(app: FastAPI, port: int) -> Served:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


def register(plan: Plan, passphrase: str, key: KitKey, url: str) -> None:
    owner = EncryptedFileCustody(plan.key_dir("registry"), passphrase.encode())
    writer = DirectoryWriter(
        httpx.Client(base_url=plan.directory.url, timeout=10),
        CallbackSigner(f"{AUTHORITY}#{OWNER_KEY}", lambda m: owner.sign(OWNER_KEY, m)),
    )
    now = datetime.now(UTC)
    details = {
        "subscriber_id": key.subscriber_id,
        "key_id": key.key_id,
        "subscriber_url": url,
        "type": key.role,
        "domains": ["ies:meter-data"],
        "signing_public_key": key.public_b64,
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=1)).isoformat(),
    }
    assert writer.put_record(AUTHORITY, SUBSCRIBERS, key.key_id, details).status_code in (200, 201)
    record = f"{AUTHORITY}/{SUBSCRIBERS}/{key.key_id}"
    entry = {
        "subscriber_id": key.subscriber_id,
        "record": record,
        "roles": [key.role],
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
    }
    put = writer.put_record(AUTHORITY, DATA_NETWORK.split("/", 1)[1], key.subscriber_id, entry)
    assert put.status_code in (200, 201), put.text


def _contract(contract_id: str) -> dict[str, Any]:
    return {
        "id": contract_id,
        "status": {"code": "ACTIVE"},
        "commitments": [
            {
                "status": {"descriptor": {"code": "ACTIVE"}},
                "resources": [{"id": "r1"}],
                "offer": {"id": "o1", "resourceIds": ["r1"]},
            }
        ],
    }


def bpp(
    plan: Plan,
    passphrase: str,
    name: str,
    tmp: str,
    defect: Callable[[BecknParticipant, KitKey], None] | None = None,
) -> tuple[Served, str]:
    """A BPP answering discover with a catalog and status with on_status; ``defect``
    breaks one thing in it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/beckn"
    key = _key(f"{name}.fixtures.{AUTHORITY}", f"fx-{uuid.uuid4().hex[:8]}", "BPP")
    register(plan, passphrase, key, url)
    engine = create_db_engine(f"sqlite:///{tmp}/{name}.db")
    upgrade(engine, "protocol:migrations")
    directory = httpx.Client(base_url=plan.directory.url, timeout=10)
    holder: list[BecknParticipant] = []

    def handle(message: Inbound, unit: Unit) -> None:
        outbox = holder[0].outbox
        if message.action == "discover":
            catalog = {
                "id": "c1",
                "descriptor": {"name": name},
                "provider": {"id": key.subscriber_id, "descriptor": {"name": name}},
                "resources": [{"id": "r1"}],
            }
            outbox.enqueue_callback(message, {"catalogs": [catalog]}, url, unit)
        elif message.action == "status":
            contract_id = message.document["message"]["contract"]["id"]
            REPLIES[id(holder[0])](message, {"contract": _contract(contract_id)}, url, unit)

    participant = BecknParticipant(
        engine,
        key,
        HttpKeyLookup(directory, default_ttl=2),
        frozenset({DATA_NETWORK}),
        handle,
        httpx.Client(timeout=5),
    )
    REPLIES[id(participant)] = participant.outbox.enqueue_callback
    holder.append(participant)
    if defect is not None:
        defect(participant, key)
    app = FastAPI()
    app.include_router(participant.router("/beckn"))
    participant.start_worker(0.05)
    return serve(app, port), key.subscriber_id


# ------------------------------------------------------------------ the defects


def skips_signature_verification(participant: BecknParticipant, key: KitKey) -> None:
    """Looks the key up and judges its standing, but never checks the signature bytes."""
    receiver = participant.receiver

    def validate_sign(state: Any) -> None:
        params = parse_signature(state.headers.get("authorization"))
        found = receiver.lookup.lookup_signing_key(
            params.subscriber_id, params.key_id, params.created_at
        )
        if isinstance(found, Refusal):
            from protocol.signing import _REFUSALS

            raise _REFUSALS[found.reason](found.detail, key_id=params.key_ref)
        state.verdict = Verdict(params, found)

    receiver.steps = [(n, validate_sign if n == "validateSign" else s) for n, s in receiver.steps]


def accepts_replays(participant: BecknParticipant, key: KitKey) -> None:
    """Never asks whether a messageId was seen, and ACKs the duplicate its store refuses."""
    receiver = participant.receiver
    receiver.steps = [
        (n, (lambda state: None) if n == "checkReplay" else s) for n, s in receiver.steps
    ]
    store_hand_over = participant.store.hand_over

    def hand_over(message: Inbound, handler: Any) -> None:
        try:
            store_hand_over(message, handler)
        except MessageDuplicate:
            return

    receiver.records = type(
        "Lax",
        (),
        {  # the same store, with a lax hand-over
            "received_digest": participant.store.received_digest,
            "sent_request": participant.store.sent_request,
            "log_refusal": participant.store.log_refusal,
            "hand_over": staticmethod(hand_over),
        },
    )()


def schema_invalid_on_status(participant: BecknParticipant, key: KitKey) -> None:
    """Answers status with an on_status whose contract lacks its commitments; bypasses
    the outbox's own validation to put it on the wire."""

    def on_status(message: Inbound, reply: dict[str, Any], url: str, unit: Unit) -> None:
        reply = {"contract": {"id": reply["contract"]["id"], "status": {"code": "ACTIVE"}}}
        document = answer(message, reply, bpp_id=key.subscriber_id, bpp_uri=url)
        body = json.dumps(document, separators=(",", ":")).encode()
        participant.outbox._add(
            message.context.bap_uri,
            message.context.bap_id,
            Context.model_validate(document["context"]),
            body,
            message.signature.signature,
            None,
            unit,
        )

    REPLIES[id(participant)] = on_status


def ignores_revocation(issuer_url: str) -> FastAPI:
    """The issuer's own service behind a front that answers a revocation with 200 and
    never passes it on."""
    app = FastAPI()
    client = httpx.Client(base_url=issuer_url, timeout=10)

    @app.post("/credentials/status")
    async def fake_status(request: Request) -> Response:
        asked = json.loads(await request.body())
        return Response(
            json.dumps({"id": asked.get("credentialId"), "status": "revoked"}),
            media_type="application/json",
        )

    def forward_sync(method: str, path: str, body: bytes, headers: dict[str, str]) -> Response:
        answered = client.request(method, f"/{path}", content=body, headers=headers)
        return Response(
            answered.content, answered.status_code, media_type=answered.headers.get("content-type")
        )

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def forward(path: str, request: Request) -> Response:
        passed = ("content-type", "host", "authorization")  # the issuer's machine token too
        headers = {k: v for k, v in request.headers.items() if k.lower() in passed}
        return await run_in_threadpool(
            forward_sync, request.method, path, await request.body(), headers
        )

    return app


def revokes_as_pause(manager_url: str) -> FastAPI:
    """The consent manager behind a front that carries out a consumer's revoke as a
    pause (and answers it with the pause's result): withdrawal that can be undone."""
    app = FastAPI()
    client = httpx.Client(base_url=manager_url, timeout=10)
    # The consumer's session (cookie, anti-forgery header) passes through both ways.
    passed = ("content-type", "host", "x-ies-signature", "cookie", "x-csrf-token")
    returned = ("x-ies-signature", "set-cookie")

    def forward_sync(method: str, path: str, body: bytes, headers: dict[str, str]) -> Response:
        if method == "POST" and path.endswith("/revoke"):
            path = path.removesuffix("/revoke") + "/pause"
        answered = client.request(method, f"/{path}", content=body, headers=headers)
        back = {k: v for k, v in answered.headers.items() if k.lower() in returned}
        return Response(answered.content, answered.status_code, headers=back,
                        media_type=answered.headers.get("content-type"))  # fmt: skip

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def forward(path: str, request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() in passed}
        return await run_in_threadpool(
            forward_sync, request.method, path, await request.body(), headers
        )

    return app


def finer_than_consented(plan: Plan, passphrase: str) -> FastAPI:
    """MSEDCL's own meter data service (its consent gate over its HES archive, signing to
    the consent manager as MSEDCL), except that it slices hourly whatever was consented."""
    from adapters.synthetic import IST
    from consent.models import Granularity
    from consent.provider import create_provider_app
    from sandbox.legacy import hes_archive
    from sandbox.participants.common import ParticipantContext, ParticipantSettings
    from sandbox.participants.discom import consent_gate
    from sandbox.seed import HES_METERS, discom_seed

    settings = ParticipantSettings(
        sandbox_plan=plan.data_dir / "plan.json",
        sandbox_name="discom-mh",
        key_passphrase=passphrase,
    )
    context = ParticipantContext(settings)
    assert context.me.discom_code is not None
    seed = discom_seed(context.me.discom_code)
    archive = hes_archive(seed.network(), seed.code, HES_METERS, datetime.now(IST).date())
    gate = consent_gate(
        context,
        archive,
        httpx.Client(base_url=plan.member("consent").url, timeout=10),
        httpx.Client(base_url=plan.directory.url, timeout=10),
    )
    consented_slice = gate._slice

    def hourly(window: Any) -> list[dict[str, Any]]:
        return consented_slice(dataclasses.replace(window, granularity=Granularity.HOURLY))

    gate._slice = hourly  # type: ignore[method-assign]
    app = FastAPI()
    app.mount("/meter-data-service", create_provider_app(gate))
    return app
