"""The discom's automatic decision on a DER connection application (pure).

Two sets of rules decide: the credential rules (``protocol.der.rules``: consent,
consumer, installer, equipment, ratings) and the state's policy pack's
``der_connection`` domain (DER-000..007: type, minimum size, capacity against the
sanctioned load, the scheme's categories and capacity range, the single-phase limit,
the distribution transformer's hosting capacity with the DERs already on it). The
verdict lists every rule of both, passed or failed, each with the clause it encodes.

A credential that fails is a rejection: no change of the request mends a revoked
licence or a forged certificate. A pack rule that fails asks for changes (a smaller
system, another scheme), and the resubmission keeps the application's history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from policy_packs.decision import Decision
from protocol.der.models import Application, ConnectionFacts, Outcome, RuleOutcome, Verdict
from protocol.der.rules import Findings

DOMAIN = "der_connection"


@dataclass(frozen=True, slots=True)
class PackRule:
    """A rule the pack's manifest declares for the domain (code, intent, clause)."""

    code: str
    intent: str
    clause: str


def policy_input(application: Application, facts: ConnectionFacts) -> dict[str, Any]:
    """The ``der_connection`` input (docs/policy.md) from the application and the
    registry: the DT's rating, its recorded hosting capacity and every DER already
    connected under it."""
    transformer: dict[str, Any] = {
        "rating_kva": facts.rating_kva,
        "connected_der_kw": facts.connected_der_kw,
    }
    if facts.hosting_capacity_kw is not None:
        transformer["hosting_capacity_kw"] = facts.hosting_capacity_kw
    return {
        "connection": {
            "category": facts.category,
            "sanctioned_load_kw": facts.sanctioned_load_kw,
            "phase": facts.phase,
        },
        "der": {"type": application.der.type, "capacity_kw": application.der.capacity_kw},
        "scheme": application.scheme.value,
        "transformer": transformer,
    }


def pack_outcomes(decision: Decision, rules: Iterable[PackRule]) -> list[RuleOutcome]:
    """Every rule of the pack's domain: the violated ones with the pack's message, the
    others as satisfied."""
    source = f"{decision.pack.id}@{decision.pack.version}"
    violated: dict[str, list[str]] = {}
    for violation in decision.violations:
        violated.setdefault(violation.code, []).append(violation.message)
    outcomes: list[RuleOutcome] = []
    for rule in rules:
        messages = violated.pop(rule.code, None)
        outcomes.append(RuleOutcome(
            code=rule.code, passed=messages is None,
            message="; ".join(messages) if messages else "satisfied",
            intent=rule.intent, clause=rule.clause, source=source,
        ))  # fmt: skip
    for violation in decision.violations:  # a violation the rule list did not name
        if violation.code in violated:
            outcomes.append(RuleOutcome(
                code=violation.code, passed=False, message=violation.message,
                intent=violation.intent, clause=violation.clause, source=source,
            ))  # fmt: skip
    return outcomes


def decide(
    findings: Findings, decision: Decision | None, rules: Iterable[PackRule] = ()
) -> Verdict:
    """The verdict: rejected on any credential rule, changes requested on any pack rule,
    approved when every rule of both passed (a missing pack decision never approves)."""
    outcomes = list(findings.outcomes)
    if decision is not None:
        outcomes += pack_outcomes(decision, rules)
    if not findings.passed:
        outcome = Outcome.REJECTED
    elif decision is None or not decision.allow:
        outcome = Outcome.CHANGES_REQUESTED
    else:
        outcome = Outcome.APPROVED
    return Verdict(
        outcome=outcome,
        rules=tuple(outcomes),
        pack=f"{decision.pack.id}@{decision.pack.version}" if decision else None,
        pack_digest=decision.pack.digest if decision else None,
    )
