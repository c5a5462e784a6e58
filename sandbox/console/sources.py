"""What the console reads and asks, over the participants' own HTTP APIs.

Every page is built from these calls and nothing else: the console keeps no copy of
anyone's records. An answer that is not a success becomes an ``Upstream`` error that
carries the participant's own problem detail, so a page can show the consumer why the
consent manager refused (an invalid transition, a widening "narrowing") instead of a
bare failure.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from protocol.filings.client import signed_headers
from protocol.signing import Signer
from sandbox.plan import AUTHORITY, SUBSCRIBERS, TRUST_REGISTRY, Member, Plan

OUTAGE_SERVICE = "/outage-service"  # where a discom mounts its outage service

Json = dict[str, Any]


class Upstream(Exception):
    """A participant refused or failed: its HTTP status and its problem detail."""

    def __init__(self, who: str, status: int, detail: str) -> None:
        super().__init__(f"{who}: {status} {detail}")
        self.who = who
        self.status = status
        self.detail = detail


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:300]
    return str(body)[:300]


class Participants:
    """The running network as the console reaches it: one HTTP client, the plan's URLs."""

    def __init__(self, plan: Plan, http: httpx.Client) -> None:
        self.plan = plan
        self.http = http

    def member(self, name: str) -> Member:
        return self.plan.member(name)

    def _call(self, who: str, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise Upstream(who, 503, f"not reachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise Upstream(who, response.status_code, _detail(response))
        if not response.content:
            return None
        if "json" in response.headers.get("content-type", "").split(";")[0]:
            return response.json()
        return response.text

    def get(self, name: str, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self._call(name, "GET", self.member(name).url + path, params=clean)

    def post(self, name: str, path: str, body: Any = None) -> Any:
        kwargs: dict[str, Any] = {} if body is None else {"json": body}
        return self._call(name, "POST", self.member(name).url + path, **kwargs)

    def get_url(self, who: str, url: str, **kwargs: Any) -> Any:
        return self._call(who, "GET", url, **kwargs)

    # ------------------------------------------------------------------ registry

    def resolve_consumer(self, scheme: str, scope: str, number: str) -> str:
        found = self.get(
            "registry", "/resolve", scheme=scheme, scope=scope, value=number, type="consumer"
        )
        return str(found["ies_id"])

    def identities(
        self, discom: str, kind: str | None, cursor: str | None, limit: int = 25
    ) -> Json:
        page: Json = self.get(
            "registry", "/identities", discom=discom, type=kind, cursor=cursor, limit=limit
        )
        return page

    def legacy_ids(self, ies_id: str) -> list[Json]:
        found: list[Json] = self.get("registry", f"/identities/{ies_id}/legacy-ids")
        return found

    def namespace(self, host: str) -> Json:
        found: Json = self.get("registry", f"/dedi/namespaces/{host}")
        return found

    def subscriber_record(self, host: str) -> Json:
        found: Json = self.get("registry", f"/dedi/lookup/{host}/{SUBSCRIBERS}/k1")["data"]
        return found

    def roles(self) -> list[Json]:
        """The operator's trust registry: every participant's role record."""
        records: list[Json] = []
        cursor: str | None = None
        while True:
            page = self.get(
                "registry", f"/dedi/query/{AUTHORITY}/{TRUST_REGISTRY}", cursor=cursor, limit=100
            )
            records += page["data"]["records"]
            cursor = page.get("next_cursor")
            if not cursor:
                return records

    def subscribers(self) -> list[Json]:
        items: list[Json] = []
        cursor: str | None = None
        while True:
            page = self.get("registry", "/dedi/subscribers", cursor=cursor, limit=100)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    # ------------------------------------------------------------------ consent manager

    def consents(self, consumer_id: str) -> list[Json]:
        items: list[Json] = []
        cursor: str | None = None
        while True:
            page = self.get(
                "consent", f"/consumers/{consumer_id}/consents", cursor=cursor, limit=200
            )
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def consent(self, consumer_id: str, consent_id: str) -> Json:
        found: Json = self.get("consent", f"/consumers/{consumer_id}/consents/{consent_id}")
        return found

    def consent_action(
        self, consumer_id: str, consent_id: str, action: str, narrowing: Json | None = None
    ) -> Json:
        done: Json = self.post(
            "consent", f"/consumers/{consumer_id}/consents/{consent_id}/{action}", narrowing
        )
        return done

    def audit(self, consumer_id: str, accesses_only: bool = False) -> list[Json]:
        found: list[Json] = self.get(
            "consent",
            f"/consumers/{consumer_id}/audit",
            accesses_only=str(accesses_only).lower(),
            limit=1000,
        )
        return found

    def purposes(self) -> list[Json]:
        found: list[Json] = self.get("consent", "/consent/purposes")
        return found

    # ------------------------------------------------------------------ issuers, verifiers

    def issued(self, issuer: str, credential_id: str) -> Json:
        found: Json = self.get(issuer, f"/credentials/issued/{credential_id}")
        return found

    def set_status(self, issuer: str, credential_id: str, status: str, reason: str) -> Json:
        body = {"credentialId": credential_id, "status": status, "reason": reason}
        done: Json = self.post(issuer, "/credentials/status", body)
        return done

    # ------------------------------------------------------------------ message logs

    def messages(self, name: str, transaction_id: str) -> list[Json]:
        items: list[Json] = []
        cursor: str | None = None
        while True:
            page = self.get(
                name, f"/protocol/transactions/{transaction_id}/messages", cursor=cursor, limit=500
            )
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    # ------------------------------------------------------------------ policy packs

    def packs(self) -> list[Json]:
        found: list[Json] = self.get("regulator", "/policy/packs")
        return found

    def pack(self, pack_id: str, version: str) -> Json:
        found: Json = self.get("regulator", f"/policy/packs/{pack_id}/{version}")
        return found

    # ------------------------------------------------------------------ trade ledger

    def trades(self, party: str | None = None, limit: int = 1000) -> list[Json]:
        """Trades the platform recorded in the registry's ledger, oldest first."""
        items: list[Json] = []
        cursor: str | None = None
        while len(items) < limit:
            page = self.get("registry", "/ledger/trades", party=party, cursor=cursor, limit=500)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items[:limit]

    def meter_blocks(self, meter: str, since: str | None, until: str | None) -> list[Json]:
        """A meter's export/import per block as its discom recorded it in the ledger."""
        items: list[Json] = []
        cursor: str | None = None
        while True:
            page = self.get(
                "registry",
                "/ledger/meter-blocks",
                meter=meter,
                since=since,
                until=until,
                cursor=cursor,
                limit=1000,
            )
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    # ------------------------------------------------------------------ filings inbox

    def filings(self) -> list[Json]:
        items: list[Json] = []
        cursor: str | None = None
        while True:
            page = self.get("regulator", "/filings", cursor=cursor, limit=200)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def filing(self, filing_id: str) -> Json:
        found: Json = self.get("regulator", f"/filings/{filing_id}")
        return found

    def filing_versions(self, filing_id: str) -> list[Json]:
        found: list[Json] = self.get("regulator", f"/filings/{filing_id}/versions")["items"]
        return found

    def request_correction(self, filing_id: str, reasons: list[Json], signer: Signer) -> Json:
        """Send a filing back with the commission's reasons, signed with the
        commission's own key (``signer``): the inbox takes this ask from no one else."""
        body = json.dumps({"reasons": reasons}, separators=(",", ":")).encode()
        url = f"{self.member('regulator').url}/filings/{filing_id}/corrections"
        done: Json = self._call(
            "regulator", "POST", url, content=body, headers=signed_headers(body, signer)
        )
        return done

    # ------------------------------------------------------------------ outages

    def outages(self, discom: str) -> list[Json]:
        found: list[Json] = self.get(discom, f"{OUTAGE_SERVICE}/outages")
        return found
