"""Which relations the network allows.

The electrical path runs meter -> connection -> distribution transformer -> feeder
-> substation; a DER or EV charger sits behind a connection, and a connection is
held by a consumer. A child has at most one parent of each parent type at a time,
so re-pointing a meter or a DT closes the old relation instead of adding a second.
"""

from __future__ import annotations

from registry.errors import InvalidTopology
from registry.identifiers import EntityType

E = EntityType

ALLOWED_PARENTS: dict[EntityType, frozenset[EntityType]] = {
    E.METER: frozenset({E.CONNECTION, E.DER}),
    E.CONNECTION: frozenset({E.DISTRIBUTION_TRANSFORMER, E.CONSUMER}),
    E.DISTRIBUTION_TRANSFORMER: frozenset({E.FEEDER}),
    E.FEEDER: frozenset({E.SUBSTATION}),
    E.SUBSTATION: frozenset(),
    E.DER: frozenset({E.CONNECTION}),
    E.EV_CHARGER: frozenset({E.CONNECTION}),
    E.CONSUMER: frozenset(),
}


def check_relation(child: EntityType, parent: EntityType) -> None:
    """Refuse a relation the network does not have."""
    if parent not in ALLOWED_PARENTS[child]:
        allowed = ", ".join(sorted(p.value for p in ALLOWED_PARENTS[child])) or "nothing"
        raise InvalidTopology(
            f"a {child.value} cannot sit under a {parent.value}; it may sit under: {allowed}"
        )


def descendant_types(ancestor: EntityType) -> frozenset[EntityType]:
    """Every type that can sit (directly or not) under ``ancestor``."""
    found: set[EntityType] = set()
    frontier = {ancestor}
    while frontier:
        children = {c for c, parents in ALLOWED_PARENTS.items() if parents & frontier}
        frontier = children - found
        found |= children
    return frozenset(found)
