"""The DEG P2P trading "wave 2" shapes the market's Beckn messages carry (pure).

A cleared trade travels as a Beckn contract as the DEG devkit writes it: one
commitment per trade whose resource is the seller's meter (``EnergyResource``) and
whose ``commitmentAttributes`` are a ``TimeSeries`` (BecknTimeSeries v1.0) of the
block's ``PRICE_PER_KWH`` and ``REQUESTED_QTY``; ``contractAttributes`` a
``DEGContract`` (roles, the policy that decided it); ``participants`` the prosumers
(``EnergyCustomer``) and discoms (``DiscomLedgerProvider``). After delivery the discom
answers with its meter actuals as the devkit's ``sellerdiscom-on-status``: a
``DatasetItem`` whose ``dataPayload`` is a ``TimeSeries`` of ``ENERGY_CONSUMPTION``
per block (negative: exported).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

NFH = "https://schema.nfh.global"
CONTEXTS = {
    name: f"{NFH}/{name}/{version}/context.jsonld"
    for name, version in (
        ("EnergyResource", "v2.0"), ("EnergyCustomer", "v2.0"), ("DEGContract", "v2.0"),
        ("BecknTimeSeries", "v1.0"), ("DiscomLedgerProvider", "v1.0"),
        ("DatasetItem", "1.1"), ("RevenueFlow", "v2.0"),
    )
}  # fmt: skip
BLOCK = timedelta(minutes=15)


def schema_context(*names: str) -> list[str]:
    return [CONTEXTS[name] for name in names]


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _number(value: Decimal) -> float:
    return float(value)


@dataclass(frozen=True, slots=True)
class Party:
    """A prosumer as the contract names it: its platform id, meter and discom."""

    id: str  # the prosumer's registry id
    meter: str  # its meter's asset DID
    discom: str  # its discom's subscriber id
    discom_code: str  # the discom's short code (DEG: discom roles use it)


@dataclass(frozen=True, slots=True)
class ContractTrade:
    id: str
    ask_id: str
    block_start: datetime
    seller: Party
    buyer: Party
    quantity_kwh: Decimal
    price_inr_per_kwh: Decimal


def _customer(party: Party, platform_url: str) -> dict[str, Any]:
    return {"id": party.id, "participantAttributes": {
        "@context": CONTEXTS["EnergyCustomer"], "@type": "EnergyCustomer",
        "meterId": party.meter, "utilityCustomerId": party.id, "utilityId": party.discom_code,
        "platformUrl": platform_url}}  # fmt: skip


def _discom(code: str, host: str, url: str, ledger_id: str, ledger_url: str) -> dict[str, Any]:
    return {
        "id": code,
        "participantAttributes": {
            "@context": CONTEXTS["DiscomLedgerProvider"],
            "@type": "DiscomLedgerProvider",
            "discomId": host,
            "discomUri": url,
            "ledgerId": ledger_id,
            "ledgerUri": ledger_url,
        },
    }


def trade_commitment(trade: ContractTrade) -> dict[str, Any]:
    resource = f"energy-{trade.seller.meter.rsplit(':', 1)[-1]}"
    return {
        "id": trade.id,
        "status": {"descriptor": {"code": "ACTIVE"}},
        "resources": [{
            "id": resource,
            "descriptor": {"name": f"Energy from {trade.seller.meter}"},
            "quantity": {"@type": "Quantity", "unitCode": "KWH",
                         "unitQuantity": _number(trade.quantity_kwh)},
            "resourceAttributes": {"@context": CONTEXTS["EnergyResource"],
                                   "@type": "EnergyResource", "type": "SOLAR",
                                   "id": trade.seller.meter},
        }],
        "offer": {"id": trade.ask_id, "resourceIds": [resource]},
        "commitmentAttributes": {
            "@context": CONTEXTS["BecknTimeSeries"], "@type": "TimeSeries",
            "intervalPeriod": {"start": _instant(trade.block_start), "duration": "PT15M"},
            "payloadDescriptors": [
                {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE_PER_KWH",
                 "currency": "INR", "insertedBy": "sellerPlatform"},
                {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "REQUESTED_QTY",
                 "units": "KWH", "insertedBy": "buyerPlatform"},
            ],
            "intervals": [{"id": 0, "payloads": [
                {"type": "PRICE_PER_KWH", "values": [_number(trade.price_inr_per_kwh)]},
                {"type": "REQUESTED_QTY", "values": [_number(trade.quantity_kwh)]},
            ]}],
        },
    }  # fmt: skip


def trade_contract(
    contract_id: str,
    trades: list[ContractTrade],
    *,
    platform: str,
    platform_url: str,
    discoms: dict[str, tuple[str, str]],  # discom host -> (its code, its URL)
    ledger: tuple[str, str],  # the registry's (id, URL)
    policy_url: str,
    policy_query: str,
) -> dict[str, Any]:
    """The P2P trade contract of ``trades`` (one commitment each), DEG-shaped."""
    parties = {p.id: p for t in trades for p in (t.seller, t.buyer)}
    first = trades[0]
    return {
        "id": contract_id,
        "status": {"code": "ACTIVE"},
        "commitments": [trade_commitment(t) for t in trades],
        "contractAttributes": {
            "@context": CONTEXTS["DEGContract"], "@type": "DEGContract",
            "roles": [
                {"role": "buyerPlatform", "participantId": platform},
                {"role": "sellerPlatform", "participantId": platform},
                {"role": "buyerDiscom", "participantId": first.buyer.discom_code},
                {"role": "sellerDiscom", "participantId": first.seller.discom_code},
            ],
            "policy": {"url": policy_url, "queryPath": policy_query},
        },
        "participants": [_customer(p, platform_url) for p in parties.values()] + [
            _discom(code, host, url, *ledger) for host, (code, url) in sorted(discoms.items())
        ],
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class MeterActual:
    meter: str
    block_start: datetime
    export_kwh: Decimal
    import_kwh: Decimal


def meter_actuals_commitment(
    commitment_id: str, discom_code: str, meter: str, blocks: list[MeterActual]
) -> dict[str, Any]:
    """One meter's actuals over its traded blocks, as the seller discom's on_status
    carries them (``ENERGY_CONSUMPTION``: import minus export, kWh)."""
    blocks = sorted(blocks, key=lambda b: b.block_start)
    start, end = blocks[0].block_start, blocks[-1].block_start + BLOCK
    dataset = f"actuals-{meter.rsplit(':', 1)[-1]}"
    return {
        "id": commitment_id,
        "status": {"descriptor": {"code": "ACTIVE"}},
        "resources": [{
            "id": dataset,
            "descriptor": {"name": "Discom meter actuals"},
            "quantity": {"@type": "Quantity", "unitText": "report", "unitCode": "EA", "value": "1"},
            "resourceAttributes": {
                "@context": CONTEXTS["DatasetItem"], "@type": "DatasetItem",
                "schema:identifier": dataset,
                "schema:name": f"Meter actuals of {meter}",
                "schema:temporalCoverage": f"{_instant(start)}/{_instant(end)}",
                "dataPayload": {
                    "@context": CONTEXTS["BecknTimeSeries"], "@type": "TimeSeries",
                    "resourceName": meter, "clientName": discom_code,
                    "intervalPeriod": {"start": _instant(start), "duration": "PT15M"},
                    "payloadDescriptors": [{"objectType": "REPORT_PAYLOAD_DESCRIPTOR",
                                            "payloadType": "ENERGY_CONSUMPTION",
                                            "units": "KWH"}],
                    "intervals": [
                        {"id": n, "intervalPeriod": {"start": _instant(b.block_start),
                                                     "duration": "PT15M"},
                         "payloads": [{"type": "ENERGY_CONSUMPTION",
                                       "values": [_number(b.import_kwh - b.export_kwh)]}]}
                        for n, b in enumerate(blocks)
                    ],
                },
            },
        }],
        "offer": {"id": f"meter-actuals-{discom_code}", "resourceIds": [dataset]},
    }  # fmt: skip


def contract_meters_and_blocks(contract: dict[str, Any]) -> tuple[list[str], list[datetime]]:
    """The prosumers' meters a trade contract names (its ``EnergyCustomer``
    participants) and the blocks its commitments cover: what a discom reports on."""
    meters = sorted({
        str(p["participantAttributes"]["meterId"])
        for p in contract.get("participants") or []
        if (p.get("participantAttributes") or {}).get("@type") == "EnergyCustomer"
    })  # fmt: skip
    blocks: set[datetime] = set()
    for commitment in contract.get("commitments") or []:
        period = (commitment.get("commitmentAttributes") or {}).get("intervalPeriod") or {}
        if isinstance(period.get("start"), str):
            blocks.add(datetime.fromisoformat(period["start"].replace("Z", "+00:00")))
    return meters, sorted(blocks)


def revenue_flows(party: str, lines: list[tuple[str, Decimal]]) -> dict[str, Any]:
    """A party's settlement as DEG's RevenueFlow (role, signed INR amount)."""
    return {"@context": CONTEXTS["RevenueFlow"], "@type": "RevenueFlow",
            "revenueFlows": [{"role": party, "value": _number(amount), "currency": "INR",
                              "description": what} for what, amount in lines]}  # fmt: skip
