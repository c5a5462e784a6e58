"""The registry's topology over HTTP: the :class:`TopologyLookup` the outage flow uses.

"Which connections were downstream of feeder F at instant T" is one question to
the registry (``GET /identities?under=F&type=connection&at=T``); the registry walks
its relation history, so a DT re-fed from another feeder last week, or a
connection moved tomorrow, gives the answer that was true at T.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from protocol.outages.errors import TopologyUnavailable, UnknownFeeder
from protocol.outages.models import Downstream

PAGE = 1000


class RegistryTopology:
    """A :class:`~protocol.outages.ports.TopologyLookup` over a registry's HTTP API."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def _get(self, path: str, params: dict[str, str]) -> Any:
        try:
            response = self.client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise TopologyUnavailable(f"the registry did not answer {path}: {exc}") from None
        if response.status_code == 404 or (
            response.status_code == 422 and path.startswith("/identities/")
        ):
            raise UnknownFeeder(f"the registry knows no {params or path}")
        if response.status_code != 200:
            raise TopologyUnavailable(
                f"the registry answered {response.status_code} to {path}: {response.text[:200]}"
            )
        return response.json()

    def _under(self, feeder: str, entity_type: str, at: datetime) -> tuple[str, ...]:
        found: list[str] = []
        params = {"under": feeder, "type": entity_type, "at": at.isoformat(), "limit": str(PAGE)}
        while True:
            page = self._get("/identities", params)
            found += [item["id"] for item in page["items"]]
            if not page.get("next_cursor"):
                return tuple(found)
            params = {**params, "cursor": page["next_cursor"]}

    def downstream(self, feeder: str, at: datetime) -> Downstream:
        if at.tzinfo is None:
            raise ValueError("topology questions need an aware instant")
        identity = self._get(f"/identities/{feeder}", {})
        if identity.get("type") != "feeder":
            raise UnknownFeeder(f"{feeder} is a {identity.get('type')}, not a feeder")
        substation = None
        for relation in self._get(f"/identities/{feeder}/relations", {}):
            start = datetime.fromisoformat(relation["valid_from"])
            end = relation.get("valid_to")
            if (
                relation["parent_type"] == "substation"
                and start <= at
                and (end is None or at < datetime.fromisoformat(end))
            ):
                substation = relation["parent"]
        return Downstream(
            feeder=identity["id"],
            at=at,
            transformers=self._under(identity["id"], "distribution_transformer", at),
            connections=self._under(identity["id"], "connection", at),
            meters=self._under(identity["id"], "meter", at),
            substation=substation,
        )

    def resolve_feeder(self, code: str, scope: str, at: datetime) -> str:
        """A discom's feeder code (its SCADA tag) or an IES feeder id -> the IES id."""
        if code.upper().startswith("FDR"):
            identity = self._get(f"/identities/{code}", {})
            if identity.get("type") == "feeder":
                return str(identity["id"])
        params = {
            "scheme": "scada_tag",
            "scope": scope,
            "value": code,
            "type": "feeder",
            "at": at.isoformat(),
        }
        return str(self._get("/resolve", params)["ies_id"])

    def feeders_of(self, discom: str) -> list[str]:
        found: list[str] = []
        params = {"type": "feeder", "discom": discom, "limit": str(PAGE)}
        while True:
            page = self._get("/identities", params)
            found += [item["id"] for item in page["items"]]
            if not page.get("next_cursor"):
                return found
            params = {**params, "cursor": page["next_cursor"]}
