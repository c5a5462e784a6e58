"""DER onboarding's decision: the credential rules on the real verifier's verdicts
(papers issued, revoked and suspended by real issuers, presentations signed by a real
wallet: ``der_papers``), the rules on the claims themselves (pure verdicts, where the
signature is not what is tested), the policy input, the verdict, and the
hosting-capacity boundary through the signed packs.

The boundary test adds DERs to one DT one by one, as the desk does (each approval
raises ``connected_der_kw``), until the DT is full: every approval must fit under the
lower of the pack's share of the rating and the registry's recorded hosting capacity
(or be small enough to be exempt), and every refusal must be DER-007 exactly when it
does not.
"""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.codecs import b64u
from credentials.proofs import read_jwt
from credentials.verify import PresentationVerdict, Verdict
from policy_packs import SHIPPED_KEYRING, SHIPPED_PACKS, EmbeddedEngine, FileKeyring, load_catalogue
from protocol.der.decision import decide, policy_input
from protocol.der.models import Application, ConnectionFacts, Outcome
from protocol.der.rules import Findings, check_credentials
from protocol.der.service import PackPolicy
from tests.protocol.der_papers import DISCOM_DID, DISCOM_HOST, LAB_DID, Papers

DISCOM = "did:web:discom-mh.sandbox.ies.local"
INSTALLER = "did:web:installer.sandbox.ies.local"
HOLDER = "did:key:z6MkConsumer"
AS_OF = dt.date(2026, 6, 1)
CHECKS = ("format", "jsonld", "schema", "proof", "issuer", "validity", "status")


@pytest.fixture(scope="module")
def policy() -> PackPolicy:
    return PackPolicy(load_catalogue(SHIPPED_PACKS, FileKeyring(SHIPPED_KEYRING)), EmbeddedEngine())


def application(capacity: float = 5.0, scheme: str = "net_metering") -> Application:
    return Application.model_validate({
        "@context": "https://ies-stack.org/schemas/DERConnectionApplication/v1.0/context.jsonld",
        "@type": "DERConnectionApplication",
        "der": {"type": "solar_pv", "capacityKw": capacity}, "scheme": scheme,
        "equipment": [{"assetType": "INVERTER", "serialNumber": "INV-1"},
                      {"assetType": "SOLAR_PV", "serialNumber": "PVM-1"}],
        "meter": {"serialNumber": "BM-1", "manufacturer": "SBX", "model": "m", "phase": 3},
        "commissioningDate": "2026-06-01", "presentation": {},
    })  # fmt: skip


def credential(kind: str, issuer: str, subject: dict[str, object], failed: str = "") -> Verdict:
    verdict = Verdict(credential={"type": ["VerifiableCredential", kind], "issuer": issuer,
                                  "credentialSubject": subject},
                      credential_type=kind, issuer=issuer)  # fmt: skip
    for name in CHECKS:
        verdict.add(name, name != failed, f"{name} {'failed' if name == failed else 'ok'}")
    return verdict


def licence(failed: str = "", states: tuple[str, ...] = ("IN-MH",)) -> Verdict:
    return credential("InstallerLicenceCredential", "did:web:nodal-agency", {
        "id": INSTALLER, "installerLicence": {"licenceNumber": "L-1", "states": list(states),
                                              "assetTypes": ["SOLAR_PV", "INVERTER"]}},
        failed)  # fmt: skip


def certificate(kind: str, serial: str, kw: float, failed: str = "") -> Verdict:
    standards = {"INVERTER": ["IEC 61727", "IEC 62116", "IEC 62109-1"],
                 "SOLAR_PV": ["IEC 61215", "IEC 61730"]}[kind]  # fmt: skip
    return credential("AssetCertificationCredential", "did:web:lab", {
        "id": f"urn:ies:equipment:{serial}", "assetCertification": {
            "assetType": kind, "serialNumber": serial, "result": "pass", "standards": standards,
            "ratedPower": {"value": kw, "unit": "kW"}}}, failed)  # fmt: skip


def presentation(*credentials: Verdict, consent: bool = True) -> PresentationVerdict:
    verdict = PresentationVerdict(holder=HOLDER, credentials=list(credentials))
    verdict.add("format", True, "Data Integrity")
    verdict.add("holder-proof", consent, "signature")
    verdict.add("domain", True, "made for the discom")
    verdict.add("challenge", True, "fresh")
    return verdict


def passport(issuer: str = DISCOM) -> Verdict:
    return credential("ElectricityCredential", issuer,
                      {"id": HOLDER, "customerProfile": {"customerNumber": "CON-1"}})  # fmt: skip


def findings(*credentials: Verdict, consent: bool = True, capacity: float = 5.0) -> Findings:
    return check_credentials(presentation(*credentials, consent=consent), application(capacity),
                             discom_did=DISCOM, state="IN-MH", sender_did=INSTALLER)  # fmt: skip


def kit() -> list[Verdict]:
    return [passport(), licence(), certificate("INVERTER", "INV-1", 5.0),
            certificate("SOLAR_PV", "PVM-1", 5.4)]  # fmt: skip


def failed_codes(found: Findings) -> set[str]:
    return {o.code for o in found.outcomes if not o.passed}


def real_findings(papers: Papers, *credentials: str, consent: bool = True) -> Findings:
    """The credential rules on the real verifier's verdict on the wallet's presentation
    (made for the discom's domain; ``consent=False``: for another verifier's)."""
    domain = DISCOM_HOST
    presentation = papers.present(list(credentials), domain if consent else "bank.example")
    verdict = papers.service.verify_presentation(presentation, domain)
    return check_credentials(verdict, application(), discom_did=DISCOM_DID,
                             state="IN-MH", sender_did=INSTALLER)  # fmt: skip


def real_kit(papers: Papers, licence_status: str | None = None) -> list[str]:
    """Genuine papers from the issuers trusted for them (the licence revoked or
    suspended by the agency when ``licence_status``)."""
    return [papers.passport("CON-1"), papers.licence(INSTALLER, licence_status),
            papers.certificate("INVERTER", "INV-1", 5.0),
            papers.certificate("SOLAR_PV", "PVM-1", 5.4)]  # fmt: skip


def _altered(jwt: str) -> str:
    """The certificate's rated power raised, the signature left as it was."""
    header, _payload, signature = jwt.split(".")
    claims = read_jwt(jwt).payload
    claims["credentialSubject"]["assetCertification"]["ratedPower"]["value"] = 500.0
    return ".".join([header, b64u(json.dumps(claims).encode()), signature])


def message(found: Findings, code: str) -> str:
    return next(o.message for o in found.outcomes if o.code == code)


def test_real_papers_pass_every_credential_rule_for_this_discom_only(
    real_papers: Papers,
) -> None:
    kit_ = real_kit(real_papers)
    found = real_findings(real_papers, *kit_)
    assert found.passed, [o.message for o in found.outcomes if not o.passed]
    assert found.consumer_id == "CON-1"
    assert found.inverter_kw == 5.0
    # The same papers in a presentation the wallet made for another verifier: no consent.
    found = real_findings(real_papers, *kit_, consent=False)
    assert failed_codes(found) == {"DERAPP-001"}
    assert "made for domain 'bank.example'" in message(found, "DERAPP-001")


def test_a_revoked_or_suspended_licence_is_refused(real_papers: Papers) -> None:
    passport, _licence, *certificates = real_kit(real_papers)
    for status in ("revoked", "suspended"):
        licence_ = real_papers.licence(INSTALLER, status)
        found = real_findings(real_papers, passport, licence_, *certificates)
        assert failed_codes(found) == {"DERAPP-003"}, status
        assert f"status: {status}" in message(found, "DERAPP-003")


def test_papers_from_issuers_not_trusted_for_them_or_altered_are_refused(
    real_papers: Papers,
) -> None:
    passport, licence_, inverter, module = real_kit(real_papers)
    # A licence from the lab, which the operator trusts for certificates only.
    found = real_findings(real_papers, passport, real_papers.licence(INSTALLER, issuer=LAB_DID),
                          inverter, module)  # fmt: skip
    assert failed_codes(found) == {"DERAPP-003"}
    assert "not authorised to issue InstallerLicenceCredential" in message(found, "DERAPP-003")
    # An inverter certificate from the discom, trusted for passports and DERs only.
    untrusted = real_papers.certificate("INVERTER", "INV-1", 5.0, issuer=DISCOM_DID)
    found = real_findings(real_papers, passport, licence_, untrusted, module)
    assert failed_codes(found) == {"DERAPP-004", "DERAPP-005"}  # and no inverter counted
    assert "not authorised to issue AssetCertificationCredential" in message(found, "DERAPP-004")
    # The genuine certificate with its rated power raised after signing.
    found = real_findings(real_papers, passport, licence_, _altered(inverter), module)
    assert "DERAPP-004" in failed_codes(found)
    assert "proof: the vc+jwt signature does not verify" in message(found, "DERAPP-004")


def test_a_licence_for_another_state_or_another_installer_is_refused() -> None:
    papers = kit()
    papers[1] = licence(states=("IN-KA",))
    assert failed_codes(findings(*papers)) == {"DERAPP-003"}
    found = check_credentials(presentation(*kit()), application(), discom_did=DISCOM,
                              state="IN-MH", sender_did="did:web:someone-else")  # fmt: skip
    assert failed_codes(found) == {"DERAPP-003"}


def test_a_certificate_for_another_serial_or_missing_is_refused() -> None:
    papers = kit()
    papers[3] = certificate("SOLAR_PV", "PVM-OTHER", 5.4)
    assert failed_codes(findings(*papers)) == {"DERAPP-004"}


def test_capacity_above_the_certified_inverter_is_refused() -> None:
    assert failed_codes(findings(*kit(), capacity=6.0)) == {"DERAPP-005"}


def test_a_passport_from_another_discom_or_an_unsigned_presentation_is_refused() -> None:
    papers = kit()
    papers[0] = passport("did:web:discom-ka.sandbox.ies.local")
    assert "DERAPP-002" in failed_codes(findings(*papers))
    assert "DERAPP-001" in failed_codes(findings(*kit(), consent=False))


def facts(connected: float = 0.0, hosting: float | None = 75.0, load: float = 80.0,
          category: str = "industrial") -> ConnectionFacts:  # fmt: skip
    return ConnectionFacts(
        consumer_id="CON-1", connection_id="CNX-1", category=category, sanctioned_load_kw=load,
        phase="three", transformer_id="DTR-1", rating_kva=250.0, hosting_capacity_kw=hosting,
        connected_der_kw=connected,
    )  # fmt: skip


def test_the_verdict_explains_every_rule_of_both_sets(policy: PackPolicy) -> None:
    decision, rules = policy.decide("IN-MH", policy_input(application(), facts()), AS_OF)
    verdict = decide(findings(*kit()), decision, rules)
    assert verdict.outcome is Outcome.APPROVED
    codes = [r.code for r in verdict.rules]
    assert codes[:5] == ["DERAPP-001", "DERAPP-002", "DERAPP-003", "DERAPP-004", "DERAPP-005"]
    assert {f"DER-00{n}" for n in range(8)} <= set(codes)
    assert all(r.clause for r in verdict.rules)
    assert verdict.pack == "in-mh@2.0.0"


def test_credentials_reject_and_the_pack_asks_for_changes(policy: PackPolicy) -> None:
    papers = kit()
    papers[1] = licence("status")
    decision, rules = policy.decide("IN-MH", policy_input(application(), facts()), AS_OF)
    assert decide(findings(*papers), decision, rules).outcome is Outcome.REJECTED
    over = policy_input(application(5.0), facts(load=3.0, category="domestic"))
    decision, rules = policy.decide("IN-MH", over, AS_OF)
    verdict = decide(findings(*kit()), decision, rules)
    assert verdict.outcome is Outcome.CHANGES_REQUESTED
    assert [r.code for r in verdict.refused_by] == ["DER-003"]
    net_billing = policy_input(
        application(3.0, "net_billing"), facts(load=6.0, category="domestic")
    )
    decision, rules = policy.decide("IN-MH", net_billing, AS_OF)
    assert [v.code for v in decision.violations] == ["DER-005"]
    assert decide(findings(*kit()), None).outcome is Outcome.CHANGES_REQUESTED  # never approves


EXEMPT_KW = 10  # both packs: systems up to 10 kW skip the DT check


@settings(max_examples=40, deadline=None)
@given(
    jurisdiction=st.sampled_from(["IN-MH", "IN-KA"]),
    hosting=st.one_of(st.none(), st.integers(20, 400).map(float)),
    sizes=st.lists(st.integers(2, 120).map(lambda half: half / 2), min_size=1, max_size=30),
)
def test_the_dt_fills_one_der_at_a_time_and_refuses_at_the_boundary(
    policy: PackPolicy, jurisdiction: str, hosting: float | None, sizes: list[float]
) -> None:
    share = {"IN-MH": Fraction(70, 100), "IN-KA": Fraction(80, 100)}[jurisdiction]
    limit = share * 250 if hosting is None else min(share * 250, Fraction(hosting))
    connected = Fraction(0)

    def add(size: float) -> bool:
        nonlocal connected
        document = policy_input(application(size), facts(float(connected), hosting, load=1000.0))
        decision, _ = policy.decide(jurisdiction, document, AS_OF)
        fits = connected + Fraction(size) <= limit or size <= EXEMPT_KW
        assert decision.allow == fits, (connected, size, limit, decision.violations)
        if not fits:
            assert [v.code for v in decision.violations] == ["DER-007"]
        else:
            connected += Fraction(size)
        return fits

    for size in sizes:
        add(size)
    if limit - connected >= 1:  # fill it exactly: the last kilowatt fits
        assert add(float(limit - connected))
        assert connected == limit
    assert not add(11.0)  # full: the smallest system the check applies to is refused


def test_the_last_kilowatt_fits_exactly_and_one_more_does_not(policy: PackPolicy) -> None:
    """75 kW recorded for a 250 kVA DT (MH: 70 % = 175 kW): the registry's figure governs."""
    at_limit = policy_input(application(15.0), facts(connected=60.0))
    assert policy.decide("IN-MH", at_limit, AS_OF)[0].allow
    past = policy_input(application(15.5), facts(connected=60.0))
    decision, _ = policy.decide("IN-MH", past, AS_OF)
    assert [v.code for v in decision.violations] == ["DER-007"]
    unrecorded = policy_input(application(15.5), facts(connected=60.0, hosting=None))
    assert policy.decide("IN-MH", unrecorded, AS_OF)[0].allow  # 175 kW by the rating share
