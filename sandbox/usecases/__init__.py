"""The IES use cases the sandbox plays, in order, each judged by the pilot's bar.

A use case module has ``NAME`` and ``play(world) -> UseCase``. The pilot's five-point
bar for "demonstrated" (DESIGN.md) is what every use case reports: the adapter ran;
the participant's did:web resolved; its subscriber record is in the network registry;
it produced an issued credential or a completed exchange; a counterparty
independently verified the result. Each point is set from checks made over HTTP
against the running participants; a use case not yet built reports "not built" and
is not counted as a pass or a failure (``--check`` gates only the built ones).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sandbox.plan import Plan

BAR = (
    "adapter ran",
    "did:web resolved",
    "subscriber record present",
    "credential issued or exchange completed",
    "counterparty verified",
)


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class UseCase:
    """One use case's outcome: its bar, the checks behind it, counts and timings."""

    name: str
    built: bool = True
    bar: dict[str, Check] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Every point of the bar set and passed, and every supporting check passed."""
        return (
            self.built
            and all(point in self.bar and self.bar[point].passed for point in BAR)
            and all(c.passed for c in self.checks)
        )

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, passed, detail))
        return passed

    def point(self, point: str, passed: bool, detail: str = "") -> bool:
        """Set one point of the bar (a point set twice keeps a failure)."""
        assert point in BAR, point
        earlier = self.bar.get(point)
        if earlier is not None and not earlier.passed:
            return False
        self.bar[point] = Check(point, passed, detail)
        return passed

    def timed(self, step: str) -> _Timer:
        return _Timer(self, step)


class _Timer:
    def __init__(self, case: UseCase, step: str) -> None:
        self.case = case
        self.step = step

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *_exc: object) -> None:
        elapsed = time.perf_counter() - self.started
        self.case.timings[self.step] = self.case.timings.get(self.step, 0.0) + elapsed


@dataclass
class World:
    """What a use case plays against: the running network and the people around it
    (the consumers' wallets live in ``scratch``)."""

    plan: Plan
    http: httpx.Client
    scratch: Path
    passphrase: str
    shared: dict[str, object] = field(default_factory=dict)  # what later use cases reuse
    recorded: int = 0

    def __post_init__(self) -> None:
        # The orchestrator holds the run's keys and acts as each participant's own back
        # office (kernel.backoffice): a request to a member's port carries its token.
        from sandbox.machine_auth import BackOfficeAuth

        if isinstance(self.http.auth, httpx.Auth) and not isinstance(
            self.http.auth, BackOfficeAuth
        ):
            return  # the caller chose its own credentials
        self.http.auth = BackOfficeAuth(self.plan, self.passphrase)

    def url(self, name: str) -> str:
        return self.plan.member(name).url

    def record(self, kind: str, payload: object) -> None:
        """Keep what crossed the network (a credential, a message) under
        ``{data dir}/evidence/`` so the end-to-end tests can hold it against the
        official IES and Beckn schemas."""
        folder = self.plan.data_dir / "evidence"
        folder.mkdir(parents=True, exist_ok=True)
        self.recorded += 1
        path = folder / f"{self.recorded:04d}-{kind}.json"
        path.write_text(json.dumps({"kind": kind, "payload": payload}))


Play = Callable[[World], UseCase]


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    play: Play | None  # None: not built yet


def catalogue() -> list[Entry]:
    """Every IES use case in the order the sandbox plays them."""
    from sandbox.usecases import (
        der_onboarding,
        der_visibility,
        meter_digest,
        meter_exchange,
        outage,
        p2p,
        passport,
        regulatory_filing,
        tariff,
    )

    return [
        Entry(passport.NAME, passport.play),
        Entry(meter_digest.NAME, meter_digest.play),
        Entry(meter_exchange.NAME, meter_exchange.play),
        Entry(der_visibility.NAME, der_visibility.play),
        Entry(der_onboarding.NAME, der_onboarding.play),
        Entry(p2p.NAME, p2p.play),
        Entry(regulatory_filing.NAME, regulatory_filing.play),
        Entry(tariff.NAME, tariff.play),
        Entry(outage.NAME, outage.play),
    ]


def not_built(name: str) -> UseCase:
    return UseCase(name, built=False)
