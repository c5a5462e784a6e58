"""The kit's pure parts: key matching across DID encodings, the slice judge, reports."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from registry.directory.didweb import multibase
from sandbox.conformance.checks_beckn import _method_key
from sandbox.conformance.checks_consent import DataSubject, _finer_than_a_day, slice_problems
from sandbox.conformance.model import Evidence, Item, Outcome, Report, Status, ok
from sandbox.conformance.reports import html_report, junit_xml, markdown

SUBJECT = DataSubject("http://cm", "CON-1", "M1", date(2026, 1, 1), 7, "IN-MH")


@given(st.binary(min_size=32, max_size=32))
def test_a_multibase_key_and_its_jwk_compare_equal(raw: bytes) -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519",
           "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}  # fmt: skip
    as_multibase = {"publicKeyMultibase": multibase(b"\xed\x01", raw)}
    assert _method_key(as_multibase) == _method_key({"publicKeyJwk": jwk})


@given(st.integers(min_value=1, max_value=23), st.sampled_from(["H", "M"]))
def test_sub_daily_durations_are_finer_than_a_day(n: int, unit: str) -> None:
    assert _finer_than_a_day(f"PT{n}{unit}")


def test_a_day_or_more_is_not_finer() -> None:
    assert not any(_finer_than_a_day(d) for d in ("P1D", "PT24H", "P1M", "P7D", ""))


def _interval(duration: str, count: int, meter: str = "M1", flow: str = "IMPORT") -> list[dict]:
    return [
        {"profileType": "DESCRIPTOR", "payloadDescriptorSets": [
            {"payloadDescriptors": [{"readingType": "kWh", "flowDirection": flow}]}]},
        {"profileType": "INTERVAL", "meterRefs": [{"value": meter}],
         "intervalPeriod": {"duration": duration}, "intervals": [{"id": i} for i in range(count)]},
    ]  # fmt: skip


def test_the_consented_slice_passes_and_every_excess_is_named() -> None:
    assert slice_problems(_interval("P1D", 7), SUBJECT) == []
    assert slice_problems(_interval("PT15M", 7), SUBJECT)
    assert slice_problems(_interval("P1D", 8), SUBJECT)
    assert slice_problems(_interval("P1D", 7, meter="M2"), SUBJECT)
    assert slice_problems(_interval("P1D", 7, flow="EXPORT"), SUBJECT)
    assert slice_problems([{"profileType": "BILLING"}], SUBJECT)


def test_every_report_has_one_row_per_item_with_clause_and_evidence() -> None:
    item = Item("x.one", ("bpp",), "one", "IES 10", lambda s: ok("fine"))
    failed = Item("x.two", ("bpp",), "two <b>", "IES 3", lambda s: ok("fine"))
    evidence = [Evidence("sent", "POST /discover", "HTTP 401", "BLAKE-512=abc")]
    report = Report("http://t", "bpp", "t.example", "2026-01-01T00:00:00+00:00", 1.0, [
        Outcome(item, Status.PASS, "fine", 0.1),
        Outcome(failed, Status.FAIL, "NACK 40103", 0.2, evidence),
    ])  # fmt: skip
    suite = ET.fromstring(junit_xml(report))
    assert suite.get("tests") == "2"
    assert suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert cases[1].find("failure") is not None
    assert "BLAKE-512=abc" in (cases[1].find("failure").text or "")  # type: ignore[union-attr]
    assert json.loads(json.dumps(report.to_dict()))["summary"]["fail"] == 1
    assert "| `x.two` | two <b> | IES 3 | **fail** |" in markdown(report)
    assert "two &lt;b&gt;" in html_report(report)
