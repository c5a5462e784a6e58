"""From breaker events to interruptions: a pure state machine per feeder (sans-I/O).

Every event goes through the same ordered checks (quality, clock, order) before it
may change a feeder's state; a refused event raises the precise problem and changes
nothing. IEEE 1366-2012 §2 draws the line between outage and blink: an opening
that recloses within five minutes is a *momentary* interruption (counted in MAIFI,
never announced), one that lasts longer is *sustained* (SAIFI/SAIDI, announced).
The notice goes out when the opening is confirmed sustained, measured in the RTU's
time: at reclosure after the threshold, or when a tick finds the breaker still open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from protocol.outages.errors import (
    BadQuality,
    ClockJump,
    EventOutOfOrder,
    IndeterminatePosition,
)
from protocol.outages.models import (
    MOMENTARY_THRESHOLD,
    BreakerEvent,
    EnergyTotal,
    Position,
    PowerSample,
    Quality,
)


@dataclass(frozen=True, slots=True)
class Policy:
    momentary_threshold: timedelta = MOMENTARY_THRESHOLD
    # A time tag this far ahead of the receiver's clock is a clock jump, not an event.
    max_clock_lead: timedelta = timedelta(seconds=30)


# ------------------------------------------------------------------- the checks


def check_quality(quality: Quality, ref: str, *, measured: bool = False) -> None:
    """Refuse a value whose quality bits say it does not describe the plant now.

    SB (substituted: an operator entered it) is accepted; the notice's provenance
    says so. Overflow only concerns measured values.
    """
    bad: list[str] = [f for f in ("IV", "NT", "BL") if f in quality.flags]
    if measured and quality.overflow:
        bad.append("OV")
    if bad:
        meaning = {
            "IV": "invalid",
            "NT": "not topical (not refreshed since the RTU lost its source)",
            "BL": "blocked (frozen at its last state)",
            "OV": "overflow (beyond the range of the measurand)",
        }
        reasons = "; ".join(f"{f}: {meaning[f]}" for f in bad)
        raise BadQuality(f"{ref} carries {'+'.join(bad)} — {reasons}", ref=ref, flags=bad)


def check_clock(at: datetime, now: datetime, ref: str, policy: Policy) -> None:
    if at.tzinfo is None:
        raise ClockJump(f"{ref} has a time tag without a UTC offset", ref=ref)
    lead = at - now
    if lead > policy.max_clock_lead:
        raise ClockJump(
            f"{ref} is tagged {at.isoformat()}, {lead.total_seconds():.0f} s ahead of the "
            f"receiver's clock ({now.isoformat()}); the RTU's clock jumped",
            ref=ref,
            lead_seconds=round(lead.total_seconds(), 3),
        )


# ------------------------------------------------------------------- transitions


@dataclass(frozen=True, slots=True)
class Tripped:
    """A breaker opened; not yet an outage (it may reclose within the threshold)."""

    feeder: str
    at: datetime
    ref: str


@dataclass(frozen=True, slots=True)
class Sustained:
    """The opening outlasted the momentary threshold: an outage, to be announced."""

    feeder: str
    started_at: datetime
    ref: str


@dataclass(frozen=True, slots=True)
class Restored:
    feeder: str
    started_at: datetime
    ended_at: datetime
    ref: str


@dataclass(frozen=True, slots=True)
class Momentary:
    feeder: str
    started_at: datetime
    ended_at: datetime
    ref: str


Transition = Tripped | Sustained | Restored | Momentary


@dataclass(slots=True)
class _Feeder:
    position: Position | None = None
    last_at: datetime | None = None
    opened_at: datetime | None = None
    opened_ref: str = ""
    sustained: bool = False


@dataclass(slots=True)
class Detector:
    """Breaker states of many feeders; ``observe`` and ``tick`` return transitions."""

    policy: Policy = field(default_factory=Policy)
    _feeders: dict[str, _Feeder] = field(default_factory=dict)
    _last_value_at: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def open_feeders(self) -> dict[str, datetime]:
        return {f: s.opened_at for f, s in self._feeders.items() if s.opened_at is not None}

    def resume(self, feeder: str, opened_at: datetime, ref: str, *, sustained: bool) -> None:
        """Take up an interruption recorded before a restart."""
        state = self._feeders.setdefault(feeder, _Feeder())
        state.position = Position.OPEN
        state.opened_at = opened_at
        state.opened_ref = ref
        state.sustained = sustained
        state.last_at = max(state.last_at or opened_at, opened_at)

    def check(self, value: PowerSample | EnergyTotal, now: datetime) -> None:
        """The checks for a measured value or an integrated total."""
        if isinstance(value, PowerSample):
            check_quality(value.quality, value.ref, measured=True)
        elif value.invalid:
            raise BadQuality(
                f"{value.ref} carries IV: the counter reading is invalid", ref=value.ref
            )
        check_clock(value.at, now, value.ref, self.policy)
        kind = "power" if isinstance(value, PowerSample) else f"energy-{value.direction}"
        key = (value.feeder, kind)
        last = self._last_value_at.get(key)
        if last is not None and value.at < last:
            raise EventOutOfOrder(
                f"{value.ref} at {value.at.isoformat()} is older than the last value "
                f"applied ({last.isoformat()})",
                ref=value.ref,
            )
        self._last_value_at[key] = value.at

    def observe(self, event: BreakerEvent, now: datetime) -> list[Transition]:
        check_quality(event.quality, event.ref)
        check_clock(event.at, now, event.ref, self.policy)
        state = self._feeders.setdefault(event.feeder, _Feeder())
        if state.last_at is not None and event.at < state.last_at:
            raise EventOutOfOrder(
                f"{event.ref} ({event.position.value} at {event.at.isoformat()}) is older than "
                f"the last event applied to {event.feeder} ({state.last_at.isoformat()})",
                ref=event.ref,
            )
        if event.position in (Position.INTERMEDIATE, Position.INDETERMINATE):
            raise IndeterminatePosition(
                f"{event.ref} reports the breaker of {event.feeder} {event.position.value}",
                ref=event.ref,
            )
        state.last_at = event.at
        previous, state.position = state.position, event.position
        if event.position is Position.OPEN:
            if previous is Position.OPEN or state.opened_at is not None:
                return []  # a repeated report (e.g. after a general interrogation)
            state.opened_at, state.opened_ref, state.sustained = event.at, event.ref, False
            return [Tripped(event.feeder, event.at, event.ref)]
        if state.opened_at is None:
            return []  # closed and was closed (or first report after start)
        started, ref = state.opened_at, state.opened_ref
        was_sustained = state.sustained
        state.opened_at, state.opened_ref, state.sustained = None, "", False
        if event.at - started <= self.policy.momentary_threshold and not was_sustained:
            return [Momentary(event.feeder, started, event.at, ref)]
        out: list[Transition] = []
        if not was_sustained:
            out.append(Sustained(event.feeder, started, ref))
        out.append(Restored(event.feeder, started, event.at, event.ref))
        return out

    def tick(self, now: datetime) -> list[Transition]:
        """Confirm openings that have outlasted the momentary threshold by ``now``."""
        out: list[Transition] = []
        for feeder, state in self._feeders.items():
            if state.opened_at is None or state.sustained:
                continue
            if now - state.opened_at > self.policy.momentary_threshold:
                state.sustained = True
                out.append(Sustained(feeder, state.opened_at, state.opened_ref))
        return out
