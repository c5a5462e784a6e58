"""A discom's Tariff Intelligence desk: its retail tariff as machine-readable IES_Policy
packs, published on its Beckn BPP, and the bills its own back office computes under
them.

Beckn (DEG data-exchange uc3, ``examples/tariff-policy``): a ``discover`` whose intent
asks for tariffs gets the discom's tariff catalogue (one resource per consumer
category, one inline-delivery offer at no charge: tariff orders are public); a
``confirm`` of tariff resources gets ``on_confirm`` with the contract ACTIVE; its
``status`` gets ``on_status`` DELIVERY_COMPLETE with each policy inline as the
performance's ``dataPayload``. Every other message goes on to the discom's other
handlers (:func:`install` puts the desk first on the discom's BPP, as the DER
onboarding desk does).

Back office: ``POST /back-office/tariff-bills`` ``{consumerNumber}`` is the bill the
discom itself computes for the consumer's HES window: the consumer's category and
sanctioned load from the registry, the 15-minute import from the head-end export
(decoded and VEE-checked by ``adapters.hes``), under the same pack it publishes.
``GET /tariffs`` lists the packs.

The figures below are **sandbox figures**: plausible in shape and size for MSEDCL
(MERC) and BESCOM (KERC) retail tariffs (telescopic slabs, fixed charges per
connection or per kW, time-of-day surcharges and rebates, duty), not the
commissions' orders.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from adapters.errors import MeterDataNotAvailable
from adapters.hes import HesArchive
from adapters.synthetic import IST
from kernel.access import public
from kernel.backoffice import backoffice
from policy_packs.tariffs import (
    EnergySlab,
    FixedCharge,
    Interval,
    TariffPolicy,
    TimeOfDayCharge,
    compute_bill,
    kwh,
)
from protocol.errors import PayloadInvalid
from protocol.participant import BecknParticipant
from protocol.receiving import Inbound, Unit
from sandbox.legacy import hes_window
from sandbox.participants.common import ParticipantContext
from sandbox.seed import discom_seed

RESOURCE_PREFIX = "ds-tariff-policy-"
OFFER = "offer-tariff-policy-inline"
CONSIDERATION = "consideration-tariff-public-good"
DATASET_CONTEXT = "https://schema.nfh.global/DatasetItem/1.1/context.jsonld"
PRICE_CONTEXT = "https://schema.nfh.global/PriceSpecification/2.1/context.jsonld"
COMMISSIONS = {
    "IN-MH": "Maharashtra Electricity Regulatory Commission",
    "IN-KA": "Karnataka Electricity Regulatory Commission",
}

# (category, code, name, slabs [(end kWh/month or None, INR/kWh)], fixed (basis, INR/month),
#  time of day [(start hour, hours, value, unit)], duty %). Sandbox figures (docstring).
_Row = tuple[
    str,
    str,
    str,
    list[tuple[int | None, str]],
    tuple[str, str],
    list[tuple[int, int, str, str]],
    str,
]
FIGURES: dict[str, list[_Row]] = {
    "MSEDCL": [
        (
            "domestic",
            "LT-I-B",
            "LT-I(B) Residential (telescopic)",
            [(100, "6.75"), (300, "11.98"), (500, "15.95"), (None, "17.91")],
            ("PER_CONNECTION", "128"),
            [(9, 8, "-0.80", "INR_PER_KWH")],
            "16",
        ),
        (
            "commercial",
            "LT-II-A",
            "LT-II(A) Non-residential / commercial",
            [(200, "11.32"), (None, "14.26")],
            ("PER_CONNECTION", "470"),
            [
                (22, 8, "-1.50", "INR_PER_KWH"),
                (9, 3, "0.80", "INR_PER_KWH"),
                (18, 4, "1.10", "INR_PER_KWH"),
            ],
            "21",
        ),
        (
            "industrial",
            "LT-V-B",
            "LT-V(B) Industrial, general",
            [(None, "9.36")],
            ("PER_KW", "590"),
            [(22, 8, "-1.50", "INR_PER_KWH"), (18, 4, "1.10", "INR_PER_KWH")],
            "7.5",
        ),
        (
            "agricultural",
            "LT-IV-B",
            "LT-IV(B) Agricultural pumps, metered",
            [(None, "3.65")],
            ("PER_KW", "55"),
            [],
            "0",
        ),
    ],
    "BESCOM": [
        (
            "domestic",
            "LT-2-A",
            "LT-2(a) Domestic",
            [(100, "4.75"), (None, "7.00")],
            ("PER_KW", "120"),
            [(18, 4, "5", "PERCENT"), (22, 8, "-5", "PERCENT")],
            "9",
        ),
        (
            "commercial",
            "LT-3",
            "LT-3 Commercial lighting, heating and motive power",
            [(50, "8.00"), (None, "9.00")],
            ("PER_KW", "200"),
            [(18, 4, "20", "PERCENT"), (22, 8, "-10", "PERCENT")],
            "9",
        ),
        (
            "industrial",
            "LT-5",
            "LT-5 Industrial",
            [(500, "6.60"), (None, "7.60")],
            ("PER_KW", "185"),
            [(18, 4, "20", "PERCENT"), (22, 8, "-10", "PERCENT")],
            "9",
        ),
        (
            "agricultural",
            "LT-4-B",
            "LT-4(b) Irrigation pump sets, metered",
            [(None, "4.75")],
            ("PER_KW", "50"),
            [],
            "0",
        ),
    ],
}


def financial_year(day: date) -> tuple[date, date]:
    """The Indian financial year (1 April to 31 March) holding ``day``: the period a
    commission's tariff order runs for."""
    start = date(day.year if day.month >= 4 else day.year - 1, 4, 1)
    return start, date(start.year + 1, 3, 31)


def tariff_policies(code: str, today: date) -> list[TariffPolicy]:
    """The discom's tariff packs for the financial year holding ``today``."""
    first, last = financial_year(today)
    year = f"{first.year}-{(first.year + 1) % 100:02d}"
    created = datetime.combine(first, time(0), IST).astimezone(UTC)
    policies = []
    for category, short, name, slabs, (basis, fixed), windows, duty in FIGURES[code]:
        tiles, start = [], 0
        for end, price in slabs:
            tiles.append(
                EnergySlab(
                    id=f"slab-{start}-{'plus' if end is None else end}",
                    start=Decimal(start),
                    end=None if end is None else Decimal(end),
                    price=Decimal(price),
                )
            )
            start = end or start
        policies.append(
            TariffPolicy(
                id=f"policy-{code.lower()}-{short.lower()}-{year}",
                policy_id=f"{code}-{short}",
                policy_name=f"{code} {name} {year}",
                program_id=f"program-{code.lower()}-retail-tariff-{year}",
                category=category,
                valid_from=first,
                valid_to=last,
                utc_offset=timedelta(hours=5, minutes=30),
                slabs=tuple(tiles),
                time_of_day=tuple(
                    TimeOfDayCharge(
                        id=f"{'rebate' if value.startswith('-') else 'surcharge'}-{hour:02d}h",
                        start=time(hour),
                        duration=timedelta(hours=hours),
                        value=Decimal(value),
                        unit=unit,
                    )
                    for hour, hours, value, unit in windows
                ),
                fixed=(FixedCharge(id="fixed-charge", basis=basis, value=Decimal(fixed)),),
                duty_percent=Decimal(duty),
                created=created,
            )
        )
    return policies


def resource_id(policy: TariffPolicy) -> str:
    return RESOURCE_PREFIX + policy.id.removeprefix("policy-")


def _coverage(policy: TariffPolicy) -> str:
    return f"{policy.valid_from.isoformat()}/{policy.valid_to.isoformat()}"


def _dataset(policy: TariffPolicy) -> dict[str, Any]:
    return {
        "@context": DATASET_CONTEXT,
        "@type": "DatasetItem",
        "schema:identifier": resource_id(policy),
        "schema:name": policy.policy_name,
        "schema:temporalCoverage": _coverage(policy),
    }


def _consideration() -> dict[str, Any]:
    return {
        "id": CONSIDERATION,
        "status": {"code": "ACTIVE"},
        "considerationAttributes": {
            "@context": PRICE_CONTEXT,
            "@type": "PriceSpecification",
            "currency": "INR",
            "value": 0,
            "description": "Tariff orders are public: delivered at no charge",
        },
    }


@dataclass
class TariffDesk:
    """The discom's published packs and its side of the tariff-policy flow."""

    provider: str  # the discom's subscriber id
    title: str
    state: str
    bpp_uri: str
    policies: list[TariffPolicy]

    def by_resource(self) -> dict[str, TariffPolicy]:
        return {resource_id(p): p for p in self.policies}

    def catalog(self) -> dict[str, Any]:
        """As DEG's ``publish-catalog`` example: one resource per category, one offer."""
        resources = [
            {
                "id": resource_id(p),
                "descriptor": {
                    "name": p.policy_name,
                    "shortDesc": f"IES_Policy tariff for {p.category} consumers",
                },
                "resourceAttributes": {
                    **_dataset(p),
                    "dataset:sensitivityLevel": "PUBLIC",
                    "dataset:refreshType": "EVENT_DRIVEN",
                    "dataset:accessMethod": "INLINE",
                },
            }
            for p in self.policies
        ]
        first = self.policies[0]
        return {
            "id": f"catalog-{self.provider}-tariff-policy",
            "descriptor": {
                "name": f"{self.title}: retail tariff policies",
                "shortDesc": "Machine-readable retail tariffs (IES_Policy)",
            },
            "bppId": self.provider,
            "bppUri": self.bpp_uri,
            "provider": {"id": self.provider, "descriptor": {"name": self.title}},
            "resources": resources,
            "offers": [
                {
                    "id": OFFER,
                    "descriptor": {
                        "name": "Inline tariff policy delivery",
                        "shortDesc": "In-message delivery of IES_Policy via dataPayload",
                    },
                    "resourceIds": [r["id"] for r in resources],
                    "validity": {
                        "startDate": f"{first.valid_from.isoformat()}T00:00:00Z",
                        "endDate": f"{first.valid_to.isoformat()}T23:59:59Z",
                    },
                    "considerations": [_consideration()],
                }
            ],
        }

    def _asked(self, contract: dict[str, Any]) -> list[TariffPolicy]:
        known = self.by_resource()
        asked = [
            r.get("id") for c in contract.get("commitments") or [] for r in c.get("resources") or []
        ]
        unknown = [a for a in asked if a not in known]
        if not asked or unknown:
            raise PayloadInvalid(f"no tariff resource of {self.provider} named {unknown or asked}")
        return [known[str(a)] for a in asked]

    def _contract(self, transaction: str, policies: list[TariffPolicy], closed: bool) -> Any:
        commitments: list[dict[str, Any]] = [
            {
                "id": f"commitment-{resource_id(p)}",
                "status": {"descriptor": {"code": "CLOSED" if closed else "ACTIVE"}},
                "resources": [
                    {
                        "id": resource_id(p),
                        "descriptor": {"name": p.policy_name},
                        "quantity": {"unitText": "policy", "unitCode": "EA", "value": "1"},
                    }
                ],
                "offer": {
                    "id": OFFER,
                    "descriptor": {"name": "Inline tariff policy delivery"},
                    "resourceIds": [resource_id(p)],
                },
                "commitmentAttributes": {**_dataset(p), "dataset:accessMethod": "INLINE"},
            }
            for p in policies
        ]
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.provider}/tariff/{transaction}")),
            "descriptor": {
                "name": "Retail tariff policy subscription",
                "shortDesc": f"{self.title}: retail tariff orders as IES_Policy packs",
            },
            "status": {"code": "ACTIVE"},
            "commitments": commitments,
            "consideration": [_consideration()],
            "participants": [
                {"id": self.state, "descriptor": {"name": COMMISSIONS.get(self.state, "SERC")}},
                {"id": self.provider, "descriptor": {"name": self.title}},
            ],
            "performance": [],
            "settlements": [],
        }

    def answer(self, message: Inbound) -> dict[str, Any] | None:
        """The ``on_*`` message for a tariff-policy request, or None if it is not one."""
        body = message.document.get("message") or {}
        if message.action == "discover":
            asked = json.dumps(body.get("intent") or {}).lower()
            return {"catalogs": [self.catalog()]} if "tariff" in asked else None
        contract = body.get("contract")
        if message.action not in ("select", "init", "confirm", "status"):
            return None
        if not isinstance(contract, dict) or not any(
            str(r.get("id", "")).startswith(RESOURCE_PREFIX)
            for c in contract.get("commitments") or []
            for r in c.get("resources") or []
        ):
            return None
        policies = self._asked(contract)
        transaction = message.context.transaction_id or ""
        if message.action != "status":
            return {"contract": self._contract(transaction, policies, closed=False)}
        answered = self._contract(transaction, policies, closed=True)
        answered["performance"] = [
            {
                "id": f"perf-{resource_id(p)}",
                "status": {
                    "code": "DELIVERY_COMPLETE",
                    "name": "Tariff policy delivered inline via dataPayload",
                },
                "commitmentIds": [f"commitment-{resource_id(p)}"],
                "performanceAttributes": {
                    **_dataset(p),
                    "dataset:accessMethod": "INLINE",
                    "dataPayload": p.to_ies(),
                },
            }
            for p in policies
        ]
        answered["settlements"] = [
            {
                "id": "settlement-tariff-no-charge",
                "considerationId": CONSIDERATION,
                "status": "COMPLETE",
                "settlementAttributes": {
                    "@context": "https://schema.nfh.global/Payment/2.0/context.jsonld",
                    "@type": "Payment",
                    "beckn:paymentStatus": "COMPLETED",
                    "beckn:amount": {"currency": "INR", "value": 0},
                },
            }
        ]
        return {"contract": answered}


class BillAsk(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)

    consumer_number: str = Field(alias="consumerNumber", pattern=r"^[A-Za-z0-9\-/]{1,40}$")


def consumer_connection(registry: httpx.Client, scheme: str, scope: str, number: str) -> Any:
    """The consumer's connection record in the registry (category, sanctioned load)."""
    found = registry.get(
        "/resolve", params={"scheme": scheme, "scope": scope, "value": number, "type": "consumer"}
    )
    if found.status_code != 200:
        raise HTTPException(404, f"the registry has no consumer {number}")
    held = registry.get(f"/identities/{found.json()['ies_id']}/children").json()
    (connection,) = [r["child"] for r in held if r["child_type"] == "connection"]
    return registry.get(f"/identities/{connection}").json()


def bills_router(desk: TariffDesk, code: str, archive: HesArchive, registry: httpx.Client) -> Any:
    router = APIRouter(tags=["discom tariffs"])
    seed = discom_seed(code)
    meters = {c.number: c.meter_serial for c in seed.network().consumers}

    @router.get(
        "/tariffs",
        dependencies=[public("a discom's tariffs are published law")],
        summary="The discom's published tariff packs (IES_Policy)",
    )
    def packs() -> list[dict[str, Any]]:
        return [p.to_ies() for p in desk.policies]

    @router.post(
        "/back-office/tariff-bills",
        dependencies=[backoffice()],
        summary="The discom's own bill for a consumer",
    )
    def bill(ask: BillAsk) -> dict[str, Any]:
        serial = meters.get(ask.consumer_number)
        if serial is None:
            raise HTTPException(404, f"no consumer {ask.consumer_number}")
        connection = consumer_connection(
            registry, seed.mapping.consumer.legacy_scheme, seed.code, ask.consumer_number
        )
        attributes = connection["attributes"]
        (policy,) = [p for p in desk.policies if p.category == attributes["category"]]
        first, last = hes_window(datetime.now(IST).date())
        start = datetime(first.year, first.month, first.day, tzinfo=IST)
        try:
            end = start + timedelta(days=(last - first).days + 1)
            blocks = archive.export_import(serial, start, end)
            intervals = [Interval(b.start, kwh(b.import_kwh)) for b in blocks]
        except MeterDataNotAvailable as exc:
            raise HTTPException(404, f"the HES holds no block load for {serial}") from exc
        sanctioned = Decimal(str(attributes["sanctioned_load_kw"]))
        computed = compute_bill(policy, intervals, first, last, sanctioned)
        return {
            "consumer": ask.consumer_number,
            "category": policy.category,
            "sanctionedLoadKw": str(sanctioned),
            "bill": computed.to_json(),
        }

    return router


def install(
    app: FastAPI, context: ParticipantContext, archive: HesArchive, registry: httpx.Client
) -> TariffDesk:
    """Put the tariff desk first on the discom's BPP (every other message goes on as
    before) and mount its back-office routes."""
    me = context.me
    assert me.discom_code is not None
    assert me.state is not None
    beckn: BecknParticipant = app.state.beckn
    desk = TariffDesk(
        me.host,
        me.title,
        me.state,
        me.beckn_url,
        tariff_policies(me.discom_code, datetime.now(IST).date()),
    )
    others = beckn.receiver.handler

    def handle(message: Inbound, unit: Unit) -> None:
        answer = desk.answer(message)
        if answer is None:
            others(message, unit)
            return
        beckn.outbox.enqueue_callback(message, answer, me.beckn_url, unit)

    beckn.receiver.handler = handle
    app.include_router(bills_router(desk, me.discom_code, archive, registry))
    app.state.tariff_desk = desk
    return desk
