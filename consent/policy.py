"""The state's policy pack, asked about a consent (``consent`` domain) and about a
fetch under it (``meter_data_sharing`` domain). Input shapes: docs/policy.md.

Our data types map onto the packs' (interval consumption, net export and events are
``meter_data``; billing is ``billing``, always judged at ``monthly`` since only
billing-period profiles go out under it). 30-minute data is judged as 15-minute data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from consent.errors import PolicyDenied
from consent.models import DataType, Granularity, Scope
from policy_packs import Catalogue, Decision, Engine, decide

_IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


@dataclass(frozen=True, slots=True)
class PolicyPoint:
    """The verified packs and the engine that evaluates them."""

    catalogue: Catalogue
    engine: Engine

    def decide(
        self, jurisdiction: str, domain: str, document: dict[str, Any], as_of: dt.date
    ) -> Decision:
        return decide(
            self.catalogue,
            self.engine,
            jurisdiction=jurisdiction,
            domain=domain,  # type: ignore[arg-type]
            document=document,
            as_of=as_of,
        )


def _policy_granularity(data_type: DataType, granularity: Granularity) -> str:
    if data_type is DataType.BILLING:
        return Granularity.MONTHLY.value
    return granularity.policy_granularity


def _pairs(types: Iterable[DataType], granularity: Granularity) -> list[tuple[str, str]]:
    pairs = {(t.policy_data_type, _policy_granularity(t, granularity)) for t in types}
    return sorted(pairs)


def consent_inputs(
    purpose: str, scope: Scope, requested_on: dt.date, notice_given: bool
) -> list[dict[str, Any]]:
    return [
        {
            "purpose": purpose,
            "data_type": data_type,
            "granularity": granularity,
            "date_range": {
                "from": scope.date_range.start.isoformat(),
                "to": scope.date_range.end.isoformat(),
            },
            "data_life_days": scope.data_life_days,
            "requested_on": requested_on.isoformat(),
            "notice_given": notice_given,
        }
        for data_type, granularity in _pairs(scope.data_types, scope.granularity)
    ]


def sharing_inputs(
    *,
    scope: Scope,
    status: str,
    types: Iterable[DataType],
    granularity: Granularity,
    first: dt.date,
    last: dt.date,
    on: dt.date,
) -> list[dict[str, Any]]:
    consent_granularity = scope.granularity.policy_granularity
    consent: dict[str, Any] = {
        "status": status,
        "data_types": sorted({t.policy_data_type for t in scope.data_types}),
        "granularity": consent_granularity,
        "date_range": {
            "from": scope.date_range.start.isoformat(),
            "to": scope.date_range.end.isoformat(),
        },
        # The same calendar as ``on`` (IST, the gate's today): a consent expiring at
        # 19:00 UTC expires on the next IST day; the gate checks the exact instant too.
        "expires_on": scope.expires_at.astimezone(_IST).date().isoformat(),
    }
    inputs = []
    for data_type, policy_granularity in _pairs(types, granularity):
        inputs.append(
            {
                "request": {
                    "kind": "individual",
                    "requester_role": "third_party",
                    "data_type": data_type,
                    # A billing fetch is checked at the consent's own granularity for
                    # MDS-004 (billing periods are never finer than what was consented).
                    "granularity": policy_granularity
                    if data_type != "billing"
                    else max(
                        policy_granularity, consent_granularity, key=lambda g: Granularity(g).rank
                    ),
                    "date_range": {"from": first.isoformat(), "to": last.isoformat()},
                    "requested_on": on.isoformat(),
                },
                "consent": consent,
            }
        )
    return inputs


def require_allowed(
    point: PolicyPoint,
    jurisdiction: str,
    domain: str,
    documents: Iterable[dict[str, Any]],
    as_of: dt.date,
) -> list[Decision]:
    """Every decision, or :class:`PolicyDenied` listing the violated rules of them all."""
    decisions = [point.decide(jurisdiction, domain, d, as_of) for d in documents]
    denied = [d for d in decisions if not d.allow]
    if denied:
        first = denied[0]
        raise PolicyDenied(
            "; ".join(v.message for d in denied for v in d.violations),
            violations=[v.model_dump() for d in denied for v in d.violations],
            pack=first.pack.model_dump(),
            domain=domain,
        )
    return decisions
