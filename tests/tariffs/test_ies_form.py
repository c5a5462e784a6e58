"""The tariff pack's IES form against the oracle (DEG's IES_Policy in ../shared), and
every malformed pack refused with the reason."""

from __future__ import annotations

import copy
import json
from datetime import date, time
from decimal import Decimal
from typing import Any

import pytest

from policy_packs.tariffs import TariffInvalid, TariffPolicy
from sandbox.participants.discom_tariff import FIGURES, tariff_policies
from tests.tariffs.oracle import EXAMPLES, ies_policy_errors


def example_policy() -> dict[str, Any]:
    document = json.loads((EXAMPLES / "on-status-response-ready-inline.json").read_text())
    performance = document["message"]["contract"]["performance"][0]
    policy: dict[str, Any] = performance["performanceAttributes"]["dataPayload"]
    return policy


def test_the_oracle_takes_deg_example_and_refuses_a_broken_one() -> None:
    assert ies_policy_errors(example_policy()) == []
    broken = {**example_policy(), "policyType": "PRICE"}
    assert ies_policy_errors(broken)


@pytest.mark.parametrize("code", sorted(FIGURES))
def test_every_published_pack_is_an_ies_policy(code: str) -> None:
    packs = tariff_policies(code, date(2026, 11, 24))
    assert {p.category for p in packs} == {"domestic", "commercial", "industrial", "agricultural"}
    for pack in packs:
        ies = pack.to_ies()
        assert ies_policy_errors(ies) == [], pack.policy_id
        # The members DEG's example carries, in the example's own shape.
        assert set(example_policy()) <= set(ies)
        assert {k for s in ies["energySlabs"] for k in s} <= {
            "id",
            "@type",
            "start",
            "end",
            "price",
        }
        assert TariffPolicy.from_ies(ies) == pack


def test_the_deg_example_reads_as_a_tariff_except_its_gapped_slabs() -> None:
    """DEG's example writes slabs 0-100, 101-300, 301-: with ``end`` exclusive (the
    schema's words) 100..101 kWh would be unpriced; the reader refuses the gap rather
    than guess, and takes the example once the slabs tile."""
    with pytest.raises(TariffInvalid, match="starts at 101"):
        TariffPolicy.from_ies(example_policy())
    tiled = copy.deepcopy(example_policy())
    tiled["energySlabs"][1]["start"], tiled["energySlabs"][2]["start"] = 100, 300
    policy = TariffPolicy.from_ies(tiled)
    assert [s.price for s in policy.slabs] == [
        Decimal(str(s["price"])) for s in tiled["energySlabs"]
    ]
    assert policy.time_of_day[1].covers(time(2))


def _pack() -> dict[str, Any]:
    return tariff_policies("MSEDCL", date(2026, 11, 24))[1].to_ies()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.update(policyType="DISPATCH_GUIDE"), "policyType TARIFF"),
        (lambda p: p.update(samplingInterval="R/2026-04-01T00:00:00Z/P1D"), "monthly"),
        (lambda p: p.update(samplingInterval="R/2026-04-01T00:00:00/P1M"), "UTC offset"),
        (lambda p: p["energySlabs"][1].update(start=250), "starts at 250"),
        (lambda p: p["energySlabs"].reverse(), "open but not the last|starts at"),
        (lambda p: p["energySlabs"][-1].update(end=900), "last slab must be open"),
        (lambda p: p["energySlabs"][0].update(price="free"), "price"),
        (lambda p: p["energySlabs"][0].update(price=True), "not a number"),
        (lambda p: p["surchargeTariffs"][0]["interval"].update(duration="P1D"), "duration"),
        (lambda p: p["surchargeTariffs"][0].update(recurrence="P1W"), "daily"),
        (lambda p: p["surchargeTariffs"][0].update(value=-100, unit="PERCENT"), "percentage"),
        (lambda p: p["targets"][0]["values"].append("commercial"), "one TARIFF_CATEGORY"),
        (lambda p: p.update(electricityDuty={"value": 5, "unit": "INR_PER_KWH"}), "percentage"),
        (lambda p: p.pop("programID"), "programID"),
    ],
)
def test_a_malformed_pack_is_refused_with_its_reason(change: Any, reason: str) -> None:
    pack = _pack()
    change(pack)
    with pytest.raises(TariffInvalid, match=reason):
        TariffPolicy.from_ies(pack)


def test_a_pack_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(TariffInvalid):
        TariffPolicy.from_ies(["not", "a", "pack"])
