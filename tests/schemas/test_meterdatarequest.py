"""Our MeterDataRequest v0.6 models, shipped schema and validator agree with the official
ones (read from ../shared at test time), and every request we build conforms."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import schemas
from schemas.meterdata import TelemetryMode
from schemas.meterdatarequest import (
    MeterDataAuthorisation,
    MeterDataCapabilities,
    MeterDataRequestObject,
    MeterDataRequestPayload,
    ProfileCapability,
    RequestedProfile,
    ScopeType,
    ValueCapability,
    dump,
)
from tests.schemas import oracle

# The official validator's reason for each negative fixture (its README's rules), as
# our rule keyword and the JSON Pointer of the offending member.
EXPECTED = {
    "invalid_authorisation_expired.json": ("validityWindow", "/validUntil"),
    "invalid_request_mode_unsupported.json": (
        "modeSupported",
        "/capabilitiesRequested/profiles/0/readings/0/mode",
    ),
    "invalid_request_profile_mismatch.json": (
        "profileShape",
        "/capabilitiesRequested/profiles/0/readings/0/value",
    ),
}


def test_the_official_fixtures_are_all_known_here() -> None:
    names = {p.name for p in oracle.request_validation_cases()}
    assert names - {"valid_request.json"} == set(EXPECTED)


@pytest.mark.parametrize("path", oracle.request_examples(), ids=lambda p: p.name)
def test_every_official_example_passes_both_schemas_and_our_models(path: Path) -> None:
    document = oracle.load(path)
    assert oracle.official_request_errors(document) == []
    assert schemas.validate(schemas.METERDATAREQUEST, document) == []
    MeterDataRequestPayload.model_validate(document)


@pytest.mark.parametrize("path", oracle.request_validation_cases(), ids=lambda p: p.name)
def test_official_validation_cases_get_the_same_verdict_and_reason(path: Path) -> None:
    document = oracle.load(path)
    # Structurally, every fixture is valid: the refusals are the semantic rules'.
    assert oracle.official_request_errors(document) == []
    errors = schemas.validate(schemas.METERDATAREQUEST, document)
    if path.name.startswith("valid_"):
        assert errors == []
        return
    keyword, where = EXPECTED[path.name]
    assert [(e.keyword, e.path) for e in errors] == [(keyword, where)], errors


def test_an_expired_authorisation_is_refused_inline_and_by_our_model() -> None:
    request = oracle.load(oracle.METERDATAREQUEST / "validation/test_cases/valid_request.json")
    expired = oracle.load(
        oracle.METERDATAREQUEST / "validation/test_cases/invalid_authorisation_expired.json"
    )
    request["authorisation"] = expired
    errors = schemas.validate(schemas.METERDATAREQUEST, request)
    assert [(e.keyword, e.path) for e in errors] == [
        ("validityWindow", "/authorisation/validUntil")
    ]
    with pytest.raises(ValidationError):
        MeterDataAuthorisation.model_validate(expired)


def _mutations(document: dict[str, Any]) -> list[tuple[str, Any]]:
    """Structural breakages: each member dropped, wrong types, bad enums and bounds,
    and documents that match two of the root's alternatives at once."""
    out: list[tuple[str, Any]] = []
    for key in list(document):
        broken = copy.deepcopy(document)
        del broken[key]
        out.append((f"without {key}", broken))
    for key, bad in (
        ("scope", "Everything"),
        ("maxRecordsShared", 0),
        ("maxRecordsShared", "100"),
        ("consumerConsent", "consent-1"),
        ("consumerConsent", [1]),
        ("resources", "did:web:x"),
        ("authorisation", 42),
        ("authorisation", {"grantor": "did:web:a"}),
        ("capabilitiesRequested", {"profiles": [{"profileType": "WeeklyProfile"}]}),
        ("capabilitiesRequested", {"profiles": [{"readings": []}]}),
        (
            "capabilitiesRequested",
            {"profiles": [{"profileType": "DailyProfile", "readings": [{}]}]},
        ),
        (
            "capabilitiesRequested",
            {
                "profiles": [
                    {
                        "profileType": "DailyProfile",
                        "readings": [{"value": "kWh imp", "mode": "BOTH"}],
                    }
                ]
            },
        ),
        (
            "capabilitiesRequested",
            {
                "profiles": [
                    {
                        "profileType": "DailyProfile",
                        "readings": [{"value": "kWh imp", "multiplier": "x"}],
                    }
                ]
            },
        ),
        ("profiles", [{"profileType": "DailyProfile"}]),  # also a capabilities document
        ("grantor", "did:web:a"),
    ):
        broken = copy.deepcopy(document)
        broken[key] = bad
        out.append((f"{key}={bad!r}", broken))
    out.append(("not an object", [document]))
    out.append(("empty object", {}))
    return out


@pytest.mark.parametrize(
    "path",
    [*oracle.request_examples(), *oracle.request_validation_cases()],
    ids=lambda p: p.name,
)
def test_our_schema_refuses_exactly_what_the_official_one_refuses(path: Path) -> None:
    ours = schemas.validator(schemas.METERDATAREQUEST)
    document = oracle.load(path)
    for name, broken in _mutations(document):
        official_ok = not oracle.official_request_errors(broken)
        ours_ok = not list(ours.iter_errors(broken))
        assert ours_ok == official_ok, f"{path.name}: {name}"


_READINGS = {
    RequestedProfile.INTERVAL: [("kWh imp block", "USAGE"), ("kVAh imp block", "USAGE")],
    RequestedProfile.DAILY: [("kWh imp", "READING"), ("kWh exp", "USAGE")],
    RequestedProfile.MONTHLY: [("kWh imp", "USAGE"), ("MD kW", "USAGE")],
    RequestedProfile.INSTANTANEOUS: [("V_R", "READING"), ("I_R", "READING")],
    RequestedProfile.CUSTOMER: [],
}


def meter_data_request(
    *,
    profiles: list[RequestedProfile],
    resources: list[str],
    consent: list[str] | None,
    page_size: int | None,
    authorised: bool,
) -> MeterDataRequestObject:
    """A request as the stack builds one (the BAP side of a meter data exchange)."""
    capabilities = MeterDataCapabilities(
        profiles=[
            ProfileCapability(
                profile_type=p,
                readings=[ValueCapability(value=v, mode=TelemetryMode(m)) for v, m in _READINGS[p]]
                or None,
            )
            for p in profiles
        ]
    )
    authorisation: MeterDataAuthorisation | str | None = None
    if authorised:
        authorisation = MeterDataAuthorisation.model_validate(
            {
                "grantor": "did:web:discom.example",
                "grantee": "did:web:tsp.example",
                "purpose": "ESG carbon accounting",
                "validFrom": "2026-05-01T00:00:00Z",
                "validUntil": "2027-05-01T00:00:00+05:30",
                "capabilities": capabilities.model_dump(by_alias=True, exclude_none=True),
            }
        )
    return MeterDataRequestObject.model_validate(
        {
            "resources": resources,
            "scope": ScopeType.RESOURCE_ONLY,
            "from": "2026-05-18T00:00:00Z",
            "duration": "P30D",
            "consumerConsent": consent,
            "authorisation": authorisation,
            "capabilitiesRequested": capabilities,
            "maxRecordsShared": page_size,
        }
    )


@settings(max_examples=40, deadline=None)
@given(
    profiles=st.lists(st.sampled_from(list(_READINGS)), min_size=1, max_size=4, unique=True),
    resources=st.lists(
        st.from_regex(r"did:web:discom\.example:meter:[A-Z0-9-]{1,12}", fullmatch=True),
        max_size=3,
    ),
    consent=st.none() | st.lists(st.from_regex(r"[a-z0-9:-]{1,40}", fullmatch=True), max_size=3),
    page_size=st.none() | st.integers(1, 10_000),
    authorised=st.booleans(),
)
def test_every_request_we_build_passes_the_official_schema_and_rules(
    profiles, resources, consent, page_size, authorised
) -> None:
    document = dump(
        meter_data_request(
            profiles=profiles,
            resources=resources,
            consent=consent,
            page_size=page_size,
            authorised=authorised,
        )
    )
    assert oracle.official_request_errors(document) == []
    assert schemas.validate(schemas.METERDATAREQUEST, document) == []
    if consent is not None:
        assert document["consumerConsent"] == consent


def test_our_models_refuse_what_we_must_never_emit() -> None:
    good = dump(
        meter_data_request(
            profiles=[RequestedProfile.DAILY],
            resources=["did:web:d:m1"],
            consent=["consent-1"],
            page_size=10,
            authorised=False,
        )
    )
    for key, bad in (
        ("from", "2026-05-18T00:00:00"),  # no offset
        ("duration", "30 days"),
        ("maxRecordsShared", 0),
        ("resources", ["meter 1"]),
        ("consumerConsent", "consent-1"),
    ):
        with pytest.raises(ValidationError):
            MeterDataRequestObject.model_validate({**good, key: bad})
