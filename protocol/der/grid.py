"""The registry's HTTP API as the DER decision reads and writes it (``Grid`` port).

Reads: the consumer's connection (category, sanctioned load, phase from its meter), the
distribution transformer it sits under now (rating, recorded hosting capacity) and
every DER under that DT now, summed. Writes, on approval only: the DER under the
connection and its bidirectional meter under the DER, valid from the approval, each
with an ``Idempotency-Key`` so a retried decision makes no second identity.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from protocol.der.models import Application, ConnectionFacts, Registered

DER_KIND = {"solar_pv": "rooftop_solar", "solar_pv_with_storage": "rooftop_solar",
            "wind": "wind", "small_hydro": "small_hydro", "biomass": "biomass"}  # fmt: skip


class RegistryUnavailable(RuntimeError):
    """The registry answered something other than what the decision needs."""


class HttpGrid:
    def __init__(self, http: httpx.Client, *, state: str, discom: str) -> None:
        self.http = http  # base_url: the registry
        self.state = state
        self.discom = discom

    def _get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RegistryUnavailable(f"GET {path}: {response.status_code} {response.text[:200]}")
        return response.json()

    def _children(self, ies_id: str, kind: str) -> list[str]:
        found = self._get(f"/identities/{ies_id}/children") or []
        return [r["child"] for r in found if r["child_type"] == kind]

    def connection_facts(self, consumer_id: str) -> ConnectionFacts | None:
        connections = self._children(consumer_id, "connection")
        if len(connections) != 1:
            return None
        connection = self._get(f"/identities/{connections[0]}")
        relations = self._get(f"/identities/{connections[0]}/relations") or []
        feeding = [
            r["parent"]
            for r in relations
            if r["parent_type"] == "distribution_transformer" and r["valid_to"] is None
        ]
        if connection is None or len(feeding) != 1:
            return None
        transformer = self._get(f"/identities/{feeding[0]}")
        attrs, dt = connection["attributes"], (transformer or {}).get("attributes", {})
        if "sanctioned_load_kw" not in attrs or "capacity_kva" not in dt:
            return None
        phase = attrs.get("phase")
        for meter in self._children(connections[0], "meter") if phase is None else []:
            phase = (self._get(f"/identities/{meter}") or {}).get("attributes", {}).get("phase")
        return ConnectionFacts(
            consumer_id=consumer_id,
            connection_id=connections[0],
            category=attrs.get("category", "other"),
            sanctioned_load_kw=float(attrs["sanctioned_load_kw"]),
            phase="three" if phase == 3 else "single",
            transformer_id=feeding[0],
            rating_kva=float(dt["capacity_kva"]),
            hosting_capacity_kw=dt.get("hosting_capacity_kw"),
            connected_der_kw=self.der_kw_under(feeding[0]),
        )

    def der_kw_under(self, transformer_id: str) -> float:
        """Every DER under the DT now (through its connections), summed: the registry's
        topology answers, page by page."""
        total, cursor = 0.0, None
        while True:
            params: dict[str, Any] = {"type": "der", "under": transformer_id, "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            page = self._get("/identities", **params) or {"items": []}
            total += sum(float(i["attributes"].get("capacity_kw", 0.0)) for i in page["items"]
                         if i.get("status") == "active")  # fmt: skip
            cursor = page.get("next_cursor")
            if not cursor:
                return total

    def meter_in_use(self, number: str, application: Application) -> bool:
        """Whether the meter's serial already names a meter other than the one this
        application registered (found under its DER on a retried decision)."""
        meter = application.meter
        found = self._get("/resolve", scheme="meter_serial", scope=meter.manufacturer,
                          value=meter.serial_number, type="meter")  # fmt: skip
        if found is None:
            return False
        der = self._get("/resolve", scheme="gis_asset", scope=self.discom, value=number,
                        type="der")  # fmt: skip
        if der is None:
            return True
        relations = self._get(f"/identities/{found['ies_id']}/relations") or []
        return not any(r["parent"] == der["ies_id"] for r in relations)

    def _create(self, draft: dict[str, Any], key: str) -> str:
        response = self.http.post("/identities", json=draft, headers={"Idempotency-Key": key})
        if response.status_code != 201:
            raise RegistryUnavailable(
                f"POST /identities: {response.status_code} {response.text[:300]}"
            )
        identity: str = response.json()["id"]
        return identity

    def register(
        self, number: str, application: Application, facts: ConnectionFacts, key: str
    ) -> Registered:
        since = datetime.now(UTC).isoformat()
        address = {"state": self.state, "discom": self.discom}
        attributes: dict[str, Any] = {
            "kind": DER_KIND.get(application.der.type, "other"),
            "capacity_kw": application.der.capacity_kw,
            "commissioned_on": application.commissioning_date.isoformat(),
        }
        if application.der.storage_kwh is not None:
            attributes["storage_kwh"] = application.der.storage_kwh
        der_id = self._create({
            "type": "der", "address": address, "attributes": attributes,
            "legacy_ids": [{"scheme": "gis_asset", "scope": self.discom, "value": number}],
            "parents": {"connection": {"id": facts.connection_id}}, "valid_from": since,
        }, f"{key}-der")  # fmt: skip
        meter = application.meter
        meter_id = self._create({
            "type": "meter", "address": address,
            "attributes": {"manufacturer": meter.manufacturer, "model": meter.model,
                           "phase": meter.phase, "kind": "bidirectional"},
            "legacy_ids": [{"scheme": "meter_serial", "scope": meter.manufacturer,
                            "value": meter.serial_number}],
            "parents": {"der": {"id": der_id}}, "valid_from": since,
        }, f"{key}-meter")  # fmt: skip
        return Registered(der_id=der_id, meter_id=meter_id)
