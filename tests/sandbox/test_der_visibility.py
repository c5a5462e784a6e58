"""DER Visibility in the sandbox: the published aggregates hold no personal value of the
seeded registry, keep the small-count rule, and carry the discom's signature."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocol.signing import parse_signature
from sandbox.participants.discom_der import K_ANONYMITY
from sandbox.seed import DISCOMS
from sandbox.usecases.der_visibility import PUBLISHED_KEYS, personal_found, personal_values
from tests.sandbox.conftest import SandboxRun

pytestmark = pytest.mark.slow


def _payloads(run: SandboxRun, kind: str) -> list[Any]:
    return [item["payload"] for item in run.evidence(kind)]


def test_the_use_case_passes(sandbox_run: SandboxRun) -> None:
    row = next(line for line in sandbox_run.stdout.splitlines() if "DER Visibility" in line)
    assert "not built" not in row
    assert "FAIL" not in row


def test_no_personal_value_of_the_seeded_registry_is_published(
    sandbox_run: SandboxRun, tmp_path: Any
) -> None:
    documents = _payloads(sandbox_run, "der:aggregates")
    assert len(documents) == len(DISCOMS)
    personal: set[str] = set()
    for seed in DISCOMS:
        personal |= personal_values(seed, tmp_path)
    # Names, phones, e-mails, consumer/connection/contract numbers, serials, places.
    assert len(personal) > 400 * len(DISCOMS)
    for document in documents:
        body = json.dumps(document)
        assert personal_found(document, body, personal) == []
        assert not any(p in body for p in personal if len(p) >= 6 and not p.isdigit())


def test_the_finder_would_catch_a_leak(tmp_path: Any) -> None:
    """The check above can fail: a consumer's name or meter serial slipped into a
    figure's label is found."""
    seed = DISCOMS[0]
    personal = personal_values(seed, tmp_path)
    serial = seed.network().consumers[0].meter_serial
    leaked = {"feeders": [{"feeder": f"{seed.code}-F1", "note": f"largest: {serial}"}]}
    assert personal_found(leaked, json.dumps(leaked), personal) == [serial]
    number = seed.network().consumers[3].number
    assert personal_found({"x": number}, "{}", personal) == [number]


def test_only_aggregate_fields_and_small_cells_withheld(sandbox_run: SandboxRun) -> None:
    for document in _payloads(sandbox_run, "der:aggregates"):
        assert document["suppression"] == {"rule": "threshold", "k": K_ANONYMITY}
        stack = [document]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                assert set(node) <= PUBLISHED_KEYS
                stack += node.values()
            elif isinstance(node, list):
                stack += node
        for feeder in document["feeders"]:
            cells = [feeder["der"], *feeder["der"]["byKind"]]
            for cell in cells:
                if cell["withheld"]:
                    assert cell["count"] is None
                    assert cell["capacityKw"] is None
                else:
                    assert cell["count"] >= K_ANONYMITY
            withheld_kinds = sum(c["withheld"] for c in feeder["der"]["byKind"])
            if withheld_kinds == 1:  # no subtraction reveals the small cell
                assert feeder["der"]["withheld"]
            telemetry = feeder["telemetry"]
            assert telemetry["forwardKwh"] > 0
            assert telemetry["peakLoadKw"] > 0
            assert (telemetry["derExportKwh"] is None) == telemetry["exportWithheld"]
    cells = [
        c
        for d in _payloads(sandbox_run, "der:aggregates")
        for f in d["feeders"]
        for c in [f["der"], *f["der"]["byKind"]]
    ]
    assert any(c["withheld"] for c in cells)
    assert any(not c["withheld"] for c in cells)


def test_each_publication_is_signed_by_its_discom(sandbox_run: SandboxRun) -> None:
    signed = _payloads(sandbox_run, "der:signed")
    documents = _payloads(sandbox_run, "der:aggregates")
    assert len(signed) == len(documents)
    for item, document in zip(signed, documents, strict=True):
        params = parse_signature(item["signature"])
        assert params.subscriber_id.startswith(f"discom-{document['state'][3:].lower()}.")
        assert params.headers == ("(created)", "(expires)", "digest")
        assert json.loads(item["body"]) == document
