"""Fixtures of the consent tests: a whole small network on real uvicorn servers.

The directory (registry app) with the participants' own hosts for domain proof; an
energy-advice app and a lender app (BAPs) with notification receivers; the consent
manager; a discom whose meter data service serves a HES archive (adapters, synthetic
data) through the consent gate. Keys stay in each participant's encrypted custody and
are looked up through the directory over HTTP.

The consumer routes need credentials (issue 15): the tests act as the console does, with
a machine token holding ``consent:consumer`` (``consumer_http``), or as the consumer
signed in at the manager with a one-time code from the inbox (``sign_in``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters import hes, vee
from adapters.dlms import simulator
from adapters.synthetic import IST, Network
from consent.app import ConsentSettings, create_app
from consent.client import HttpConsentManager
from consent.gate import ConsentGate
from consent.holders import HttpMeterOwnership
from consent.policy import PolicyPoint
from consent.provider import create_provider_app
from consent.signatures import HEADER, SigningIdentity, verify_body
from credentials.signin.api import install_signin_api
from credentials.signin.service import RelyingParty, SignIn
from policy_packs import SHIPPED_KEYRING, SHIPPED_PACKS, EmbeddedEngine, FileKeyring, load_catalogue
from registry.directory.client import HttpKeyLookup
from sandbox.console.signin_inbox import SandboxInbox
from sandbox.consumer_signin import consumer_session
from sandbox.participants.consent_signin import consumer_directory, consumer_principal
from tests.registry.directory.conftest import (
    make_participant,
    onboard,
    serve,
    stack,
    subscriber_details,
)
from tests.tokens import TestIssuer

__all__ = ["stack"]

SUBSCRIBERS = "subscribers.beckn.one"
APP = "advisor.example"
LENDER = "lender.example"
DISCOM = "discom-a.example"
CM = "consent.example"
CONSOLE = "console.example"  # the consumers' front end: a participant acting for them
DAYS = 7
TODAY = datetime.now(IST).date()
DAY0 = TODAY - timedelta(days=12)  # the archive holds DAY0 .. DAY0+6


class Clock:
    """Real time plus an offset a test may move forward (expiry, frequency windows)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture(scope="session")
def policy() -> PolicyPoint:
    return PolicyPoint(
        load_catalogue(SHIPPED_PACKS, FileKeyring(SHIPPED_KEYRING)), EmbeddedEngine()
    )


@pytest.fixture(scope="session")
def synthetic() -> Network:
    return Network(seed=7, consumers=3)


@pytest.fixture(scope="session")
def archive(synthetic: Network) -> hes.HesArchive:
    store = hes.HesArchive(config=vee.VeeConfig(discom="MSEDCL"))
    for n in range(DAYS):
        day = datetime(DAY0.year, DAY0.month, DAY0.day, tzinfo=IST) + timedelta(days=n)
        for meter_day in synthetic.days(day):
            blocks = simulator.blocks_from_kwh(
                day, timedelta(minutes=15), meter_day.imports, meter_day.exports
            )
            store.add_block_load(
                meter_day.consumer.meter_serial, day.date(), simulator.block_load_buffer(blocks)
            )
    for consumer in synthetic.consumers:
        start = datetime(DAY0.year, DAY0.month, DAY0.day, tzinfo=IST)
        store.add_billing(
            consumer.meter_serial,
            simulator.billing_buffer(
                [(start + timedelta(days=5), 900_000, 15_000, [200_000, 300_000, 250_000,
                  150_000], 2_300)]
            ),
        )  # fmt: skip
        store.add_events(
            consumer.meter_serial,
            2,
            simulator.event_buffer([(start + timedelta(days=2, hours=3), 101)]),
        )
    return store


class Receiver:
    """A participant's endpoint for the consent manager's notifications (verifies them)."""

    def __init__(self) -> None:
        self.keys: Any = None
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0

        async def notify(request: Request) -> Response:
            if self.fail_next:
                self.fail_next -= 1
                return Response(status_code=503)
            body = await request.body()
            signed = verify_body(
                body, request.headers.get(HEADER), self.keys, now=datetime.now(UTC)
            )
            self.received.append(
                {"signer": signed.subscriber_id, **json.loads(body),
                 "notification_id": request.headers.get("X-IES-Notification-Id")}
            )  # fmt: skip
            return Response(status_code=204)

        self.app = Starlette(routes=[Route("/consent/notifications", notify, methods=["POST"])])


@dataclass
class ConsentNetwork:
    stack: Any
    clock: Clock
    keys: HttpKeyLookup
    app: SigningIdentity
    lender: SigningIdentity
    discom: SigningIdentity
    cm: SigningIdentity
    cm_url: str
    discom_url: str
    cm_http: httpx.Client
    discom_http: httpx.Client
    cm_app: Any
    discom_app: Any
    app_receiver: Receiver
    consumer: str
    other_consumer: str
    meter: str
    other_meter: str
    synthetic: Network
    registry_http: httpx.Client
    connections: dict[str, str]  # consumer's IES id -> their connection's IES id
    issuer: TestIssuer  # the directory's token issuer, as the manager trusts it
    consumer_http: httpx.Client  # the manager's consumer routes, as the console calls them
    inbox: Path  # where the manager's one-time codes arrive (the consumers' phones)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def manager(self) -> Any:
        return self.cm_app.state.manager

    def audit_check(self) -> dict[str, Any]:
        """The audit chain's check, asked by the manager's own tooling (its back office)."""
        own = self.issuer.headers(CM, (), subject=CM)
        report: dict[str, Any] = self.cm_http.get("/consent/audit/verify", headers=own).json()
        return report

    def signed(
        self, identity: SigningIdentity, payload: dict[str, Any], typ: str
    ) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload).encode()
        return body, {
            "Content-Type": "application/json",
            HEADER: identity.sign_body(body, typ, self.clock()),
        }

    def request_consent(
        self, identity: SigningIdentity | None = None, **overrides: Any
    ) -> httpx.Response:
        identity = identity or self.app
        body = consent_request(identity.subscriber_id, self.consumer, self.meter, **overrides)
        raw, headers = self.signed(identity, body, "ies-consent-request+jws")
        return self.cm_http.post("/consent/requests", content=raw, headers=headers)

    def fetch(self, identity: SigningIdentity | None = None, **overrides: Any) -> httpx.Response:
        identity = identity or self.app
        raw, headers = self.signed(identity, meter_data_request(**overrides), "ies-meter-data+jws")
        return self.discom_http.post("/meter-data", content=raw, headers=headers)

    def sign_in(self, consumer: str | None = None) -> dict[str, str]:
        """The consumer signed in at the manager (the real flow): session headers."""
        return consumer_session(self.cm_url, self.inbox, consumer or self.consumer)

    def consumer_post(
        self, consent_id: str, action: str, body: Any = None, consumer: str | None = None
    ) -> httpx.Response:
        who = consumer or self.consumer
        return self.consumer_http.post(
            f"/consumers/{who}/consents/{consent_id}/{action}",
            content=json.dumps(body).encode() if body is not None else b"",
            headers={"Content-Type": "application/json"},
        )


def consent_request(app: str, consumer: str, meter: str, **overrides: Any) -> dict[str, Any]:
    scope = {
        "meters": [meter],
        "data_types": ["interval_consumption", "net_export", "billing"],
        "date_range": {
            "from": DAY0.isoformat(),
            "to": (DAY0 + timedelta(days=DAYS - 1)).isoformat(),
        },
        "granularity": "hourly",
        "fetch_type": "periodic",
        "frequency": {"value": 4, "unit": "day"},
        "data_life_days": 30,
        "expires_at": (datetime.now(UTC) + timedelta(days=90)).isoformat(),
    }
    scope.update(overrides.pop("scope", {}))
    body = {
        "request_id": overrides.pop("request_id", f"req-{datetime.now(UTC).timestamp():.6f}"),
        "data_consumer": app,
        "data_provider": DISCOM,
        "jurisdiction": "IN-MH",
        "consumer_id": consumer,
        "purpose": "energy_advice",
        "scope": scope,
        "languages": ["en", "hi", "mr"],
    }
    body.update(overrides)
    return body


def meter_data_request(
    *,
    consent: str,
    start: date,
    days: int,
    granularity: str | None = None,
    readings: list[str] | None = None,
    profile: str = "IntervalProfile",
    resources: list[str] | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "from": datetime(start.year, start.month, start.day, tzinfo=IST).isoformat(),
        "duration": f"P{days}D",
        "consumerConsent": [consent],
        "capabilitiesRequested": {
            "profiles": [
                {"profileType": profile}
                | (
                    {"readings": [{"value": r, "mode": "USAGE"} for r in readings]}
                    if readings
                    else {}
                )
            ]
        },
    }
    if granularity:
        request["granularity"] = granularity
    if resources:
        request["resources"] = resources
    return request


HELD_SINCE = "2020-01-01T00:00:00+05:30"


def register_consumer(registry: httpx.Client, meter_serial: str) -> tuple[str, str]:
    """A consumer, their connection and its meter in the registry (the discom's
    onboarding): ``(consumer id, connection id)``."""

    def create(body: dict[str, Any]) -> str:
        created = registry.post("/identities", json={"valid_from": HELD_SINCE, **body})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    consumer = create({"type": "consumer"})
    connection = create({"type": "connection", "parents": {"consumer": {"id": consumer}}})
    create(
        {
            "type": "meter",
            "legacy_ids": [{"scheme": "meter_serial", "scope": "GENUS", "value": meter_serial}],
            "parents": {"connection": {"id": connection}},
        }
    )
    return consumer, connection


def _join(stack: Any, tmp_path: Any, namespace: str, kind: str, url: str) -> SigningIdentity:
    stack.host_map[namespace] = stack.hosts_url
    participant = make_participant(stack, tmp_path, namespace)
    onboard(stack, participant)
    created = participant.writer.create_registry(namespace, SUBSCRIBERS, "subscriber")
    assert created.status_code == 201, created.text
    participant.new_signing_key("k1")
    written = participant.writer.put_record(
        namespace,
        SUBSCRIBERS,
        "k1",
        subscriber_details(participant, "k1", type=kind, subscriber_url=url),
    )
    assert written.status_code == 200, written.text
    return SigningIdentity(namespace, "k1", participant.custody)


@pytest.fixture
def network(stack, tmp_path, make_database, policy, archive, synthetic) -> Iterator[ConsentNetwork]:
    clock = Clock()
    receiver = Receiver()
    with (
        serve(receiver.app) as receiver_url,
        stack.authorise(httpx.Client(base_url=stack.directory_url, timeout=10)) as directory_http,
    ):
        app = _join(stack, tmp_path, APP, "BAP", receiver_url)
        lender = _join(stack, tmp_path, LENDER, "BAP", receiver_url)
        providers: dict[str, str] = {}
        discom_placeholder = "http://127.0.0.1:9/"  # replaced once the discom's server is up
        cm = _join(stack, tmp_path, CM, "BPP", "http://127.0.0.1:9/")
        discom = _join(stack, tmp_path, DISCOM, "BPP", discom_placeholder)
        keys = HttpKeyLookup(directory_http)
        receiver.keys = keys
        # The registry (the same app as the directory) knows who holds which meter.
        held = {
            c.meter_serial: register_consumer(directory_http, c.meter_serial)
            for c in synthetic.consumers
        }
        settings = ConsentSettings(
            database_url=make_database("consent:migrations"),
            registry_url=stack.directory_url,
            migrate_on_start=False,
            outbox_interval_seconds=0,
            log_level="WARNING",
            consent_issuer_did=f"did:web:{CM}",
        )
        cm_app = create_app(
            settings, identity=cm, keys=keys, policy=policy, providers=providers, clock=clock
        )
        issuer = TestIssuer()
        issuer.install(cm_app, CM)  # the directory's machine tokens for this manager
        inbox = tmp_path / "inbox"
        signin = SignIn(
            cm_app.state.engine,
            SandboxInbox(inbox),
            RelyingParty("localhost", "consent tests", ("http://localhost",)),
            b"consent tests sign-in pepper 0123456789",
            directory=consumer_directory(cm_app.state.manager),
        )
        install_signin_api(cm_app, signin, consumer_principal)
        console = issuer.headers(CM, ("consent:consumer",), subject=CONSOLE, roles=("console",))
        with (
            serve(cm_app) as cm_url,
            httpx.Client(base_url=cm_url, timeout=30) as cm_http,
            httpx.Client(base_url=cm_url, timeout=30, headers=console) as consumer_http,
        ):
            gate = ConsentGate(
                provider_id=DISCOM,
                jurisdiction="IN-MH",
                keys=keys,
                trusted_consent_managers=frozenset({CM}),
                artefacts=HttpConsentManager(cm_http, discom, keys, CM, clock),
                ledger=HttpConsentManager(cm_http, discom, keys, CM, clock),
                policy=policy,
                interval=archive,
                billing=archive,
                events=archive,
                ownership=HttpMeterOwnership(directory_http),
                clock=clock,
            )
            discom_app = create_provider_app(gate)
            with (
                serve(discom_app) as discom_url,
                httpx.Client(base_url=discom_url, timeout=30) as discom_http,
            ):
                providers[DISCOM] = f"{discom_url}/consent/notifications"
                consumers = synthetic.consumers
                yield ConsentNetwork(
                    stack=stack,
                    clock=clock,
                    keys=keys,
                    app=app,
                    lender=lender,
                    discom=discom,
                    cm=cm,
                    cm_url=cm_url,
                    discom_url=discom_url,
                    cm_http=cm_http,
                    discom_http=discom_http,
                    cm_app=cm_app,
                    discom_app=discom_app,
                    app_receiver=receiver,
                    consumer=held[consumers[0].meter_serial][0],
                    other_consumer=held[consumers[1].meter_serial][0],
                    meter=consumers[0].meter_serial,
                    other_meter=consumers[1].meter_serial,
                    synthetic=synthetic,
                    registry_http=directory_http,
                    connections=dict(held.values()),
                    issuer=issuer,
                    consumer_http=consumer_http,
                    inbox=inbox,
                )
        cm_app.state.engine.dispose()


def assert_refused(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """A refusal: the problem named, and no meter data anywhere in the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"/problems/{slug}", body
    text = response.text
    for marker in ("intervals", "payloads", "profileType", "readings", 'events":'):
        assert marker not in text, text
    assert "X-IES-Fetch" not in response.headers
    return body
