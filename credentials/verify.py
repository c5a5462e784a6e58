"""Verification: every check a relying party must make, as one ordered list of steps.

``verify_credential`` reads like the pipeline it is (STYLE.md §4):

1. ``format``      what secures it: VC-JOSE (``vc+jwt``), or a Data Integrity proof
2. ``jsonld``      expands against the shipped contexts only; no term left undefined
3. ``schema``      our JSON Schema of its type
4. ``proof``       the signature, with the key the issuer's DID declared at issuance
5. ``issuer``      the trust registry authorises this issuer for this type
6. ``validity``    validFrom <= now < validUntil
7. ``status``      DeDi revocation registry and Bitstring Status Lists

The verdict is data: every check with its outcome and reason, so a refusal names
everything that is wrong, not just the first thing. Pure: the world is reached
through :mod:`credentials.ports`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from credentials.jsonld import JsonLdInvalid, UnknownContext, expand, undefined_terms
from credentials.keys import PublicKeyInfo
from credentials.ports import KeyNotDeclared, Nonces, Unavailable, VerifierPorts
from credentials.proofs import (
    ProofFormat,
    ProofInvalid,
    credential_hash,
    read_jwt,
    verify_jwt,
    verify_proof,
)
from credentials.statuslist import get_bit
from schemas.credentials import CREDENTIAL_TYPES
from schemas.validation import validate

REVOCATION_REGISTRY = "vc-revocation-registry"
_LOOKUP = re.compile(r"^/dedi/lookup/([^/]+)/([^/]+)/([^/]+)$")
ENVELOPED_PREFIX = "data:application/vc+jwt,"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "reason": self.reason}


@dataclass(slots=True)
class Verdict:
    """The outcome of verifying one credential: ``verified`` only if every check passed."""

    checks: list[Check] = field(default_factory=list)
    format: str | None = None
    credential: dict[str, Any] | None = None
    credential_type: str | None = None
    issuer: str | None = None

    @property
    def verified(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def add(self, name: str, ok: bool, reason: str) -> None:
        self.checks.append(Check(name, ok, reason))

    def failed(self, name: str) -> bool:
        return any(c.name == name and not c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "format": self.format,
            "credentialId": (self.credential or {}).get("id"),
            "credentialType": self.credential_type,
            "issuer": self.issuer,
            "checks": [c.to_dict() for c in self.checks],
            "errors": [f"{c.name}: {c.reason}" for c in self.failures],
        }


def parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def namespace_of(did: str) -> str | None:
    """The directory namespace of a did:web issuer: its host (with port)."""
    if not did.startswith("did:web:"):
        return None
    return unquote(did[len("did:web:") :].split(":")[0]).lower()


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        value = issuer.get("id")
        return value if isinstance(value, str) else None
    return issuer if isinstance(issuer, str) else None


def _types(credential: Mapping[str, Any]) -> list[str]:
    kind = credential.get("type")
    if isinstance(kind, str):
        return [kind]
    return [t for t in kind if isinstance(t, str)] if isinstance(kind, list) else []


# ------------------------------------------------------------------ the steps


@dataclass(frozen=True, slots=True)
class _Secured:
    credential: dict[str, Any]
    proof_format: ProofFormat
    verification_method: str
    token: str | None  # the compact JWS, for VC-JOSE


def _step_format(presented: Any, verdict: Verdict) -> _Secured | None:
    if isinstance(presented, dict) and presented.get("type") == "EnvelopedVerifiableCredential":
        data = presented.get("id")
        if not isinstance(data, str) or not data.startswith(ENVELOPED_PREFIX):
            verdict.add(
                "format", False, f"an enveloped credential's id must be {ENVELOPED_PREFIX}…"
            )
            return None
        presented = data[len(ENVELOPED_PREFIX) :]
    if isinstance(presented, str):
        try:
            parts = read_jwt(presented)
        except ProofInvalid as exc:
            verdict.add("format", False, str(exc))
            return None
        kid = parts.header.get("kid")
        if parts.header.get("typ") != "vc+jwt" or not isinstance(kid, str):
            verdict.add("format", False, "a VC-JOSE credential needs typ vc+jwt and a kid")
            return None
        verdict.add("format", True, f"VC-JOSE ({parts.header.get('alg')})")
        verdict.format = ProofFormat.VC_JWT.value
        return _Secured(parts.payload, ProofFormat.VC_JWT, kid, presented)
    if not isinstance(presented, dict):
        verdict.add("format", False, "neither a credential object nor a vc+jwt")
        return None
    proof = presented.get("proof")
    if not isinstance(proof, dict):
        verdict.add("format", False, "an unsecured credential (no single proof object)")
        return None
    try:
        kind = ProofFormat(str(proof.get("type")))
    except ValueError:
        verdict.add("format", False, f"proof type {proof.get('type')!r} is not accepted")
        return None
    method = proof.get("verificationMethod")
    if kind is ProofFormat.VC_JWT or not isinstance(method, str):
        verdict.add("format", False, "the proof names no verificationMethod")
        return None
    verdict.add("format", True, f"Data Integrity ({kind.value})")
    verdict.format = kind.value
    return _Secured(presented, kind, method, None)


def _step_jsonld(document: Mapping[str, Any], verdict: Verdict, name: str = "jsonld") -> None:
    try:
        expanded = expand(document)
    except UnknownContext as exc:
        verdict.add(name, False, str(exc))
        return
    except JsonLdInvalid as exc:
        verdict.add(name, False, f"not valid JSON-LD: {exc}")
        return
    undefined = undefined_terms(expanded)
    if undefined:
        verdict.add(name, False, f"terms no shipped context defines: {', '.join(undefined)}")
        return
    verdict.add(name, True, "expands against the shipped contexts; every term defined")


def _step_schema(credential: dict[str, Any], verdict: Verdict) -> None:
    known = [t for t in _types(credential) if t in CREDENTIAL_TYPES]
    if "VerifiableCredential" not in _types(credential) or len(known) != 1:
        verdict.add(
            "schema",
            False,
            f"type must be VerifiableCredential and one of {sorted(CREDENTIAL_TYPES)}",
        )
        return
    model = CREDENTIAL_TYPES[known[0]]
    verdict.credential_type = model.credential_type
    errors = validate(model.schema_id, credential)
    if errors:
        listed = "; ".join(f"{e.path or '/'}: {e.message}" for e in errors[:5])
        verdict.add("schema", False, f"{len(errors)} error(s) against {model.schema_id}: {listed}")
        return
    verdict.add("schema", True, f"valid against {model.schema_id}")


def _step_proof(secured: _Secured, verdict: Verdict, ports: VerifierPorts) -> None:
    credential = secured.credential
    issuer = verdict.issuer
    method = secured.verification_method
    if issuer is None or method.split("#", 1)[0] != issuer:
        verdict.add(
            "proof", False, f"signed with {method}, which is not a key of the issuer {issuer}"
        )
        return
    issued_at = parse_instant(credential.get("validFrom"))
    if issued_at is None:
        verdict.add("proof", False, "no validFrom to judge the issuer's key at")
        return
    try:
        key: PublicKeyInfo = ports.keys.key_for(method, issued_at)
    except (KeyNotDeclared, Unavailable) as exc:
        verdict.add("proof", False, str(exc))
        return
    try:
        if secured.token is not None:
            verify_jwt(secured.token, key)
        else:
            proof = verify_proof(credential, key)
            if proof.get("proofPurpose") != "assertionMethod":
                raise ProofInvalid("a credential's proofPurpose must be assertionMethod")
    except ProofInvalid as exc:
        verdict.add("proof", False, str(exc))
        return
    except (UnknownContext, JsonLdInvalid) as exc:
        verdict.add("proof", False, f"cannot canonicalise: {exc}")
        return
    verdict.add("proof", True, f"signature verifies with {method} ({key.algorithm.value})")


def _step_issuer(credential: Mapping[str, Any], verdict: Verdict, ports: VerifierPorts) -> None:
    issuer, kind = verdict.issuer, verdict.credential_type
    issued_at = parse_instant(credential.get("validFrom"))
    if issuer is None or kind is None or issued_at is None:
        verdict.add(
            "issuer", False, "no issuer, type or validFrom to look up in the trust registry"
        )
        return
    try:
        found = ports.trust.authorisation(issuer, kind, issued_at)
    except Unavailable as exc:
        verdict.add("issuer", False, f"the trust registry cannot answer: {exc}")
        return
    if found is None:
        verdict.add("issuer", False, f"{issuer} is not authorised to issue {kind} (trust registry)")
        return
    verdict.add("issuer", True, f"authorised for {kind} by {found.record}")


def _step_validity(credential: Mapping[str, Any], verdict: Verdict, now: datetime) -> None:
    valid_from = parse_instant(credential.get("validFrom"))
    valid_until = parse_instant(credential.get("validUntil"))
    if valid_from is None:
        verdict.add("validity", False, "validFrom is missing or not a date-time with offset")
    elif now < valid_from:
        verdict.add("validity", False, f"not valid before {credential['validFrom']}")
    elif "validUntil" in credential and valid_until is None:
        verdict.add("validity", False, "validUntil is not a date-time with offset")
    elif valid_until is not None and now >= valid_until:
        verdict.add("validity", False, f"expired at {credential['validUntil']}")
    else:
        verdict.add("validity", True, "within its validity window")


def _status_entries(credential: Mapping[str, Any]) -> list[Any]:
    status = credential.get("credentialStatus")
    if status is None:
        return []
    return status if isinstance(status, list) else [status]


def _check_dedi(
    entry: Mapping[str, Any], credential: Mapping[str, Any], issuer: str, ports: VerifierPorts
) -> str | None:
    parts = urlsplit(str(entry.get("id", "")))
    match = _LOOKUP.match(parts.path)
    if not match:
        # INTEROP: never a /query/ URL in id (one IES example swaps id and statusListCredential).
        return f"the DeDi entry's id {entry.get('id')!r} is not a /dedi/lookup/ URL of one record"
    namespace, registry, record = (unquote(p) for p in match.groups())
    if namespace != namespace_of(issuer) or registry != REVOCATION_REGISTRY:
        return (
            f"the DeDi entry points at {namespace}/{registry}, "
            f"not the issuer's {REVOCATION_REGISTRY}"
        )
    if record != credential_hash(credential):
        return "the DeDi entry names another credential's hash"
    try:
        found = ports.status.status_record(namespace, record)
    except Unavailable as exc:
        return f"the revocation registry cannot answer: {exc}"
    if found is not None:
        state = "suspended" if found.purpose == "suspension" else "revoked"
        why = f" ({found.reason})" if found.reason else ""
        return f"{state} in {namespace}/{REVOCATION_REGISTRY}{why}"
    return None


def _check_bitstring(entry: Mapping[str, Any], issuer: str, ports: VerifierPorts) -> str | None:
    url = entry.get("statusListCredential")
    index = entry.get("statusListIndex")
    purpose = entry.get("statusPurpose")
    if not isinstance(url, str) or not isinstance(index, str) or not index.isdigit():
        return "a BitstringStatusListEntry needs statusListCredential and a numeric statusListIndex"
    try:
        view = ports.status_lists.status_list(url)
    except Unavailable as exc:
        return f"the status list {url} cannot be used: {exc}"
    if view.issuer != issuer or view.purpose != purpose:
        return (
            f"the status list {url} is {view.issuer}'s {view.purpose} list, "
            f"not {issuer}'s {purpose}"
        )
    try:
        set_ = get_bit(view.bitstring, int(index))
    except IndexError as exc:
        return str(exc)
    if set_:
        state = "suspended" if purpose == "suspension" else "revoked"
        return f"{state} (status list {url}, index {index})"
    return None


def _step_status(credential: Mapping[str, Any], verdict: Verdict, ports: VerifierPorts) -> None:
    entries = _status_entries(credential)
    issuer = verdict.issuer
    if not entries:
        verdict.add("status", True, "the credential declares no status to check")
        return
    if issuer is None:
        verdict.add("status", False, "no issuer to check the status with")
        return
    problems: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            problems.append("a credentialStatus entry is not an object")
            continue
        kind = entry.get("type")
        if kind in ("dediregistry", "dedi"):
            problem = _check_dedi(entry, credential, issuer, ports)
        elif kind == "BitstringStatusListEntry":
            problem = _check_bitstring(entry, issuer, ports)
        else:
            problem = f"credentialStatus type {kind!r} is not one this verifier can check"
        if problem:
            problems.append(problem)
    if problems:
        verdict.add("status", False, "; ".join(problems))
    else:
        verdict.add(
            "status",
            True,
            f"{len(entries)} status entr{'y' if len(entries) == 1 else 'ies'}: valid",
        )


def verify_credential(presented: Any, ports: VerifierPorts, now: datetime | None = None) -> Verdict:
    """Every check on one credential (a DI-secured object, a vc+jwt, or an enveloped one)."""
    now = now or datetime.now(UTC)
    verdict = Verdict()
    secured = _step_format(presented, verdict)
    if secured is None:
        return verdict
    credential = secured.credential
    verdict.credential = credential
    verdict.issuer = issuer_id(credential)
    _step_jsonld(credential, verdict)
    _step_schema(credential, verdict)
    _step_proof(secured, verdict, ports)
    _step_issuer(credential, verdict, ports)
    _step_validity(credential, verdict, now)
    _step_status(credential, verdict, ports)
    return verdict


# ------------------------------------------------------------------ presentations


@dataclass(slots=True)
class PresentationVerdict:
    checks: list[Check] = field(default_factory=list)
    holder: str | None = None
    credentials: list[Verdict] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return (
            bool(self.checks)
            and all(c.ok for c in self.checks)
            and all(v.verified for v in self.credentials)
        )

    def add(self, name: str, ok: bool, reason: str) -> None:
        self.checks.append(Check(name, ok, reason))

    def to_dict(self) -> dict[str, Any]:
        errors = [f"{c.name}: {c.reason}" for c in self.checks if not c.ok]
        for index, verdict in enumerate(self.credentials):
            errors.extend(f"credential {index}: {e}" for e in verdict.to_dict()["errors"])
        return {
            "verified": self.verified,
            "holder": self.holder,
            "checks": [c.to_dict() for c in self.checks],
            "credentials": [v.to_dict() for v in self.credentials],
            "errors": errors,
        }


def verify_presentation(
    presentation: Any,
    ports: VerifierPorts,
    nonces: Nonces,
    domain: str,
    now: datetime | None = None,
    verify_one: Callable[[Any, VerifierPorts, datetime | None], Verdict] = verify_credential,
) -> PresentationVerdict:
    """A holder presents several credentials at once, with the verifier's challenge and
    domain in an ``authentication`` proof: a replayed presentation finds its challenge
    used up; one made for another verifier names another domain."""
    now = now or datetime.now(UTC)
    verdict = PresentationVerdict()
    if not isinstance(presentation, dict) or "VerifiablePresentation" not in _types(presentation):
        verdict.add("format", False, "not a VerifiablePresentation object")
        return verdict
    holder = presentation.get("holder")
    proof = presentation.get("proof")
    if not isinstance(holder, str) or not isinstance(proof, dict):
        verdict.add("format", False, "a presentation needs a holder and a single proof")
        return verdict
    verdict.holder = holder
    verdict.add("format", True, f"Data Integrity ({proof.get('type')})")
    _step_jsonld(presentation, verdict_adapter := Verdict())
    verdict.checks.extend(verdict_adapter.checks)
    method = proof.get("verificationMethod")
    proof_ok = False
    if not isinstance(method, str) or method.split("#", 1)[0] != holder:
        verdict.add(
            "holder-proof", False, f"signed with {method}, not a key of the holder {holder}"
        )
    elif proof.get("proofPurpose") != "authentication":
        verdict.add("holder-proof", False, "a presentation's proofPurpose must be authentication")
    else:
        try:
            key = ports.keys.key_for(method, now, purpose="authentication")
            verify_proof(presentation, key)
            verdict.add("holder-proof", True, f"signature verifies with {method}")
            proof_ok = True
        except (KeyNotDeclared, Unavailable, ProofInvalid, UnknownContext, JsonLdInvalid) as exc:
            verdict.add("holder-proof", False, str(exc))
    challenge, proof_domain = proof.get("challenge"), proof.get("domain")
    if proof_domain != domain:
        verdict.add("domain", False, f"made for domain {proof_domain!r}, not {domain!r}")
    else:
        verdict.add("domain", True, f"made for {domain}")
    if not isinstance(challenge, str):
        verdict.add("challenge", False, "the proof carries no challenge")
    elif not proof_ok:
        verdict.add("challenge", False, "not consumed: the holder's proof did not verify")
    else:
        refused = nonces.consume(challenge, domain, now)
        verdict.add("challenge", refused is None, refused or "fresh, now used up")
    items = presentation.get("verifiableCredential")
    items = items if isinstance(items, list) else [items] if items is not None else []
    if not items:
        verdict.add("credentials", False, "the presentation carries no credential")
    for item in items:
        one = verify_one(item, ports, now)
        subject = (one.credential or {}).get("credentialSubject")
        subject_id = subject.get("id") if isinstance(subject, dict) else None
        if subject_id is not None and subject_id != holder:
            one.add("holder-binding", False, f"the subject {subject_id} is not the holder {holder}")
        elif one.credential is not None:
            one.add("holder-binding", True, "the holder is the subject")
        verdict.credentials.append(one)
    return verdict
