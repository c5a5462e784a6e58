"""The credential rules of a DER connection application (pure).

The state's policy pack judges technical feasibility and the scheme (DER-000..007,
``der_connection``); what it cannot see is whether the papers are genuine. These rules
read the verifier's verdict on the one presentation the consumer signed and say, each
with the instrument it stands for, whether the consumer, the installer and every piece
of equipment are who and what the application claims.

Standards and citations are sandbox parameters, as in the packs: confirm them against
the gazetted texts before production use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from credentials.verify import PresentationVerdict
from credentials.verify import Verdict as CredentialVerdict
from protocol.der.models import Application, RuleOutcome

SOURCE = "protocol.der"

# The standards an equipment certificate must list, per asset type.
REQUIRED_STANDARDS: dict[str, frozenset[str]] = {
    # Grid interface and anti-islanding (IS 16169), inverter safety (IS 16221).
    "INVERTER": frozenset({"IEC 61727", "IEC 62116", "IEC 62109-1"}),
    # Module design qualification (IS 14286) and safety (IS/IEC 61730).
    "SOLAR_PV": frozenset({"IEC 61215", "IEC 61730"}),
    # Safety of secondary lithium cells and batteries for industrial use (IS 16805).
    "BESS": frozenset({"IEC 62619"}),
}
# What must be on the list, per DER type.
REQUIRED_EQUIPMENT: dict[str, frozenset[str]] = {
    "solar_pv": frozenset({"INVERTER", "SOLAR_PV"}),
    "solar_pv_with_storage": frozenset({"INVERTER", "SOLAR_PV", "BESS"}),
}


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    intent: str
    clause: str

    def outcome(self, passed: bool, message: str) -> RuleOutcome:
        return RuleOutcome(code=self.code, passed=passed, message=message, intent=self.intent,
                           clause=self.clause, source=SOURCE)  # fmt: skip


CONSENT = Rule(
    "DERAPP-001",
    "The consumer signs the application's presentation for this discom, with its "
    "one-time challenge: their consent to the installer applying on their behalf.",
    "Digital Personal Data Protection Act, 2023, s. 6 (consent by clear affirmative action); "
    "Electricity (Rights of Consumers) Rules, 2020, r. 11 (consumer as prosumer)",
)
CONSUMER = Rule(
    "DERAPP-002",
    "The applicant is this discom's consumer of record: an ElectricityCredential the "
    "discom issued, valid and unrevoked, held by the consumer who signed.",
    "Electricity (Rights of Consumers) Rules, 2020, r. 11 (the prosumer's own connection)",
)
INSTALLER = Rule(
    "DERAPP-003",
    "The installer holds a licence from an issuer the directory trusts for installer "
    "licences, valid, neither revoked nor suspended, covering this state and the asset "
    "types, and is the participant that sent the application.",
    "MNRE Rooftop Solar Programme Phase II guidelines (installation by vendors empanelled "
    "by the state nodal agency); the state's rooftop regulation (empanelled installers)",
)
EQUIPMENT = Rule(
    "DERAPP-004",
    "Every inverter, PV module and battery listed carries a genuine certificate from an "
    "issuer the directory trusts for equipment certificates, unrevoked, for that serial "
    "number and asset type, passed against the standards its type requires.",
    "CEA (Technical Standards for Connectivity of the Distributed Generation Resources) "
    "Regulations, 2013, as amended 2019 (inverter standards IEC 61727, IEC 62116); Solar "
    "PV Systems, Devices and Components Goods (Requirements for Compulsory Registration) "
    "Order, 2017 (BIS: IS 14286, IS/IEC 61730, IS 16169, IS 16221)",
)
RATINGS = Rule(
    "DERAPP-005",
    "The capacity applied for is within the certified inverters' rated power, and the "
    "storage within the certified batteries' capacity.",
    "CEA (Technical Standards for Connectivity of the Distributed Generation Resources) "
    "Regulations, 2013, as amended 2019 (capacity as the inverter's rated AC output)",
)
RESUBMISSION = Rule(
    "DERAPP-006",
    "A resubmission continues an application the same installer made that was refused "
    "or sent back for changes; an approved or unknown one cannot be resubmitted.",
    "Electricity (Rights of Consumers) Rules, 2020, r. 11 (the licensee's decision on a "
    "prosumer's application, with reasons)",
)
METER = Rule(
    "DERAPP-007",
    "The bidirectional meter fitted is a new one: its serial names no meter the registry "
    "already holds.",
    "CEA (Installation and Operation of Meters) Regulations, 2006, as amended 2019 (one "
    "meter, one identity; net meters for prosumers)",
)
RULES = (CONSENT, CONSUMER, INSTALLER, EQUIPMENT, RATINGS, RESUBMISSION, METER)


@dataclass
class Findings:
    """The credential rules' outcomes and what the credentials established."""

    outcomes: list[RuleOutcome] = field(default_factory=list)
    consumer_id: str | None = None
    inverter_kw: float = 0.0
    storage_kwh: float = 0.0

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)


def _types(credential: dict[str, Any] | None) -> list[str]:
    kinds = (credential or {}).get("type")
    return [kinds] if isinstance(kinds, str) else list(kinds or [])


def _of_type(verdict: PresentationVerdict, kind: str) -> list[CredentialVerdict]:
    return [v for v in verdict.credentials if kind in _types(v.credential)]


def _genuine(one: CredentialVerdict) -> list[str]:
    """Every failed check but holder-binding: a licence or certificate names the installer
    or the equipment, not the consumer who presents it (each rule binds it instead)."""
    return [f"{c.name}: {c.reason}" for c in one.failures if c.name != "holder-binding"]


def _subject(one: CredentialVerdict, claim: str) -> dict[str, Any]:
    subject = (one.credential or {}).get("credentialSubject")
    found = subject.get(claim) if isinstance(subject, dict) else None
    return found if isinstance(found, dict) else {}


def _kw(value: Any) -> float:
    """A QuantitativeValue in kW (W and MW converted); 0 if it is not one."""
    if not isinstance(value, dict) or not isinstance(value.get("value"), int | float):
        return 0.0
    scale = {"W": 0.001, "kW": 1.0, "MW": 1000.0, "kWh": 1.0, "Wh": 0.001, "MWh": 1000.0}
    return float(value["value"]) * scale.get(str(value.get("unit")), 0.0)


def check_credentials(
    verdict: PresentationVerdict,
    application: Application,
    *,
    discom_did: str,
    state: str,
    sender_did: str,
) -> Findings:
    """Each credential rule against the verifier's verdict on the presentation."""
    found = Findings()
    presentation_checks = {c.name: c for c in verdict.checks}
    consent_checks = ("format", "holder-proof", "domain", "challenge")
    failed = [f"{c.name}: {c.reason}" for c in verdict.checks
              if c.name in consent_checks and not c.ok]  # fmt: skip
    missing = [n for n in ("holder-proof", "domain", "challenge") if n not in presentation_checks]
    found.outcomes.append(CONSENT.outcome(
        not failed and not missing,
        "; ".join(failed + [f"{n}: not checked" for n in missing])
        or f"signed by {verdict.holder} for this discom with its challenge",
    ))  # fmt: skip

    found.outcomes.append(_consumer(verdict, found, discom_did))
    found.outcomes.append(_installer(verdict, application, state, sender_did))
    found.outcomes.append(_equipment(verdict, application, found))
    found.outcomes.append(_ratings(application, found))
    return found


def _consumer(verdict: PresentationVerdict, found: Findings, discom_did: str) -> RuleOutcome:
    passports = _of_type(verdict, "ElectricityCredential")
    if len(passports) != 1:
        return CONSUMER.outcome(False, f"{len(passports)} ElectricityCredentials presented, not 1")
    passport = passports[0]
    problems = [f"{c.name}: {c.reason}" for c in passport.failures]
    if passport.issuer != discom_did:
        problems.append(f"issued by {passport.issuer}, not by this discom ({discom_did})")
    profile = _subject(passport, "customerProfile")
    number = profile.get("customerNumber")
    if not isinstance(number, str):
        problems.append("the credential names no customerNumber")
    if problems:
        return CONSUMER.outcome(False, "; ".join(problems))
    found.consumer_id = number
    return CONSUMER.outcome(True, f"consumer {number}, credential issued by this discom")


def _installer(
    verdict: PresentationVerdict, application: Application, state: str, sender_did: str
) -> RuleOutcome:
    licences = _of_type(verdict, "InstallerLicenceCredential")
    if not licences:
        return INSTALLER.outcome(False, "no InstallerLicenceCredential presented")
    problems: list[str] = []
    for licence in licences:
        claims = _subject(licence, "installerLicence")
        subject = (licence.credential or {}).get("credentialSubject") or {}
        here = list(_genuine(licence))
        if subject.get("id") != sender_did:
            here.append(f"licensed to {subject.get('id')}, but {sender_did} sent the application")
        if state not in (claims.get("states") or []):
            here.append(f"the licence does not cover {state}")
        kinds = set(claims.get("assetTypes") or [])
        wanted = {e.asset_type for e in application.equipment} & {"INVERTER", "BESS"}
        if "SOLAR_PV" not in kinds and application.der.type.startswith("solar"):
            here.append("the licence does not cover SOLAR_PV")
        if wanted - kinds:
            here.append(f"the licence does not cover {sorted(wanted - kinds)}")
        if not here:
            number = claims.get("licenceNumber")
            return INSTALLER.outcome(True, f"licence {number} of {licence.issuer}, in force")
        problems += [f"licence from {licence.issuer}: {p}" for p in here]
    return INSTALLER.outcome(False, "; ".join(problems))


def _equipment(
    verdict: PresentationVerdict, application: Application, found: Findings
) -> RuleOutcome:
    certificates = _of_type(verdict, "AssetCertificationCredential")
    by_serial: dict[str, list[CredentialVerdict]] = {}
    for certificate in certificates:
        serial = _subject(certificate, "assetCertification").get("serialNumber")
        if isinstance(serial, str):
            by_serial.setdefault(serial, []).append(certificate)
    problems: list[str] = []
    listed = {e.asset_type for e in application.equipment}
    required = REQUIRED_EQUIPMENT.get(application.der.type, frozenset({"INVERTER"}))
    if required - listed:
        problems.append(f"no {', '.join(sorted(required - listed))} listed")
    for item in application.equipment:
        candidates = by_serial.get(item.serial_number, [])
        if not candidates:
            problems.append(f"{item.asset_type} {item.serial_number}: no certificate presented")
            continue
        certificate = candidates[0]
        claims = _subject(certificate, "assetCertification")
        here = _genuine(certificate)
        if claims.get("assetType") != item.asset_type:
            here.append(f"certifies a {claims.get('assetType')}, not a {item.asset_type}")
        if claims.get("result") != "pass":
            here.append(f"test result {claims.get('result')!r}, not 'pass'")
        lacking = REQUIRED_STANDARDS[item.asset_type] - set(claims.get("standards") or [])
        if lacking:
            here.append(f"not tested against {', '.join(sorted(lacking))}")
        if here:
            problems += [f"{item.asset_type} {item.serial_number}: {p}" for p in here]
            continue
        if item.asset_type == "INVERTER":
            found.inverter_kw += _kw(claims.get("ratedPower"))
        if item.asset_type == "BESS":
            found.storage_kwh += _kw(claims.get("storageCapacity"))
    if problems:
        return EQUIPMENT.outcome(False, "; ".join(problems))
    return EQUIPMENT.outcome(
        True, f"{len(application.equipment)} certificates genuine and in force"
    )


def _ratings(application: Application, found: Findings) -> RuleOutcome:
    asked = application.der
    problems: list[str] = []
    if asked.capacity_kw > found.inverter_kw:
        problems.append(f"{asked.capacity_kw} kW asked, the certified inverters give "
                        f"{found.inverter_kw} kW")  # fmt: skip
    if asked.storage_kwh is not None and asked.storage_kwh > found.storage_kwh:
        problems.append(f"{asked.storage_kwh} kWh of storage asked, the certified batteries "
                        f"hold {found.storage_kwh} kWh")  # fmt: skip
    if problems:
        return RATINGS.outcome(False, "; ".join(problems))
    return RATINGS.outcome(True, f"{asked.capacity_kw} kW within {found.inverter_kw} kW certified")
