"""What a conformance run is made of (pure): checklist items, verdicts and evidence.

An item is a small declarative record: an id, the roles it applies to, a title, the
spec clause it checks (the IES pilot's checklist number in ../shared/INTEROP.md, or
the Beckn v2 / project clause) and a check function. A check returns a
:class:`Result` or raises :class:`Failed` / :class:`Skipped` with the evidence it
gathered; the runner turns anything else into an ``error`` line, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.conformance.session import Session

ROLES = (
    "bap",
    "bpp",
    "gateway",
    "credential-issuer",
    "data-provider",
    "consent-manager",
    "directory",
)
BECKN_RECEIVERS = ("bap", "bpp", "gateway")
EVERY_ROLE = ROLES


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"  # the target could not be judged: down, slow, garbage


@dataclass(frozen=True, slots=True)
class Evidence:
    """One thing seen on the wire: what was sent, what came back, its digest."""

    label: str
    request: str = ""
    response: str = ""
    digest: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "label": self.label,
            "request": self.request,
            "response": self.response,
            "digest": self.digest,
        }


@dataclass(slots=True)
class Result:
    status: Status
    detail: str
    evidence: list[Evidence] = field(default_factory=list)


class Verdict(Exception):
    status: Status = Status.FAIL

    def __init__(self, detail: str, evidence: list[Evidence] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.evidence = evidence or []


class Failed(Verdict):
    status = Status.FAIL


class Skipped(Verdict):
    status = Status.SKIP


class Unjudgeable(Verdict):
    """The target is down, slow or answers garbage: reported as an error line."""

    status = Status.ERROR


Check = Callable[["Session"], Result]


@dataclass(frozen=True, slots=True)
class Item:
    """One checklist item."""

    id: str
    roles: tuple[str, ...]
    title: str
    clause: str
    check: Check
    budget_seconds: float = 15.0

    def applies_to(self, role: str) -> bool:
        return role in self.roles


@dataclass(slots=True)
class Outcome:
    """An item's verdict in a run."""

    item: Item
    status: Status
    detail: str
    seconds: float
    evidence: list[Evidence] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "title": self.item.title,
            "clause": self.item.clause,
            "status": self.status.value,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(slots=True)
class Report:
    """A whole run: the target, its role, every applicable item's outcome."""

    target: str
    role: str
    subscriber_id: str
    started_at: str
    seconds: float
    outcomes: list[Outcome]
    kit: dict[str, str] = field(default_factory=dict)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status is status)

    @property
    def passed(self) -> bool:
        return self.count(Status.FAIL) == 0 and self.count(Status.ERROR) == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "role": self.role,
            "subscriberId": self.subscriber_id,
            "startedAt": self.started_at,
            "seconds": round(self.seconds, 3),
            "kit": self.kit,
            "summary": {s.value: self.count(s) for s in Status},
            "passed": self.passed,
            "items": [o.to_dict() for o in self.outcomes],
        }


def ok(detail: str, *evidence: Evidence) -> Result:
    return Result(Status.PASS, detail, list(evidence))


def clip(text: str | bytes, limit: int = 4000) -> str:
    """Evidence text, bounded: a garbage answer must not swell the report."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more)"
