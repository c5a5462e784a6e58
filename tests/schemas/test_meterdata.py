"""Our MeterData v0.6 models, shipped schema and validator agree with the official ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import schemas
from schemas import generate, obis
from tests.schemas import oracle

# The official validator's expected reason for each negative fixture, as our rule keyword.
EXPECTED = {
    "invalid_cumulative_decrease.json": ("cumulativeMonotonic", "/1/intervals/1/payloads/0"),
    "invalid_math_consistency.json": ("usageMath", "/0/readings/0/value"),
    "invalid_missing_descriptor.json": ("descriptorPresent", "/0/compactSequenceRef"),
    "invalid_missing_descriptor_ref.json": ("descriptorRefRequired", "/1"),
    "invalid_profile_type_mismatch.json": ("profileShape", "/1/compactSequenceRef"),
}


def test_shipped_schema_and_context_are_what_the_models_generate() -> None:
    for path, text in generate.expected_files().items():
        assert path.read_text(encoding="utf-8") == text, f"{path}: run python -m schemas.generate"


@pytest.mark.parametrize("path", oracle.examples(), ids=lambda p: p.name)
def test_every_official_example_passes_both_schemas(path: Path) -> None:
    document = oracle.load(path)
    assert oracle.official_errors(document) == []
    assert schemas.validate(schemas.METERDATA, document) == []


@pytest.mark.parametrize("path", oracle.validation_cases(), ids=lambda p: p.name)
def test_official_validation_cases_get_the_same_verdict_and_reason(path: Path) -> None:
    errors = schemas.validate(schemas.METERDATA, oracle.load(path))
    if path.name.startswith("valid_"):
        assert errors == []
        return
    keyword, where = EXPECTED[path.name]
    assert [(e.keyword, e.path) for e in errors] == [(keyword, where)], errors


def _mutations(document: Any) -> list[tuple[str, Any]]:
    """Breakages of one example: each required member dropped, enums and bounds violated."""
    out: list[tuple[str, Any]] = []
    profiles = document if isinstance(document, list) else [document]
    for i, profile in enumerate(profiles):
        for key in list(profile):
            broken = copy.deepcopy(profiles)
            del broken[i][key]
            out.append((f"{i} without {key}", broken))
        broken = copy.deepcopy(profiles)
        broken[i]["profileType"] = "WEEKLY"
        out.append((f"{i} bad profileType", broken))
        if "meterRefs" in profile:
            for value in ([], [{"scheme": "PAN", "value": "x"}], [{"value": "x"}]):
                broken = copy.deepcopy(profiles)
                broken[i]["meterRefs"] = value
                out.append((f"{i} meterRefs={value}", broken))
        for interval_key in ("intervals",):
            if profile.get(interval_key):
                for bad in ({"id": -1}, {"id": 0, "payloads": []}, {"payloads": [1]}):
                    broken = copy.deepcopy(profiles)
                    broken[i][interval_key][0] = bad
                    out.append((f"{i} interval {bad}", broken))
        if profile.get("readings"):
            broken = copy.deepcopy(profiles)
            broken[i]["readings"][0]["value"] = "12"
            out.append((f"{i} reading value as text", broken))
            broken = copy.deepcopy(profiles)
            broken[i]["readings"][0]["validationStatus"] = "OK"
            out.append((f"{i} reading bad validationStatus", broken))
    out.append(("empty array", []))
    return out


@pytest.mark.parametrize("path", oracle.examples()[:12], ids=lambda p: p.name)
def test_our_schema_refuses_exactly_what_the_official_one_refuses(path: Path) -> None:
    ours = schemas.validator(schemas.METERDATA)
    for name, document in _mutations(oracle.load(path)):
        official_ok = not oracle.official_errors(document)
        ours_ok = not list(ours.iter_errors(document))
        assert ours_ok == official_ok, f"{path.name}: {name}"


def test_errors_are_all_collected_with_path_and_keyword() -> None:
    document = [
        {
            "profileType": "INTERVAL",
            "meterRefs": [{"scheme": "SERIAL", "value": "M1"}],
            "intervalPeriod": {"start": "2026-05-18T00:00:00", "duration": "PT15M"},
            "intervals": [{"id": -1, "payloads": [1.0]}],
        }
    ]
    errors = schemas.validate(schemas.METERDATA, document)
    assert {(e.path, e.keyword) for e in errors} == {
        ("/0/meterRefs/0/scheme", "enum"),
        ("/0/intervalPeriod/start", "format"),
        ("/0/intervals/0/id", "minimum"),
    }
    with pytest.raises(schemas.InvalidDocument) as caught:
        schemas.check(schemas.METERDATA, document)
    assert len(caught.value.extensions["errors"]) == 3


def test_validators_are_compiled_once_and_unknown_ids_are_refused() -> None:
    assert schemas.validator(schemas.METERDATA) is schemas.validator(schemas.METERDATA)
    assert schemas.METERDATA in schemas.schema_ids()
    with pytest.raises(schemas.UnknownSchema):
        schemas.validate("MeterData/v9", {})


def test_null_members_are_refused_like_the_official_schema_does() -> None:
    document = {
        "profileType": "EVENT",
        "meterRefs": [{"scheme": "METER_SERIAL", "value": "M1", "namespace": None}],
        "timePeriod": {"start": "2026-05-18T00:00:00+05:30", "duration": "P1D"},
        "events": [],
    }
    assert oracle.official_errors(document)
    assert [e.path for e in schemas.validate(schemas.METERDATA, document)] == [
        "/meterRefs/0/namespace"
    ]


def test_our_obis_catalogue_agrees_with_the_ies_code_list() -> None:
    ies = {c["obis"]: c for c in oracle.ies_codes()["codes"]}
    reverse_alias = {v: k for k, v in obis.ALIASES.items()}
    assert len(obis.CODES) == len(ies)
    for code in obis.CODES:
        theirs = ies.get(code.obis) or ies[reverse_alias[code.obis]]
        assert (code.short_label, code.unit, code.category) == (
            theirs["shortLabel"],
            theirs["unit"],
            theirs["category"],
        ), code.obis
        assert code.profiles == set(theirs["profiles"]), code.obis
        assert list(code.modes) == theirs["supportedModes"], code.obis
        assert code.default_mode == theirs["defaultMode"], code.obis
        assert code.accumulation == theirs.get("accumulationBehaviour"), code.obis
        assert code.flow == theirs.get("flowDirection"), code.obis


def test_context_defines_every_member_of_the_schema() -> None:
    context = json.loads(
        (generate.CONTEXTS_DIR / "MeterData" / "v0.6" / "context.jsonld").read_text()
    )["@context"]
    for term in ("meterRefs", "intervalPeriod", "payloads", "validationStatus", "eventId"):
        assert term in context
    assert context["timestamp"] == {"@id": "ies:timestamp", "@type": "xsd:dateTime"}
