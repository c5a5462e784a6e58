"""A discom's process: its credential issuer, its back office over its legacy systems
(the registry it onboarded its CIS into, its head-end system's export), and its Beckn
BPP endpoint in the meter-data network.

Back office (the discom's own staff and consumer app call it):

* ``POST /back-office/passports`` ``{consumerNumber, holder}``: the Consumer Energy
  Passport: the consumer's identity, connection and meter from the registry, issued
  as an ElectricityCredential v1.2 to the holder's DID, delivered by wallet pull URI.
* ``POST /back-office/digests`` ``{consumerNumber, holder}``: the Consumer Meter
  Digest: the last billing period the HES recorded (DLMS buffers decoded, VEE-checked
  and mapped to MeterData v0.6 by ``adapters.hes``) as a MeterDataCredential v0.6.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from adapters.columnar.remote import columnar_archive
from adapters.hes import HesArchive
from adapters.synthetic import IST
from consent.client import HttpConsentManager
from consent.gate import ConsentGate
from consent.holders import HttpMeterOwnership
from consent.policy import PolicyPoint
from consent.provider import create_provider_app
from consent.signatures import SigningIdentity
from credentials.app import create_app
from credentials.service import CredentialService
from kernel.access import Principal
from kernel.backoffice import BY_ROUTE, backoffice, check_consumer
from kernel.migrations import upgrade
from kernel.service import LazyApp
from policy_packs import SHIPPED_KEYRING, SHIPPED_PACKS, EmbeddedEngine, FileKeyring, load_catalogue
from protocol.api import download_router
from protocol.participant import BecknParticipant
from protocol.receiving import Inbound, Unit
from protocol.store import ProtocolStore
from registry.directory.client import HttpKeyLookup
from sandbox.console.discom_routes import install_console_routes
from sandbox.legacy import hes_archive, hes_window
from sandbox.participants.common import (
    ParticipantContext,
    accept_machine_tokens,
    add_lifespan,
    beckn_participant,
    identity_router,
    issuer_settings,
    machine_client,
)
from sandbox.participants.discom_der import install as install_der_visibility
from sandbox.participants.discom_der_onboarding import install_der_onboarding
from sandbox.participants.discom_filing import install as install_filing
from sandbox.participants.discom_outage import install_outages
from sandbox.participants.discom_p2p import install as install_p2p
from sandbox.participants.discom_tariff import install as install_tariffs
from sandbox.participants.meter_data import MeterDataDesk
from sandbox.plan import BECKN_KEY, Member
from sandbox.seed import HES_METERS, DiscomSeed, discom_seed

PROVIDER_SERVICE = "/meter-data-service"  # where the consent manager notifies (consent.py)

PREMISES = {"domestic": "Residential", "commercial": "Commercial", "industrial": "Industrial",
            "agricultural": "Agricultural"}  # fmt: skip


class ConsumerAsk(BaseModel):
    consumer_number: str = Field(alias="consumerNumber", min_length=1, max_length=40)
    holder: str = Field(min_length=8, max_length=300)  # the consumer's wallet DID


class Registry:
    """The registry's HTTP API, as the discom's back office reads it."""

    def __init__(self, http: httpx.Client, seed: DiscomSeed) -> None:
        self.http = http
        self.seed = seed

    def _json(self, path: str, **params: str) -> Any:
        response = self.http.get(path, params=params)
        if response.status_code == 404:
            raise HTTPException(404, f"the registry has no {path}")
        response.raise_for_status()
        return response.json()

    def consumer(self, number: str) -> dict[str, Any]:
        """The consumer's identity, personal record, connection and meter."""
        mapping = self.seed.mapping
        found = self._json("/resolve", scheme=mapping.consumer.legacy_scheme,
                           scope=self.seed.code, value=number, type="consumer")  # fmt: skip
        consumer = self._json(f"/identities/{found['ies_id']}")
        personal = self._json(f"/identities/{consumer['id']}/personal")
        (held,) = [r for r in self._json(f"/identities/{consumer['id']}/children")
                   if r["child_type"] == "connection"]  # fmt: skip
        connection = self._json(f"/identities/{held['child']}")
        (fitted,) = [r for r in self._json(f"/identities/{connection['id']}/children")
                     if r["child_type"] == "meter"]  # fmt: skip
        meter = self._json(f"/identities/{fitted['child']}")
        serials = [m["legacy"]["value"] for m in self._json(f"/identities/{meter['id']}/legacy-ids")
                   if m["legacy"]["scheme"] == "meter_serial"]  # fmt: skip
        return {"consumer": consumer, "personal": personal, "connection": connection,
                "connected_since": held["valid_from"], "meter": meter,
                "serial": serials[0]}  # fmt: skip


def passport_subject(me: Member, seed: DiscomSeed, found: dict[str, Any], holder: str) -> Any:
    """ElectricityCredential v1.2's subject from the registry's records."""
    connection, meter = found["connection"], found["meter"]
    attrs = connection["attributes"]
    address = found["consumer"]["address"]
    meter_did = f"{me.did}:assets:meter:{found['serial']}"
    return {
        "id": holder,
        "customerProfile": {
            "customerNumber": found["consumer"]["id"],
            "energyResources": [{
                "id": meter_did,
                "type": "METER",
                "attributes": {"meterCapability": "AMI", "energyDirection": "Forward",
                               "make": meter["attributes"].get("manufacturer", "unknown"),
                               "serialNumber": found["serial"]},
            }],
            "consumptionProfiles": [{
                "meterId": meter_did,
                "sanctionedLoad": {"value": attrs["sanctioned_load_kw"], "unit": "kW"},
                "tariffCategoryCode": attrs["category"].upper(),
                "premisesType": PREMISES.get(attrs["category"], "Residential"),
                "connectionType": "Three-phase" if meter["attributes"].get("phase") == 3
                else "Single-phase",
                "serviceStatus": "active",
            }],
        },
        "customerDetails": {
            "fullName": found["personal"]["name"],
            "installationAddress": {
                # The subdivision's centroid: the registry keeps no consumer coordinates.
                "geo": {"type": "Point", "coordinates": [seed.place.lon, seed.place.lat]},
                "address": {"streetAddress": address.get("subdivision") or seed.place.subdivision,
                            "addressLocality": address.get("division") or seed.place.division,
                            "addressRegion": me.state or "",
                            "postalCode": address.get("pincode") or str(seed.place.pincode),
                            "addressCountry": "IN"},
            },
            "serviceConnectionDate": found["connected_since"],
        },
    }  # fmt: skip


def back_office(me: Member, seed: DiscomSeed, registry: Registry, archive: HesArchive) -> APIRouter:
    router = APIRouter(prefix="/back-office", tags=["discom back office"])

    def issue(request: Request, kind: str, subject: Any, valid_days: int) -> dict[str, Any]:
        service: CredentialService = request.app.state.credentials
        now = datetime.now(UTC)
        return service.issue(
            me.did, kind, subject, valid_from=now, valid_until=now + timedelta(days=valid_days)
        )

    @router.post(
        "/passports",
        status_code=201,
        summary="Issue a Consumer Energy Passport",
    )
    def passport(
        ask: ConsumerAsk, request: Request, who: Annotated[Principal, backoffice(consumer=BY_ROUTE)]
    ) -> dict[str, Any]:
        check_consumer(who, ask.consumer_number)  # the discom's operator, or the consumer
        found = registry.consumer(ask.consumer_number)
        subject = passport_subject(me, seed, found, ask.holder)
        return issue(request, "ElectricityCredential", subject, 365)

    @router.post(
        "/digests",
        status_code=201,
        summary="Issue a Consumer Meter Digest",
    )
    def digest(
        ask: ConsumerAsk, request: Request, who: Annotated[Principal, backoffice(consumer=BY_ROUTE)]
    ) -> dict[str, Any]:
        check_consumer(who, ask.consumer_number)  # the discom's operator, or the consumer
        found = registry.consumer(ask.consumer_number)
        first, last = hes_window(datetime.now(IST).date())
        start = datetime(first.year, first.month, first.day, tzinfo=IST)
        end = datetime(last.year, last.month, last.day, tzinfo=IST) + timedelta(days=1, hours=1)
        profiles = archive.billing_data(found["serial"], start, end)
        period = profiles[-1].model_dump(by_alias=True, exclude_none=True, mode="json")
        meter_data = {
            "@context": "https://india-energy-stack.github.io/ies-accelerator/schemas/MeterData/v0.6/context.jsonld",
            "@type": "MonthlyProfile",
            **period,
        }
        subject = {"id": ask.holder, "meterData": meter_data}
        return issue(request, "MeterDataCredential", subject, 90)

    return router


def catalog(me: Member) -> dict[str, Any]:
    return {
        "id": f"catalog-{me.name}",
        "descriptor": {"name": f"{me.title}: consented meter data"},
        "provider": {"id": me.host, "descriptor": {"name": me.title}},
        "resources": [{"id": "meter-data", "descriptor": {"name": "MeterData v0.6"}}],
        "offers": [{"id": "consented-meter-data", "resourceIds": ["meter-data"],
                    "descriptor": {"name": "Meter data under the consumer's consent"}}],
    }  # fmt: skip


def consent_gate(context: ParticipantContext, archive: HesArchive, consent_http: httpx.Client,
                 directory: httpx.Client) -> ConsentGate:  # fmt: skip
    """The discom's consent gate: artefacts and the fetch ledger at the sandbox's consent
    manager (signed with the discom's directory key), meter ownership from the registry,
    the state's policy packs, and the HES archive behind the data ports."""
    me = context.me
    assert me.state is not None
    manager = context.plan.member("consent")
    keys = HttpKeyLookup(directory)
    identity = SigningIdentity(me.host, BECKN_KEY, context.custody)
    consent_manager = HttpConsentManager(consent_http, identity, keys, manager.host)
    policy = PolicyPoint(load_catalogue(SHIPPED_PACKS, FileKeyring(SHIPPED_KEYRING)),
                         EmbeddedEngine())  # fmt: skip
    return ConsentGate(
        provider_id=me.host, jurisdiction=me.state, keys=keys,
        trusted_consent_managers=frozenset({manager.host}),
        artefacts=consent_manager, ledger=consent_manager, policy=policy,
        interval=archive, billing=archive, events=archive,
        ownership=HttpMeterOwnership(directory),
    )  # fmt: skip


def beckn_side(
    context: ParticipantContext,
    engine: Engine,
    http: httpx.Client,
    directory: httpx.Client,
    gate: ConsentGate,
) -> tuple[BecknParticipant, MeterDataDesk]:
    me = context.me
    participant: BecknParticipant
    upgrade(engine, "protocol:migrations")
    desk = MeterDataDesk.create(
        provider_id=me.host, bpp_uri=me.beckn_url, base_url=me.url, gate=gate,
        store=ProtocolStore(engine), lookup=HttpKeyLookup(directory),
    )  # fmt: skip

    def handle(message: Inbound, unit: Unit) -> None:
        if message.action == "discover":
            participant.outbox.enqueue_callback(
                message, {"catalogs": [catalog(me)]}, me.beckn_url, unit
            )
            return
        desk.handle(message, unit, participant.outbox)

    participant = beckn_participant(context, engine, handle, http, directory,
                                    checks=[desk.provider.step])  # fmt: skip
    return participant, desk


def create() -> FastAPI:
    context = ParticipantContext()
    me = context.me
    assert me.discom_code is not None
    seed = discom_seed(me.discom_code)
    settings = issuer_settings(context)
    app = create_app(settings)
    app.title = f"{me.title}: {me.host}"
    app.include_router(identity_router(context, did=False))  # the issuer's did.json is served
    archive = hes_archive(seed.network(), seed.code, HES_METERS, datetime.now(IST).date())
    archive = columnar_archive(archive, state=seed.state, discom=seed.code)  # by setting
    http = httpx.Client(timeout=10)
    directory = httpx.Client(base_url=context.directory_url, timeout=10)
    registry = machine_client(context, context.directory_url, context.plan.directory.host)
    app.include_router(back_office(me, seed, Registry(registry, seed), archive))
    accept_machine_tokens(app, context)  # its issuer's doors need a machine token
    install_filing(app, context, seed, http, directory)  # ARR filing to the regulator
    install_console_routes(app, me.discom_code)  # the consumer's own load curve
    engine = app.state.engine
    consent_http = httpx.Client(base_url=context.plan.member("consent").url, timeout=10)
    gate = consent_gate(context, archive, consent_http, directory)
    beckn, desk = beckn_side(context, engine, http, directory, gate)
    install_outages(app, context, beckn, directory)
    install_p2p(app, context, beckn, archive, directory)
    app.include_router(beckn.router("/beckn"))
    app.include_router(download_router(desk.provider))
    # The meter data service's own routes: the gated POST /meter-data (detached JWS)
    # and the consent manager's status notifications.
    app.mount(PROVIDER_SERVICE, create_provider_app(gate))
    app.include_router(beckn.log_router())
    app.state.beckn = beckn
    app.state.archive = archive
    app.state.gate = gate
    install_der_onboarding(app, context)  # DER connection applications over Beckn
    install_tariffs(app, context, archive, directory)  # IES_Policy tariffs over Beckn
    install_der_visibility(app, context)  # per-feeder DER aggregates, signed

    def stop() -> None:
        beckn.stop_worker()
        http.close()
        consent_http.close()
        directory.close()
        registry.close()

    add_lifespan(app, lambda: beckn.start_worker(0.05), stop)
    return app


app = LazyApp(create)
