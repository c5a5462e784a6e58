""":class:`consent.ownership.MeterOwnership` read from the registry: over its HTTP API
(``HttpMeterOwnership``, what a consent manager or a discom's gate runs) and in-process
through ``registry.service`` (``LocalMeterOwnership``, for a single host and the bench).

Both read the same four things: the consumer's identity, the meters under it at an
instant (``GET /identities?under={consumer}&type=meter&at=…``), each meter's serial
(its ``meter_serial`` legacy identifier) and the relations, with history, that put the
meter under a connection and the connection under the consumer. When the registry
cannot answer, the check fails closed (``consent-ownership-unavailable``): no consent is
written and no data leaves on a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from sqlalchemy import Engine

from consent.errors import OwnershipUnavailable
from consent.ownership import Holding, Link, period_around
from kernel.database import session_scope
from registry import service as registry
from registry.errors import IdentityNotFound, InvalidIdentifier
from registry.identifiers import EntityType
from registry.models import LegacyScheme
from registry.store import Window

_CONSUMER, _CONNECTION, _METER = "consumer", "connection", "meter"
_SERIAL = LegacyScheme.METER_SERIAL.value


class _Topology(Protocol):
    def consumer(self, consumer_id: str) -> str | None: ...
    def meters_under(self, consumer: str, at: datetime) -> list[str]: ...
    def serials(self, meter: str, at: datetime) -> list[str]: ...
    def parents(self, child: str, parent_type: str) -> list[Link]: ...


def _valid_at(since: datetime, until: datetime | None, at: datetime) -> bool:
    return since <= at and (until is None or at < until)


def _holdings(topology: _Topology, consumer_id: str, at: datetime) -> list[Holding]:
    consumer = topology.consumer(consumer_id)
    if consumer is None:
        return []
    out: list[Holding] = []
    for meter in topology.meters_under(consumer, at):
        meter_links = topology.parents(meter, _CONNECTION)
        owners = {link.parent: topology.parents(link.parent, _CONSUMER) for link in meter_links}
        period = period_around(at, consumer, meter_links, owners)
        if period is None:
            continue
        out += [Holding(serial, *period) for serial in topology.serials(meter, at)]
    return out


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class _HttpTopology:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        try:
            response = self.http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise OwnershipUnavailable(f"the registry did not answer: {exc}") from None
        if response.status_code >= 500:
            raise OwnershipUnavailable(f"the registry answered {response.status_code}")
        return response

    def _json(self, path: str, params: dict[str, str] | None = None) -> Any:
        response = self._get(path, params)
        if response.status_code != 200:
            raise OwnershipUnavailable(f"the registry answered {response.status_code} for {path}")
        return response.json()

    def consumer(self, consumer_id: str) -> str | None:
        response = self._get(f"/identities/{quote(consumer_id, safe='')}")
        if response.status_code in (400, 404, 422):
            return None  # not an identifier the registry issued: it holds nothing
        if response.status_code != 200:
            raise OwnershipUnavailable(f"the registry answered {response.status_code}")
        identity = response.json()
        return str(identity["id"]) if identity.get("type") == _CONSUMER else None

    def meters_under(self, consumer: str, at: datetime) -> list[str]:
        params = {"under": consumer, "type": _METER, "at": at.isoformat(), "limit": "1000"}
        found: list[str] = []
        while True:
            page = self._json("/identities", params)
            found += [str(item["id"]) for item in page["items"]]
            if not page.get("next_cursor"):
                return found
            params["cursor"] = page["next_cursor"]

    def serials(self, meter: str, at: datetime) -> list[str]:
        return [
            str(m["legacy"]["value"])
            for m in self._json(f"/identities/{quote(meter, safe='')}/legacy-ids")
            if m["legacy"]["scheme"] == _SERIAL
            and _valid_at(datetime.fromisoformat(m["valid_from"]), _instant(m.get("valid_to")), at)
        ]

    def parents(self, child: str, parent_type: str) -> list[Link]:
        return [
            Link(str(r["parent"]), datetime.fromisoformat(r["valid_from"]), _instant(r["valid_to"]))
            for r in self._json(f"/identities/{quote(child, safe='')}/relations")
            if r["parent_type"] == parent_type
        ]


class HttpMeterOwnership:
    """The registry's HTTP API (``IES_REGISTRY_URL``)."""

    def __init__(self, http: httpx.Client) -> None:
        self._topology = _HttpTopology(http)

    def holdings(self, consumer_id: str, at: datetime) -> Sequence[Holding]:
        return _holdings(self._topology, consumer_id, at)


class _LocalTopology:
    def __init__(self, session: Any) -> None:
        self.session = session

    def consumer(self, consumer_id: str) -> str | None:
        try:
            identity = registry.get_identity(self.session, consumer_id)
        except (IdentityNotFound, InvalidIdentifier):
            return None
        return identity.id if identity.type is EntityType.CONSUMER else None

    def meters_under(self, consumer: str, at: datetime) -> list[str]:
        found: list[str] = []
        after: str | None = None
        while True:
            page = registry.search(
                self.session,
                entity_type=EntityType.METER,
                address={},
                under=consumer,
                window=Window(at, at + timedelta(microseconds=1)),
                after=after,
                limit=1000,
            )
            found += [identity.id for identity in page]
            if len(page) < 1000:
                return found
            after = page[-1].id

    def serials(self, meter: str, at: datetime) -> list[str]:
        return [
            m.legacy.value
            for m in registry.legacy_ids_of(self.session, meter)
            if m.legacy.scheme is LegacyScheme.METER_SERIAL
            and _valid_at(m.valid_from, m.valid_to, at)
        ]

    def parents(self, child: str, parent_type: str) -> list[Link]:
        return [
            Link(r.parent, r.valid_from, r.valid_to)
            for r in registry.relations_of(self.session, child)
            if r.parent_type.value == parent_type
        ]


class LocalMeterOwnership:
    """The registry's service functions on its own database, in this process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def holdings(self, consumer_id: str, at: datetime) -> Sequence[Holding]:
        with session_scope(self.engine) as session:
            return _holdings(_LocalTopology(session), consumer_id, at)
