"""A data provider's (discom's) meter data service behind the consent gate.

``create_provider_app(gate)`` serves ``POST /meter-data``: a MeterDataRequest v0.6
signed by the app (detached JWS, ``X-IES-Signature``), answered with MeterData v0.6
holding exactly the consented slice, or a problem naming the refusal and carrying no
data. The data sources plug into the gate's ports (``consent.ports``); the consent
layer never imports an adapter: the host (the tests, the sandbox) wires
``adapters.HesArchive`` or another MDM in. ``POST /consent/notifications`` receives the
consent manager's signed notifications.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from consent.api import _body, _inline
from consent.gate import ConsentGate, MeterDataRequest
from consent.signatures import HEADER, verify_body
from consent.slicing import to_json
from kernel.access import signed
from kernel.problems import problem_responses
from kernel.service import create_service_app


def _router() -> APIRouter:
    router = APIRouter(responses=problem_responses(400, 401, 403, 404, 413, 422, 429))
    schema = _inline(MeterDataRequest.model_json_schema(by_alias=True))

    @router.post(
        "/meter-data",
        dependencies=[signed("ies-body")],
        summary="MeterData for a consented MeterDataRequest (signed by the app)",
        openapi_extra={
            **_body(MeterDataRequest),
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        },
        response_description="MeterData v0.6: an array of profiles",
    )
    async def meter_data(request: Request) -> Response:
        gate: ConsentGate = request.app.state.gate
        body = await request.body()
        served = await run_in_threadpool(gate.serve, body, request.headers.get(HEADER))
        return Response(
            to_json(served.payload),
            media_type="application/json",
            headers={"X-IES-Consent": served.consent_id, "X-IES-Fetch": served.grant.fetch_id},
        )

    @router.post(
        "/consent/notifications",
        dependencies=[signed("ies-body")],
        status_code=204,
        summary="A consent manager's signed notification (status change, erase)",
    )
    async def notification(request: Request) -> Response:
        gate: ConsentGate = request.app.state.gate
        body = await request.body()
        signed = verify_body(body, request.headers.get(HEADER), gate.keys, now=gate.clock())
        received: list[dict[str, Any]] = request.app.state.notifications
        if signed.subscriber_id in gate.trusted_consent_managers:
            received.append({"id": request.headers.get("X-IES-Notification-Id"), "body": body})
        return Response(status_code=204)

    return router


def create_provider_app(gate: ConsentGate, *, max_body_bytes: int = 1024 * 1024) -> FastAPI:
    app = create_service_app(
        title=f"Meter data service of {gate.provider_id}",
        description="Consent-gated MeterData v0.6 for third-party apps.",
        version="0.1.0",
        routers=[_router()],
        max_body_bytes=max_body_bytes,
    )
    app.state.gate = gate
    app.state.notifications = []
    return app
