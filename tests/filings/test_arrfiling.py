"""Our ArrFiling v0.5 model against the official schema: the official examples read
through it and come out valid, what the desk emits is valid, and the model refuses
what the official schema refuses."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import ValidationError

import schemas
from schemas.arrfiling import ArrFiling
from schemas.generate import schema_document
from tests.filings.conftest import submission
from tests.filings.oracle import ARRFILING, examples, official_errors

SHIPPED = Path(schemas.__file__).parent / "json" / "ArrFiling" / "v0.5" / "schema.json"
pytestmark = pytest.mark.skipif(
    not ARRFILING.is_dir(), reason="../shared is not here: the official schema is the oracle"
)


def test_every_official_example_reads_and_writes_back_valid():
    for example in examples():
        assert official_errors(example) == []
        model = ArrFiling.read(example)
        written = model.wire()
        assert official_errors(written) == [], example["id"]
        assert written["fiscalYears"] == example["fiscalYears"]
        assert written["filingId"] == example["filingId"]


def test_an_unfiled_line_item_keeps_its_null_amount():
    example = examples()[0]
    unfiled = [i for y in example["fiscalYears"] for i in y["lineItems"] if i["amount"] is None]
    assert unfiled, "the oracle's example has items not filed"
    written = ArrFiling.model_validate(example).wire()
    assert sum(i["amount"] is None for y in written["fiscalYears"] for i in y["lineItems"]) == len(
        unfiled
    )


def test_the_inbox_test_filing_is_valid_as_sent():
    document = submission()["arrFiling"]
    assert official_errors(document) == []
    assert official_errors(ArrFiling.model_validate(document).wire()) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("objectType",), "FILING"),
        (("currency",), "USD"),
        (("unitScale",), "THOUSAND"),
        (("filingType",), "DRAFTED"),
        (("fiscalYears",), []),
        (("fiscalYears", 0, "amountBasis"), "GUESSED"),
        (("fiscalYears", 0, "lineItems", 0, "category"), "COST"),
        (("fiscalYears", 0, "lineItems", 0, "amount"), "12"),
    ],
)
def test_the_model_refuses_what_the_official_schema_refuses(path, value):
    document = copy.deepcopy(examples()[1])
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert official_errors(document) != []
    with pytest.raises(ValidationError):
        ArrFiling.read(document)


@pytest.mark.parametrize("member", ["filingId", "licensee", "regulatoryCommission", "fiscalYears"])
def test_a_required_member_missing_is_refused_by_both(member):
    document = copy.deepcopy(examples()[0])
    del document[member]
    assert official_errors(document) != []
    with pytest.raises(ValidationError):
        ArrFiling.read(document)


amounts = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=32))


@given(st.lists(amounts, min_size=1, max_size=6))
def test_any_amounts_the_model_takes_are_written_valid(values):
    document = submission()["arrFiling"]
    document["fiscalYears"][0]["lineItems"] = [
        {"lineItemId": f"item-{n}", "category": "FIXED", "head": f"Item {n}", "amount": v}
        for n, v in enumerate(values)
    ]
    assert official_errors(ArrFiling.model_validate(document).wire()) == []


def _ours() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SHIPPED.read_text()), format_checker=FormatChecker())


def test_the_shipped_schema_is_what_the_model_generates():
    assert SHIPPED.read_text() == json.dumps(schema_document("ArrFiling/v0.5"), indent=2) + "\n"


def test_our_schema_accepts_the_official_examples_and_what_the_desk_sends():
    for example in [*examples(), submission()["arrFiling"]]:
        assert list(_ours().iter_errors(example)) == []


@pytest.mark.parametrize("member", ["objectType", "filingId", "currency", "unitScale"])
def test_our_schema_refuses_what_the_official_refuses(member):
    document = copy.deepcopy(examples()[1])
    del document[member]
    assert official_errors(document) != []
    assert list(_ours().iter_errors(document)) != []
    document = copy.deepcopy(examples()[1])
    document["fiscalYears"][0]["lineItems"][0]["amount"] = "12"
    assert official_errors(document) != []
    assert list(_ours().iter_errors(document)) != []
