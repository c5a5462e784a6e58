"""The decision contract every engine returns, and the one function that reaches it.

Rego answers ``{"allow": bool, "violations": [{"code", "message"}]}`` at
``data.<rego_package>.<domain>.decision``; the clause and intent come from the signed
manifest, never from the engine, so an embedded interpreter and an OPA server holding
the same pack give byte-identical decisions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policy_packs.errors import EvaluationFailed, InputUnrepresentable
from policy_packs.manifest import Domain
from policy_packs.packs import Catalogue, Pack


class RawViolation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    message: str


class RawDecision(BaseModel):
    """What the Rego ``decision`` document must look like."""

    model_config = ConfigDict(extra="forbid")

    allow: bool
    violations: list[RawViolation]


class Violation(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    clause: str = Field(description="The regulation clause(s) the rule encodes")
    intent: str


class PackRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    version: str
    digest: str
    jurisdiction: str


class Decision(BaseModel):
    """allow/deny, every violated rule, and the pack that decided."""

    model_config = ConfigDict(frozen=True)

    allow: bool
    violations: tuple[Violation, ...]
    pack: PackRef
    jurisdiction: str = Field(description="The jurisdiction asked about")
    domain: Domain
    as_of: dt.date
    input_digest: str


class Engine(Protocol):
    """Evaluates Rego documents of verified packs (embedded interpreter or OPA server)."""

    name: str

    def document(self, pack: Pack, path: str, input: Mapping[str, Any]) -> tuple[bool, Any]:
        """``(defined, value)`` of the dotted document ``path`` of ``pack`` for ``input``."""
        ...


_INT64 = (-(2**63), 2**63 - 1)
MAX_DEPTH = 32


def check_representable(value: Any, path: str = "input", depth: int = 0) -> None:
    """Refuse what the embedded interpreter would silently alter.

    rego-cpp wraps integers outside 64 bits (2**70 reads as 0: arrears of 2**70 would
    pass an arrears check), cuts strings at NUL, and cannot print NaN or infinity.
    """
    if depth > MAX_DEPTH:
        raise InputUnrepresentable(f"{path} is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise InputUnrepresentable(f"{path} is outside the 64-bit integer range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InputUnrepresentable(f"{path} is not a finite number")
    elif isinstance(value, str):
        if "\x00" in value:
            raise InputUnrepresentable(f"{path} holds a NUL character")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or "\x00" in key:
                raise InputUnrepresentable(f"{path} has a key that is not a plain string")
            check_representable(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_representable(item, f"{path}[{index}]", depth + 1)
    else:
        raise InputUnrepresentable(f"{path} is not a JSON value")


def input_digest(document: Mapping[str, Any]) -> str:
    """SHA-256 of the input as canonical JSON (sorted keys, no whitespace, UTF-8)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def contract(
    pack: Pack,
    raw: Any,
    *,
    jurisdiction: str,
    domain: Domain,
    as_of: dt.date,
    digest: str,
) -> Decision:
    """Turn the engine's raw decision document into the contract, or refuse it."""
    try:
        parsed = RawDecision.model_validate(raw)
    except ValidationError as exc:
        raise EvaluationFailed(f"pack {pack.key} returned a malformed decision: {exc}") from exc
    violations: list[Violation] = []
    for raw_violation in parsed.violations:
        rule = pack.manifest.rule(raw_violation.code)
        if rule is None or rule.domain != domain:
            raise EvaluationFailed(
                f"pack {pack.key} emitted rule {raw_violation.code}, not declared for {domain}"
            )
        violations.append(
            Violation(
                code=rule.code,
                message=raw_violation.message,
                clause=rule.clause,
                intent=rule.intent,
            )
        )
    if parsed.allow == bool(violations):
        raise EvaluationFailed(f"pack {pack.key} allowed and violated at once (or neither)")
    violations.sort(key=lambda violation: (violation.code, violation.message))
    return Decision(
        allow=parsed.allow,
        violations=tuple(violations),
        pack=PackRef(
            id=pack.manifest.id,
            version=pack.manifest.version,
            digest=pack.digest,
            jurisdiction=pack.manifest.jurisdiction,
        ),
        jurisdiction=jurisdiction,
        domain=domain,
        as_of=as_of,
        input_digest=digest,
    )


def decide_with(
    pack: Pack,
    engine: Engine,
    domain: Domain,
    document: Mapping[str, Any],
    *,
    jurisdiction: str,
    as_of: dt.date,
) -> Decision:
    """Evaluate ``domain`` of one given pack (the pack's own tests use this)."""
    check_representable(document)
    defined, raw = engine.document(pack, pack.manifest.decision_path(domain), document)
    if not defined:
        raise EvaluationFailed(f"pack {pack.key} defines no decision for {domain}")
    return contract(
        pack,
        raw,
        jurisdiction=jurisdiction,
        domain=domain,
        as_of=as_of,
        digest=input_digest(document),
    )


def decide(
    catalogue: Catalogue,
    engine: Engine,
    *,
    jurisdiction: str,
    domain: Domain,
    document: Mapping[str, Any],
    as_of: dt.date,
) -> Decision:
    """The decision of the pack in force for (jurisdiction, domain) on ``as_of``."""
    pack = catalogue.select(jurisdiction, domain, as_of)
    return decide_with(pack, engine, domain, document, jurisdiction=jurisdiction, as_of=as_of)


class RecordedDecision(Decision):
    """A decision as the log keeps it: the contract plus when, by which engine, for what."""

    id: str
    decided_at: dt.datetime
    engine: str
    reference: str | None = None
