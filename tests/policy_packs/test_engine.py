"""The decision contract, and properties of the rules checked against the pack's own data."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_packs.decision import decide, decide_with, input_digest
from policy_packs.errors import EvaluationFailed, InputUnrepresentable
from policy_packs.packs import load_pack

from .conftest import resign

ON = dt.date(2025, 6, 1)


def _trade(price: float, quantity: float = 1.0, capacity: float = 5.0) -> dict[str, Any]:
    return {
        "seller": {
            "connection_category": "domestic",
            "sanctioned_load_kw": 200,
            "der_capacity_kw": capacity,
            "metering_scheme": "none",
        },
        "buyer": {"connection_category": "commercial"},
        "trade": {
            "block": {"date": "2025-06-01", "number": 48, "minutes": 15},
            "quantity_kwh": quantity,
            "price_inr_per_kwh": price,
        },
    }


def test_a_decision_names_the_pack_its_digest_and_each_rule_with_clause(catalogue, engine):
    decision = decide(
        catalogue,
        engine,
        jurisdiction="IN-UP",
        domain="p2p_trade",
        document=_trade(price=1.0, quantity=3.0),
        as_of=ON,
    )
    pack = catalogue.get("in-up", "1.0.0")
    assert decision.pack.model_dump() == {
        "id": "in-up",
        "version": "1.0.0",
        "digest": pack.digest,
        "jurisdiction": "IN-UP",
    }
    assert [v.code for v in decision.violations] == ["P2P-006", "P2P-007"]
    for violation in decision.violations:
        rule = pack.manifest.rule(violation.code)
        assert rule is not None
        assert violation.clause == rule.clause
        assert violation.intent == rule.intent
    assert decision.input_digest == input_digest(_trade(price=1.0, quantity=3.0))


@settings(max_examples=60, deadline=None)
@given(
    price=st.floats(0, 30, allow_nan=False).map(lambda p: round(p, 2)),
    quantity=st.floats(0.01, 40, allow_nan=False).map(lambda q: round(q, 2)),
)
def test_price_band_and_block_quantity_follow_the_packs_own_limits(
    catalogue, engine, price, quantity
):
    """The oracle reads the limits from the signed data file, not from this test."""
    pack = catalogue.select("IN-MH", "p2p_trade", ON)
    limits = pack.data["params"]["p2p_trade"]
    capacity = 100.0
    decision = decide(
        catalogue,
        engine,
        jurisdiction="IN-MH",
        domain="p2p_trade",
        document=_trade(price, quantity, capacity),
        as_of=ON,
    )
    codes = {v.code for v in decision.violations}
    assert ("P2P-007" in codes) == (price < limits["price_floor_inr_per_kwh"])
    assert ("P2P-008" in codes) == (price > limits["price_ceiling_inr_per_kwh"])
    assert ("P2P-005" in codes) == (quantity > limits["max_kwh_per_block"])
    assert ("P2P-006" in codes) == (quantity > capacity * limits["block_minutes"] / 60)
    assert decision.allow == (not codes)


@settings(max_examples=50, deadline=None)
@given(
    document=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=6)
)
def test_the_input_digest_ignores_key_order(document):
    reordered = dict(reversed(list(document.items())))
    assert input_digest(document) == input_digest(reordered)


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, float("nan"), float("inf"), "a\x00b"])
def test_values_the_interpreter_would_silently_alter_are_refused(catalogue, engine, value):
    """2**70 reads as 0 inside rego-cpp: arrears of 2**70 would pass an arrears check."""
    document = {"connection": {"arrears_inr": value}}
    with pytest.raises(InputUnrepresentable):
        decide(
            catalogue,
            engine,
            jurisdiction="IN-MH",
            domain="onboarding",
            document=document,
            as_of=ON,
        )


def test_a_rule_code_the_manifest_does_not_declare_is_an_evaluation_failure(
    pack_copy, keyring, engine
):
    folder = pack_copy("in-gj", "1.0.0")
    module = folder / "policy" / "p2p_trade.rego"
    module.write_text(module.read_text().replace('"code": "P2P-008"', '"code": "P2P-098"'))
    resign(folder, "gerc")
    pack = load_pack(folder, keyring)
    with pytest.raises(EvaluationFailed, match="P2P-098"):
        decide_with(pack, engine, "p2p_trade", _trade(price=99.0), jurisdiction="IN-GJ", as_of=ON)


def test_a_decision_document_of_the_wrong_shape_is_an_evaluation_failure(
    pack_copy, keyring, engine
):
    folder = pack_copy("in-gj", "1.0.0")
    module = folder / "policy" / "consent.rego"
    module.write_text(
        module.read_text().replace(
            'decision := {"allow": count(violations) == 0, "violations": violations}',
            'decision := {"allow": true, "violations": violations, "extra": 1}',
        )
    )
    resign(folder, "gerc")
    pack = load_pack(folder, keyring)
    with pytest.raises(EvaluationFailed, match="malformed"):
        decide_with(pack, engine, "consent", {}, jurisdiction="IN-GJ", as_of=ON)


def test_a_pack_whose_rego_does_not_parse_is_refused_at_load(pack_copy, keyring, engine):
    folder = pack_copy("in-gj", "1.0.0")
    module = folder / "policy" / "filing.rego"
    module.write_text(module.read_text() + "\nbroken := {\n")
    resign(folder, "gerc")
    pack = load_pack(folder, keyring)
    from policy_packs.engine import EmbeddedEngine
    from policy_packs.errors import PackInvalid

    with pytest.raises(PackInvalid, match="does not compile"):
        EmbeddedEngine().prepare(pack)


def test_pack_data_is_mounted_under_the_package_root(catalogue, engine):
    pack = catalogue.get("in-mh", "2.0.0")
    defined, value = engine.document(
        pack, "ies.mh.v2.params.p2p_trade.price_ceiling_inr_per_kwh", {}
    )
    assert defined
    assert (
        value
        == json.loads((pack.folder / "data" / "params.json").read_text())["p2p_trade"][
            "price_ceiling_inr_per_kwh"
        ]
    )
    assert engine.document(pack, "ies.mh.v2.nothing_here", {}) == (False, None)
