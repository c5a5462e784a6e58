"""The bank's energy-advice back end: a consumer's bill under the tariff the discom
published over Beckn (Tariff Intelligence).

``POST /app/tariffs/bill`` ``{transactionId, bppId, category, sanctionedLoadKw, period,
intervals}``: the bank takes the tariff only from an ``on_status`` its BAP endpoint
accepted in that transaction (signed by ``bppId``, checked against the directory,
fresh, schema-valid), reads the ``IES_Policy`` for the consumer's category from its
``dataPayload`` (:meth:`TariffPolicy.from_ies`, refusing a malformed pack), and
computes the bill from the 15-minute import the consumer shared with the app
(:func:`policy_packs.tariffs.compute_bill`). Nothing of the consumer is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kernel.backoffice import backoffice
from policy_packs.tariffs import Interval, TariffPolicy, compute_bill, kwh

Received = Callable[[str], list[dict[str, Any]]]  # transactionId -> accepted callbacks


class Block(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime
    import_kwh: Annotated[float, Field(ge=0, le=100_000)]


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    first: date = Field(alias="from")
    last: date = Field(alias="to")


class BillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    transaction_id: str = Field(alias="transactionId", min_length=1, max_length=100)
    bpp_id: str = Field(alias="bppId", min_length=1, max_length=300)
    category: str = Field(min_length=1, max_length=40)
    sanctioned_load_kw: Annotated[float, Field(ge=0, le=100_000)] = Field(alias="sanctionedLoadKw")
    period: Period
    intervals: list[Block] = Field(max_length=96 * 62)


def received_policies(callbacks: list[dict[str, Any]], bpp_id: str) -> list[dict[str, Any]]:
    """Every IES_Policy delivered inline in an ``on_status`` from ``bpp_id``."""
    found: list[dict[str, Any]] = []
    for item in callbacks:
        if item["action"] != "on_status" or item["sender"] != bpp_id:
            continue
        contract = item["document"]["message"].get("contract") or {}
        for performance in contract.get("performance") or []:
            payload = (performance.get("performanceAttributes") or {}).get("dataPayload")
            if isinstance(payload, dict) and payload.get("@type") == "IES_Policy":
                found.append(payload)
    return found


def tariff_router(received: Received) -> APIRouter:
    router = APIRouter(prefix="/app", tags=["bank back end"])

    @router.post(
        "/tariffs/bill",
        dependencies=[backoffice()],
        summary="A consumer's bill under a tariff received over Beckn",
    )
    def bill(body: BillRequest) -> dict[str, Any]:
        packs = received_policies(received(body.transaction_id), body.bpp_id)
        chosen = [
            p
            for p in packs
            if any(body.category in (t.get("values") or []) for t in p.get("targets") or [])
        ]
        if len(chosen) != 1:
            raise HTTPException(
                404, f"{len(chosen)} tariffs for {body.category!r} received from {body.bpp_id}"
            )
        policy = TariffPolicy.from_ies(chosen[0])
        intervals = [Interval(b.start, kwh(b.import_kwh)) for b in body.intervals]
        computed = compute_bill(
            policy,
            intervals,
            body.period.first,
            body.period.last,
            Decimal(str(body.sanctioned_load_kw)),
        )
        return {
            "policy": chosen[0]["id"],
            "computedAt": datetime.now().astimezone().isoformat(),
            "bill": computed.to_json(),
        }

    return router
