"""What the console reads and asks, over the participants' own HTTP APIs.

Every page is built from these calls and nothing else: the console keeps no copy of
anyone's records. An answer that is not a success becomes an ``Upstream`` error that
carries the participant's own problem detail, so a page can show the consumer why the
consent manager refused (an invalid transition, a widening "narrowing") instead of a
bare failure.

The consent manager's consumer routes answer only the consumer themself or a participant
holding ``consent:consumer``: the console calls them with its own machine token (``consent``,
a :func:`sandbox.participants.common.machine_client` for the consent manager), acting for
the person it signed in and only for that person's own persona (``sandbox.console.signin``).

A participant's back office (``kernel.backoffice``) answers the console only for an
operator of that participant: the console calls it with its own machine token for that
participant (scope ``backoffice``) and ``X-On-Behalf-Of: operator <organisation>``, the
organisation of the operator signed in on this request (:data:`SIGNED_IN`, set by
:func:`remember_signed_in` on every page), so an operator of one participant is refused
another's back office by the participant itself. The few doors that also serve a
consumer's own data are called ``consumer=...`` (the load curve by consumer number, the
platform's statements by registry id, a credential's status by the holder's DID).
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

import httpx
from fastapi import Request

from kernel.access import Principal, authenticate
from kernel.backoffice import on_behalf_of
from protocol.filings.client import signed_headers
from protocol.signing import Signer
from sandbox.machine_auth import acting_as
from sandbox.participants.common import ParticipantSettings
from sandbox.plan import AUTHORITY, SUBSCRIBERS, TRUST_REGISTRY, Member, Plan

OUTAGE_SERVICE = "/outage-service"  # where a discom mounts its outage service

Json = dict[str, Any]

# The person signed in on the page being answered (its principal on the console).
SIGNED_IN: ContextVar[Principal | None] = ContextVar("console_signed_in", default=None)


async def remember_signed_in(request: Request) -> None:
    """A page dependency (after sign-in's own): who the back-office calls act for. Async,
    so the value set here is the one the page's worker thread sees (copied context)."""
    SIGNED_IN.set(await authenticate(request))


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
    """The running network as the console reaches it: one HTTP client, the plan's URLs;
    ``consent`` carries the console's machine token for the consent manager."""

    def __init__(self, plan: Plan, http: httpx.Client, consent: httpx.Client) -> None:
        self.plan = plan
        self.http = http
        self.consent_http = consent

    def member(self, name: str) -> Member:
        return self.plan.member(name)

    def _call(
        self, who: str, method: str, url: str, *, client: httpx.Client | None = None, **kwargs: Any
    ) -> Any:
        try:
            response = (client or self.http).request(method, url, **kwargs)
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

    # ------------------------------------------------------------------ back offices

    def office(
        self, name: str, method: str, path: str, *, for_consumer: str | None = None, **kwargs: Any
    ) -> Any:
        """``name``'s back office, with the console's machine token for it, acting for
        the operator signed in (their organisation) or, given ``for_consumer``, for that
        consumer (the door itself checks the consumer is the one it is asked about)."""
        member = self.member(name)
        if for_consumer is not None:
            headers = on_behalf_of("consumer", for_consumer)
        else:
            who = SIGNED_IN.get()
            if who is None or who.kind != "operator":
                raise Upstream(name, 403, "a back office answers only its own operators")
            headers = on_behalf_of("operator", self.member(who.organisation).host)
        passphrase = ParticipantSettings().key_passphrase.get_secret_value()
        auth = acting_as(self.plan, "console", passphrase, member.host)
        return self._call(name, method, member.url + path, auth=auth, headers=headers, **kwargs)

    def office_get(self, name: str, path: str, *, for_consumer: str | None = None,
                   **params: Any) -> Any:  # fmt: skip
        clean = {k: v for k, v in params.items() if v is not None}
        return self.office(name, "GET", path, for_consumer=for_consumer, params=clean)

    def office_post(self, name: str, path: str, body: Any = None, *,
                    for_consumer: str | None = None) -> Any:  # fmt: skip
        kwargs: dict[str, Any] = {} if body is None else {"json": body}
        return self.office(name, "POST", path, for_consumer=for_consumer, **kwargs)

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

    def _consumer_get(self, path: str, **params: Any) -> Any:
        """A consumer route, with the console's machine token (``consent:consumer``)."""
        clean = {k: v for k, v in params.items() if v is not None}
        url = self.member("consent").url + path
        return self._call("consent", "GET", url, client=self.consent_http, params=clean)

    def consents(self, consumer_id: str) -> list[Json]:
        items: list[Json] = []
        cursor: str | None = None
        while True:
            page = self._consumer_get(
                f"/consumers/{consumer_id}/consents", cursor=cursor, limit=200
            )
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def consent(self, consumer_id: str, consent_id: str) -> Json:
        found: Json = self._consumer_get(f"/consumers/{consumer_id}/consents/{consent_id}")
        return found

    def consent_action(
        self, consumer_id: str, consent_id: str, action: str, narrowing: Json | None = None
    ) -> Json:
        url = f"{self.member('consent').url}/consumers/{consumer_id}/consents/{consent_id}/{action}"
        kwargs: dict[str, Any] = {} if narrowing is None else {"json": narrowing}
        done: Json = self._call("consent", "POST", url, client=self.consent_http, **kwargs)
        return done

    def audit(self, consumer_id: str, accesses_only: bool = False) -> list[Json]:
        found: list[Json] = self._consumer_get(
            f"/consumers/{consumer_id}/audit",
            accesses_only=str(accesses_only).lower(),
            limit=1000,
        )
        return found

    def purposes(self) -> list[Json]:
        found: list[Json] = self.get("consent", "/consent/purposes")
        return found

    # ------------------------------------------------------------------ issuers, verifiers

    def issued(self, issuer: str, credential_id: str, holder: str | None = None) -> Json:
        """A credential's status at its issuer: for the issuer's operator, or (``holder``,
        the wallet's DID) for the consumer holding it."""
        found: Json = self.office_get(issuer, f"/credentials/issued/{credential_id}",
                                      for_consumer=holder)  # fmt: skip
        return found

    def set_status(self, issuer: str, credential_id: str, status: str, reason: str) -> Json:
        body = {"credentialId": credential_id, "status": status, "reason": reason}
        # The discom's operator acts through its own back office, which holds the discom's
        # key (in the sandbox: the run's one passphrase): a machine token as the issuer.
        member = self.member(issuer)
        passphrase = ParticipantSettings().key_passphrase.get_secret_value()
        auth = acting_as(self.plan, issuer, passphrase, member.host)
        done: Json = self._call(issuer, "POST", member.url + "/credentials/status", json=body,
                                auth=auth)  # fmt: skip
        return done

    def issue(self, issuer: str, draft: Json) -> Json:
        """A credential from ``issuer``'s own back office (the nodal agency's licence, the
        test lab's certificate for the installer's form), with its machine token as the
        issuer, as for ``set_status``."""
        member = self.member(issuer)
        passphrase = ParticipantSettings().key_passphrase.get_secret_value()
        auth = acting_as(self.plan, issuer, passphrase, member.host)
        done: Json = self._call(issuer, "POST", member.url + "/credentials/issue",
                                json={"credential": draft}, auth=auth)  # fmt: skip
        return done

    # ------------------------------------------------------------------ message logs

    def messages(self, name: str, transaction_id: str) -> list[Json]:
        items: list[Json] = []
        cursor: str | None = None
        while True:
            page = self.office_get(
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

    def _ledger(self, path: str, **params: Any) -> Any:
        """A ledger read with the console's own machine token (ledger:read): the console
        is a directory identity; its key is in custody under the run's passphrase."""
        passphrase = ParticipantSettings().key_passphrase.get_secret_value()
        auth = acting_as(self.plan, "console", passphrase, self.plan.directory.host)
        clean = {k: v for k, v in params.items() if v is not None}
        return self._call("registry", "GET", self.plan.directory.url + path, params=clean,
                          auth=auth)  # fmt: skip

    def trades(self, party: str | None = None, limit: int = 1000) -> list[Json]:
        """Trades the platform recorded in the registry's ledger, oldest first."""
        items: list[Json] = []
        cursor: str | None = None
        while len(items) < limit:
            page = self._ledger("/ledger/trades", party=party, cursor=cursor, limit=500)
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
            page = self._ledger(
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
            page = self.office_get("regulator", "/filings", cursor=cursor, limit=200)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def filing(self, filing_id: str) -> Json:
        found: Json = self.office_get("regulator", f"/filings/{filing_id}")
        return found

    def filing_versions(self, filing_id: str) -> list[Json]:
        found: list[Json] = self.office_get("regulator", f"/filings/{filing_id}/versions")["items"]
        return found

    def request_correction(
        self, filing_id: str, reasons: list[Json], signer: Signer, operator: str
    ) -> Json:
        """Send a filing back with the commission's reasons, signed with the
        commission's own key (``signer``): the inbox takes this ask from no one else.
        ``operator`` (the signed-in member of staff) is inside the signed body."""
        body = json.dumps(
            {"reasons": reasons, "operator": operator}, separators=(",", ":")
        ).encode()
        url = f"{self.member('regulator').url}/filings/{filing_id}/corrections"
        done: Json = self._call(
            "regulator", "POST", url, content=body, headers=signed_headers(body, signer)
        )
        return done

    # ------------------------------------------------------------------ outages

    def outages(self, discom: str) -> list[Json]:
        found: list[Json] = self.office_get(discom, f"{OUTAGE_SERVICE}/outages")
        return found

    # ------------------------------------------------------------------ P2P platform

    def platform_blocks(self, day: str) -> list[Json]:
        """The platform's blocks of a day: orders taken, cleared price and quantity."""
        items: list[Json] = []
        cursor: str | None = None
        while True:
            page = self.office_get("p2p", "/platform/blocks", day=day, cursor=cursor, limit=96)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def platform_block(self, day: str, number: int) -> Json:
        found: Json = self.office_get("p2p", f"/platform/blocks/{day}/{number}")
        return found

    def statements(
        self, day: str | None = None, party: str | None = None, *, consumer: str | None = None
    ) -> list[Json]:
        """Settlement statements as the platform stored them when it settled: for its
        operator, or (``consumer``, a registry id) that prosumer's own."""
        items: list[Json] = []
        cursor: str | None = None
        party = consumer or party
        while True:
            page = self.office_get(
                "p2p", "/platform/statements", for_consumer=consumer,
                day=day, party=party, cursor=cursor, limit=500,
            )  # fmt: skip
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    # ------------------------------------------------------------------ DER onboarding

    def der_queue(
        self,
        discom: str,
        cursor: str | None,
        limit: int = 25,
        *,
        requester: str | None = None,
        consumer: str | None = None,
    ) -> Json:
        """The discom's queue: for its operator; an applicant's operator its own rows
        (``requester`` = the applicant's host); a consumer theirs (``consumer``)."""
        page: Json = self.office_get(
            discom, "/der-onboarding/applications", for_consumer=consumer,
            cursor=cursor, limit=limit, requester=requester, consumer=consumer,
        )  # fmt: skip
        return page

    def der_application(self, discom: str, number: str) -> Json:
        found: Json = self.office_get(discom, f"/der-onboarding/applications/{number}")
        return found
