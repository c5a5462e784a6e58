"""The shipped packs: their own tests pass through the engine, every rule both allows and
denies, the as-of date picks the pack in force, and states fall back to the national pack."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import yaml

from policy_packs.decision import decide
from policy_packs.errors import NoPackInForce, PackInvalid
from policy_packs.manifest import DOMAINS, NATIONAL
from policy_packs.packs import SHIPPED_PACKS, Catalogue, load_catalogue, pack_folders
from policy_packs.packtests import run_cases

from .conftest import resign

SHIPPED = [f"{folder.parent.name}@{folder.name}" for folder in pack_folders(SHIPPED_PACKS)]


def _pack(catalogue: Catalogue, key: str):
    pack_id, version = key.split("@")
    return catalogue.get(pack_id, version)


def test_the_sandbox_ships_a_national_default_and_at_least_four_states(catalogue):
    jurisdictions = {pack.manifest.jurisdiction for pack in catalogue.packs}
    assert NATIONAL in jurisdictions
    assert len(jurisdictions - {NATIONAL}) >= 4
    for pack in catalogue.packs:
        assert set(pack.manifest.domains) == set(DOMAINS), pack.key


@pytest.mark.parametrize("key", SHIPPED)
def test_every_case_of_the_pack_passes_through_the_engine(catalogue, engine, key):
    results = run_cases(_pack(catalogue, key), engine)
    assert results, f"{key} has no tests"
    failures = [result.explain() for result in results if not result.passed]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("key", SHIPPED)
def test_every_rule_of_the_manifest_both_fires_and_stays_quiet(catalogue, engine, key):
    """A rule declared without a case that fires it, or without one of its domain that
    does not, fails here: no rule that can never deny, none that always does."""
    pack = _pack(catalogue, key)
    results = run_cases(pack, engine)
    for rule in pack.manifest.rules:
        in_domain = [result for result in results if result.case.domain == rule.domain]
        fired = [result for result in in_domain if rule.code in result.codes]
        quiet = [result for result in in_domain if rule.code not in result.codes]
        assert fired, f"{key}: no case makes {rule.code} deny"
        assert quiet, f"{key}: every case of {rule.domain} trips {rule.code}"
        for result in fired:
            violation = next(v for v in result.decision.violations if v.code == rule.code)
            assert violation.clause == rule.clause
            assert violation.message


def test_every_rule_cites_an_instrument_and_every_clause_reaches_the_decision(catalogue):
    for pack in catalogue.packs:
        for rule in pack.manifest.rules:
            assert rule.cites, rule.code
            assert all(len(c.instrument) > 10 for c in rule.cites), rule.code
            assert rule.clause


def _p2p(price: float) -> dict[str, Any]:
    return {
        "seller": {
            "connection_category": "domestic",
            "sanctioned_load_kw": 10,
            "der_capacity_kw": 5,
            "metering_scheme": "none",
        },
        "buyer": {"connection_category": "commercial"},
        "trade": {
            "block": {"date": "2025-04-01", "number": 40, "minutes": 15},
            "quantity_kwh": 1,
            "price_inr_per_kwh": price,
        },
    }


def test_the_as_of_date_switches_maharashtra_from_version_1_to_version_2(catalogue, engine):
    trade = _p2p(8.5)
    before = decide(
        catalogue,
        engine,
        jurisdiction="IN-MH",
        domain="p2p_trade",
        document=trade,
        as_of=dt.date(2025, 3, 31),
    )
    after = decide(
        catalogue,
        engine,
        jurisdiction="IN-MH",
        domain="p2p_trade",
        document=trade,
        as_of=dt.date(2025, 4, 1),
    )
    assert (before.pack.id, before.pack.version) == ("in-mh", "1.0.0")
    assert (after.pack.id, after.pack.version) == ("in-mh", "2.0.0")
    assert before.pack.digest != after.pack.digest
    assert not before.allow
    assert [v.code for v in before.violations] == ["P2P-008"]
    assert after.allow
    assert after.violations == ()
    assert before.input_digest == after.input_digest


def test_a_state_without_a_pack_falls_back_to_the_national_default(catalogue, engine):
    decision = decide(
        catalogue,
        engine,
        jurisdiction="IN-TN",
        domain="p2p_trade",
        document=_p2p(12.0),
        as_of=dt.date(2025, 6, 1),
    )
    assert decision.pack.jurisdiction == NATIONAL
    assert decision.jurisdiction == "IN-TN"
    assert [v.code for v in decision.violations] == ["P2P-008"]


def test_a_date_before_any_pack_is_refused_rather_than_guessed(catalogue, engine):
    with pytest.raises(NoPackInForce):
        decide(
            catalogue,
            engine,
            jurisdiction="IN-MH",
            domain="consent",
            document={},
            as_of=dt.date(2023, 1, 1),
        )


def test_two_packs_of_one_state_in_force_on_the_same_day_are_refused(pack_copy, keyring):
    folder = pack_copy("in-mh", "1.0.0")
    pack_copy("in-mh", "2.0.0")
    manifest = folder / "manifest.yaml"
    manifest.write_text(
        manifest.read_text().replace("effective_to: '2025-03-31'", "effective_to: '2025-04-30'")
    )
    resign(folder, "merc")
    with pytest.raises(PackInvalid, match="in force on the same days"):
        load_catalogue(folder.parent.parent, keyring)


def test_a_case_expecting_an_undeclared_rule_makes_the_pack_invalid(pack_copy, keyring):
    folder = pack_copy("in-ka", "1.0.0")
    cases = json.loads((folder / "tests" / "cases.json").read_text())
    cases["cases"][0] = {**cases["cases"][0], "allow": False, "violations": ["ONB-999"]}
    (folder / "tests" / "cases.json").write_text(json.dumps(cases))
    resign(folder, "kerc")
    with pytest.raises(PackInvalid) as refused:
        load_catalogue(folder.parent.parent, keyring)
    assert any("ONB-999" in error for error in refused.value.extensions["errors"])


def test_a_manifest_may_be_json_instead_of_yaml(pack_copy, keyring):
    folder = pack_copy("in-gj", "1.0.0")
    manifest = yaml.safe_load((folder / "manifest.yaml").read_text())
    (folder / "manifest.yaml").unlink()
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    resign(folder, "gerc")
    [pack] = load_catalogue(folder.parent.parent, keyring).packs
    assert pack.key == "in-gj@1.0.0"
    assert len(pack.manifest.rules) == len(manifest["rules"])
