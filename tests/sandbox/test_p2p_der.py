"""The P2P platform's rule on what a prosumer may sell (``sandbox.participants.p2p_der``):
the DERCredential's bindings to the passport's consumer, and the export terms.

The verification itself (signature, trust registry, status) is the real verifier's:
the sandbox's end-to-end run presents revoked, altered and untrusted DERCredentials to
the running platform (``test_der_onboarding``); here the verdicts are built by hand to
pin down what the platform does with each claim.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credentials.verify import PresentationVerdict, Verdict
from sandbox.participants.p2p_der import VerifiedDer, export_terms, verified_ders

HOLDER = "did:key:z6MkProsumer"
DISCOM = "did:web:discom-mh.sandbox.ies.local"
CHECKS = ("format", "jsonld", "schema", "proof", "issuer", "validity", "status")


def der(*, holder: str = HOLDER, issuer: str = DISCOM, failed: str = "", **claims: Any) -> Verdict:
    """The verifier's verdict on a DERCredential (checks passed but ``failed``)."""
    connection = {
        "derId": "DER-1", "connectionId": "CNX-1", "state": "IN-MH",
        "capacity": {"value": 5.0, "unit": "kW"}, "scheme": "NET_METERING", **claims,
    }  # fmt: skip
    credential = {
        "id": "urn:uuid:der", "type": ["VerifiableCredential", "DERCredential"],
        "issuer": {"id": issuer}, "credentialSubject": {"id": holder, "derConnection": connection},
    }  # fmt: skip
    verdict = Verdict(credential=credential, credential_type="DERCredential", issuer=issuer)
    for name in CHECKS:
        verdict.add(name, name != failed, f"{name} {'failed' if name == failed else 'ok'}")
    return verdict


def shown(*credentials: Verdict) -> PresentationVerdict:
    return PresentationVerdict(holder=HOLDER, credentials=list(credentials))


def test_a_genuine_der_of_the_holder_from_the_passports_discom_is_taken() -> None:
    ders, problems = verified_ders(shown(der()), DISCOM, "IN-MH")
    assert problems == []
    assert ders == [VerifiedDer("DER-1", "CNX-1", "urn:uuid:der", DISCOM, 5.0, "NET_METERING")]


@pytest.mark.parametrize(
    ("verdict", "says"),
    [
        (der(failed="status"), "status: status failed"),
        (der(failed="proof"), "proof: proof failed"),
        (der(failed="issuer"), "issuer: issuer failed"),
        (der(holder="did:key:z6MkSomeoneElse"), "not to the holder"),
        (der(issuer="did:web:discom-ka.sandbox.ies.local"), "not by the discom"),
        (der(state="IN-KA"), "not in IN-MH"),
        (der(capacity={"value": 5000, "unit": "Wh"}), "no capacity in kW"),
        (der(scheme="FEED_IN"), "metering scheme"),
        (der(derId=None), "no derId"),
    ],
)
def test_a_der_credential_that_fails_or_is_not_the_consumers_is_refused(
    verdict: Verdict, says: str
) -> None:
    ders, problems = verified_ders(shown(verdict), DISCOM, "IN-MH")
    assert ders == []
    assert any(says in p for p in problems), problems
    assert all(p.startswith("DERCredential urn:uuid:der: ") for p in problems)


def test_a_credential_claiming_to_be_a_der_credential_is_judged_as_one() -> None:
    """One that failed the schema step has no credential_type: still judged, not skipped."""
    verdict = der(failed="schema")
    verdict.credential_type = None
    _ders, problems = verified_ders(shown(verdict), DISCOM, "IN-MH")
    assert any("schema: schema failed" in p for p in problems)


def test_without_a_der_credential_the_declaration_stands() -> None:
    assert export_terms([], None, None) == export_terms([], 0.0, "none")
    terms = export_terms([], 2.0, "net_billing")
    assert (terms.capacity_kw, terms.scheme, terms.basis, terms.problems) == (
        2.0, "net_billing", "declared", [])  # fmt: skip


def _der(kw: float, scheme: str = "NET_BILLING") -> VerifiedDer:
    return VerifiedDer(f"DER-{kw}", "CNX-1", f"urn:uuid:{kw}", DISCOM, kw, scheme)


def test_with_der_credentials_the_capacity_and_scheme_are_theirs() -> None:
    terms = export_terms([_der(3.0), _der(2.0)], None, None)
    assert (terms.capacity_kw, terms.scheme, terms.basis) == (5.0, "net_billing", "verified_der")
    assert export_terms([_der(5.0)], 8.0, None).problems == [
        "declares 8.0 kW to sell; the DERCredentials certify 5.0 kW"
    ]
    assert export_terms([_der(5.0)], None, "net_metering").problems == [
        "declares net_metering; the DERCredentials say ['net_billing']"
    ]
    mixed = export_terms([_der(3.0), _der(2.0, "NET_METERING")], None, None)
    assert mixed.problems == [
        "the DERs are metered under different schemes: ['net_billing', 'net_metering']"
    ]


@given(
    capacities=st.lists(st.integers(1, 2000).map(lambda n: n / 10), min_size=1, max_size=4),
    declared=st.one_of(st.none(), st.integers(0, 10_000).map(lambda n: n / 10)),
)
def test_a_verified_permission_never_exceeds_the_certified_capacity(
    capacities: list[float], declared: float | None
) -> None:
    terms = export_terms([_der(kw) for kw in capacities], declared, None)
    certified = round(sum(capacities), 6)
    assert terms.basis == "verified_der"
    if declared is not None and declared > certified:
        assert terms.problems  # refused, never silently capped
    else:
        assert terms.problems == []
        assert terms.capacity_kw <= certified
        assert terms.capacity_kw == (certified if declared is None else declared)
