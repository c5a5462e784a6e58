"""Whose meter is it: a consent may name only meters its consumer holds (pure).

A consumer holds a meter while the registry's topology has the meter under a
connection and that connection under the consumer (relations with validity periods,
``valid_from`` inclusive, ``valid_to`` exclusive). Without this check an app could name
another consumer's meter, get its own user's approval, and receive a stranger's meter
data; and a meter that passes to a new consumer (a tenant moves in, a meter is moved to
another connection) must stop flowing under the old consumer's consent from that
instant, while the data from before the move stays the old consumer's to share.

The consent layer reaches the registry only through :class:`MeterOwnership`;
``consent.holders`` implements it over the registry's HTTP API and in-process.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Holding:
    """The consumer holds ``meter`` (its serial) from ``since`` until ``until`` (None: still)."""

    meter: str
    since: datetime
    until: datetime | None

    def covers(self, start: datetime, end: datetime) -> bool:
        """The whole of [start, end) lies inside the holding."""
        return self.since <= start and (self.until is None or end <= self.until)


class MeterOwnership(Protocol):
    """The registry's answer to "which meters does this consumer hold at this instant"."""

    def holdings(self, consumer_id: str, at: datetime) -> Sequence[Holding]:
        """The meters ``consumer_id`` holds at ``at``, each with the unbroken period of
        holding around ``at``; empty when the registry knows no such consumer."""
        ...


def meters_of(ownership: MeterOwnership, consumer_id: str, at: datetime) -> set[str]:
    """The serials of the meters ``consumer_id`` holds at ``at``."""
    return {h.meter for h in ownership.holdings(consumer_id, at)}


@dataclass(frozen=True, slots=True)
class Link:
    """One topology relation: the child under ``parent`` over [since, until)."""

    parent: str
    since: datetime
    until: datetime | None


def _overlap(a: Link, b: Link) -> tuple[datetime, datetime | None] | None:
    since = max(a.since, b.since)
    if a.until is None:
        until = b.until
    elif b.until is None:
        until = a.until
    else:
        until = min(a.until, b.until)
    if until is not None and until <= since:
        return None
    return since, until


def period_around(
    at: datetime,
    consumer: str,
    meter_links: Iterable[Link],
    connection_links: Mapping[str, Iterable[Link]],
) -> tuple[datetime, datetime | None] | None:
    """The unbroken period around ``at`` in which the meter sits under a connection that
    sits under ``consumer``: ``meter_links`` are the meter's connections over time,
    ``connection_links`` each connection's consumers over time. None if not held at ``at``.

    Back-to-back periods (the meter moved between two of the consumer's connections)
    join into one; a gap of any length breaks the holding.
    """
    spans: list[tuple[datetime, datetime | None]] = []
    for meter_link in meter_links:
        for owner_link in connection_links.get(meter_link.parent, ()):
            if owner_link.parent != consumer:
                continue
            both = _overlap(meter_link, owner_link)
            if both is not None:
                spans.append(both)
    spans.sort(key=lambda s: s[0])
    merged: list[tuple[datetime, datetime | None]] = []
    for since, until in spans:
        if merged:
            last_since, last_until = merged[-1]
            if last_until is None:
                break  # the previous run never ends: everything later is inside it
            if since <= last_until:
                merged[-1] = (last_since, None if until is None else max(last_until, until))
                continue
        merged.append((since, until))
    for since, until in merged:
        if since <= at and (until is None or at < until):
            return since, until
    return None


@dataclass(frozen=True, slots=True)
class NotHeld:
    """Why a meter may not be shared for a period: not held at all, or only until ``until``."""

    meter: str
    held_since: datetime | None = None
    held_until: datetime | None = None

    def reason(self) -> str:
        if self.held_since is None:
            return f"{self.meter} is not the consumer's"
        if self.held_until is not None:
            return f"{self.meter} is the consumer's only until {self.held_until.isoformat()}"
        return f"{self.meter} is the consumer's only since {self.held_since.isoformat()}"


def not_held(
    holdings: Sequence[Holding], meters: Iterable[str], start: datetime, end: datetime
) -> list[NotHeld]:
    """Each of ``meters`` the holdings (read at ``start``) do not cover for all of
    [start, end)."""
    by_meter = {h.meter: h for h in holdings}
    out: list[NotHeld] = []
    for meter in dict.fromkeys(meters):
        held = by_meter.get(meter)
        if held is None:
            out.append(NotHeld(meter))
        elif not held.covers(start, end):
            out.append(NotHeld(meter, held.since, held.until))
    return out
