"""What the P2P platform makes of a prosumer's DERCredential when it onboards (issue 16).

The platform's rule on selling, written down once:

* A prosumer may show, in the one presentation that carries its ElectricityCredential,
  the DERCredential(s) its discom issued when it connected the DER. Each is verified by
  the platform's own verifier (the issuer's did:web key, the operator's trust registry
  authorising that issuer for ``DERCredential``, validity, neither revoked nor
  suspended) and must be bound to the same consumer as the ElectricityCredential:
  issued to the presentation's holder, by the discom that issued the passport, in its
  state, for a DER the registry holds under a connection of that consumer. A
  DERCredential that fails any of this refuses the onboarding (nothing is issued): a
  prosumer showing a bad one is not quietly downgraded to an unverified seller.
* With verified DERs the trading permission is ``exportBasis: verified_der``: it names
  the DERs, its ``maxExport`` is their certified capacity (a lower declaration is
  kept, a higher one refused) and the metering scheme is the credentials' (another
  declared scheme is refused). The state's pack then judges each trade against that
  capacity and scheme (P2P-003, P2P-006, P2P-009).
* Without a DERCredential the prosumer's own declaration stands
  (``exportBasis: declared``; 0 kW and ``none`` when it declares nothing, i.e. a buyer):
  the pack bounds it by the sanctioned load and per block, and settlement against the
  discom's meter data charges whatever it did not deliver as a deviation.

Pure but for :func:`registry_problems`, which asks the registry (its public identity
reads) where the DER and its connection sit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from credentials.verify import PresentationVerdict
from credentials.verify import Verdict as CredentialVerdict

DER_CREDENTIAL = "DERCredential"
# The DERCredential's schemes, as the packs' ``metering_scheme`` names them.
SCHEMES = {"NET_METERING": "net_metering", "NET_BILLING": "net_billing",
           "GROSS_METERING": "gross_metering"}  # fmt: skip
_TO_KW = {"W": 0.001, "kW": 1.0, "MW": 1000.0}


@dataclass(frozen=True, slots=True)
class VerifiedDer:
    """One DER a verified DERCredential vouches for."""

    der_id: str
    connection_id: str
    credential_id: str
    issuer: str
    capacity_kw: float
    scheme: str  # NET_METERING, NET_BILLING or GROSS_METERING

    def permitted(self) -> dict[str, Any]:
        """The permission's ``ders`` entry (schemas.credentials.PermittedDer)."""
        return {"derId": self.der_id, "credential": self.credential_id, "issuer": self.issuer,
                "capacity": {"value": self.capacity_kw, "unit": "kW"},
                "scheme": self.scheme}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExportTerms:
    """What the prosumer may sell, and on what basis; ``problems`` if it may not onboard."""

    capacity_kw: float
    scheme: str  # the packs' metering_scheme
    basis: str  # "verified_der" | "declared"
    ders: tuple[VerifiedDer, ...] = ()
    problems: list[str] = field(default_factory=list)


def _types(credential: Mapping[str, Any] | None) -> list[str]:
    kinds = (credential or {}).get("type")
    return [kinds] if isinstance(kinds, str) else [k for k in kinds or [] if isinstance(k, str)]


def der_verdicts(verdict: PresentationVerdict) -> list[CredentialVerdict]:
    """Every credential of the presentation that is, or says it is, a DERCredential
    (by its type list too: one that fails the schema step must not slip through)."""
    return [
        v
        for v in verdict.credentials
        if v.credential_type == DER_CREDENTIAL or DER_CREDENTIAL in _types(v.credential)
    ]


def _kw(value: Any) -> float | None:
    if not isinstance(value, dict) or isinstance(value.get("value"), bool):
        return None
    amount, unit = value.get("value"), value.get("unit")
    if not isinstance(amount, int | float) or unit not in _TO_KW or amount <= 0:
        return None
    return float(amount) * _TO_KW[str(unit)]


def verified_ders(
    verdict: PresentationVerdict, passport_issuer: str, state: str
) -> tuple[list[VerifiedDer], list[str]]:
    """The DERs the presentation's DERCredentials vouch for, and every reason one of
    them cannot be taken (each problem names the credential)."""
    ders: list[VerifiedDer] = []
    problems: list[str] = []
    for found in der_verdicts(verdict):
        credential = found.credential or {}
        name = f"{DER_CREDENTIAL} {credential.get('id', '(no id)')}"
        here = [f"{c.name}: {c.reason}" for c in found.failures if c.name != "holder-binding"]
        subject = credential.get("credentialSubject")
        subject = subject if isinstance(subject, dict) else {}
        if subject.get("id") != verdict.holder:
            here.append(f"issued to {subject.get('id')}, not to the holder {verdict.holder}")
        if found.issuer != passport_issuer:
            here.append(f"issued by {found.issuer}, not by the discom that issued the "
                        f"ElectricityCredential ({passport_issuer})")  # fmt: skip
        claims = subject.get("derConnection")
        claims = claims if isinstance(claims, dict) else {}
        if claims.get("state") != state:
            here.append(f"a DER in {claims.get('state')}, not in {state}")
        capacity = _kw(claims.get("capacity"))
        scheme = claims.get("scheme")
        der_id, connection = claims.get("derId"), claims.get("connectionId")
        if capacity is None:
            here.append("no capacity in kW")
        if scheme not in SCHEMES:
            here.append(f"metering scheme {scheme!r} is not one the packs know")
        if not isinstance(der_id, str) or not isinstance(connection, str):
            here.append("no derId and connectionId")
        if here:
            problems += [f"{name}: {p}" for p in here]
            continue
        assert capacity is not None
        ders.append(VerifiedDer(str(der_id), str(connection), str(credential.get("id")),
                                passport_issuer, capacity, str(scheme)))  # fmt: skip
    return ders, problems


def _current_parents(relations: Any, kind: str, now: datetime) -> set[str]:
    """The parents of ``kind`` an entity sits under now (the registry keeps history)."""
    current: set[str] = set()
    for relation in relations if isinstance(relations, list) else []:
        if not isinstance(relation, dict) or relation.get("parent_type") != kind:
            continue
        start, end = relation.get("valid_from"), relation.get("valid_to")
        try:
            started = start is None or datetime.fromisoformat(str(start)) <= now
            open_ = end is None or datetime.fromisoformat(str(end)) > now
        except ValueError:
            continue
        if started and open_:
            current.add(str(relation.get("parent")))
    return current


def registry_problems(
    registry: httpx.Client, ders: list[VerifiedDer], consumer: str, now: datetime | None = None
) -> list[str]:
    """Each DER is in the registry under its credential's connection, and that connection
    is the ElectricityCredential's consumer's: the two credentials are one consumer's."""
    now = now or datetime.now(UTC)
    problems: list[str] = []
    for der in ders:
        try:
            der_parents = registry.get(f"/identities/{der.der_id}/relations")
            if der_parents.status_code == 404:
                problems.append(f"{DER_CREDENTIAL} {der.credential_id}: the registry holds "
                                f"no {der.der_id}")  # fmt: skip
                continue
            der_parents.raise_for_status()
            if der.connection_id not in _current_parents(der_parents.json(), "connection", now):
                problems.append(f"{DER_CREDENTIAL} {der.credential_id}: the registry does not "
                                f"hold {der.der_id} under {der.connection_id}")  # fmt: skip
                continue
            owners = registry.get(f"/identities/{der.connection_id}/relations")
            owners.raise_for_status()
            holders = _current_parents(owners.json(), "consumer", now)
        except (httpx.HTTPError, ValueError) as exc:
            problems.append(f"{DER_CREDENTIAL} {der.credential_id}: the registry could not "
                            f"answer ({exc})")  # fmt: skip
            continue
        if consumer not in holders:
            owner = ", ".join(sorted(holders)) or "nobody"
            problems.append(
                f"{DER_CREDENTIAL} {der.credential_id}: {der.der_id} is on connection "
                f"{der.connection_id} of {owner}, not of {consumer} (the "
                "ElectricityCredential's consumer)"
            )
    return problems


def export_terms(
    ders: list[VerifiedDer], declared_kw: float | None, declared_scheme: str | None
) -> ExportTerms:
    """The platform's rule on what a prosumer may sell (module docstring)."""
    if not ders:
        return ExportTerms(declared_kw or 0.0, declared_scheme or "none", "declared")
    certified = round(sum(d.capacity_kw for d in ders), 6)
    schemes = sorted({SCHEMES[d.scheme] for d in ders})
    problems: list[str] = []
    if declared_kw is not None and declared_kw > certified:
        problems.append(f"declares {declared_kw} kW to sell; the DERCredentials certify "
                        f"{certified} kW")  # fmt: skip
    if len(schemes) > 1:
        problems.append(f"the DERs are metered under different schemes: {schemes}")
    if declared_scheme is not None and declared_scheme not in schemes:
        problems.append(f"declares {declared_scheme}; the DERCredentials say {schemes}")
    capacity = certified if declared_kw is None else min(declared_kw, certified)
    return ExportTerms(capacity, schemes[0], "verified_der", tuple(ders), problems)
