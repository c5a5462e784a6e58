"""The consent gate a data provider puts in front of its meter data.

One ordered list of named steps (the ONIX pipeline idea), each able to refuse with a
problem that names it; nothing is read from the data sources until every check has
passed and the consent manager has counted the fetch:

1. ``parse``          the MeterDataRequest v0.6: window, meters, profiles, consent ref
2. ``caller``         the app's detached JWS over the exact body, through the directory
3. ``artefact``       the consent artefact: genuine, from a trusted consent manager,
                      naming this app as data consumer and this provider as provider
4. ``scope``          meters, data types, dates and granularity inside the consent;
                      before its expiry
5. ``holder``         each meter the consumer's for the whole window (the registry's
                      topology with history: a meter that moved is refused from then)
6. ``policy``         the state's pack in force today: the purpose (``consent``) and
                      the release (``meter_data_sharing``)
7. ``ledger``         the consent manager: live status ACTIVE, frequency, audit entry
8. ``slice``          read the ports and cut exactly the consented slice
"""

from __future__ import annotations

import gc
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from consent import slicing
from consent.artefact import Claims
from consent.artefact import verify as verify_artefact
from consent.errors import (
    ArtefactInvalid,
    ConsentNotActive,
    ConsentNotFound,
    MeterDataRequestInvalid,
    MeterNotHeld,
    OutsideConsent,
    SignatureInvalid,
)
from consent.models import DataType, Granularity, Status
from consent.ownership import MeterOwnership, not_held
from consent.policy import PolicyPoint, consent_inputs, require_allowed, sharing_inputs
from consent.ports import BillingDataSource, EventSource, IntervalDataSource
from consent.service import FetchGrant, FetchRecord
from consent.signatures import verify_body
from registry.directory.keys import KeyLookup

# MeterData reading types of the block load columns (IS 15959 short labels).
_READING_TYPES = {
    "kwh imp block": DataType.INTERVAL_CONSUMPTION,
    "kwh exp block": DataType.NET_EXPORT,
    "1.0.1.29.0.255": DataType.INTERVAL_CONSUMPTION,
    "1.0.2.29.0.255": DataType.NET_EXPORT,
}
_DURATION = slicing.fixed_duration


_gc_lock = threading.Lock()
_gc_pauses = 0


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a slice is built. A meter-year is some
    100,000 new lists and dicts (no cycles: reference counting frees them all), and
    each allocation burst set off full collections that walked the whole process heap:
    two thirds of the slice's time in the bench. Counted, so concurrent fetches on the
    provider's thread pool resume collection only when the last one is done."""
    global _gc_pauses
    with _gc_lock:
        if _gc_pauses == 0 and not gc.isenabled():
            paused_here = False  # someone else turned it off: leave it to them
        else:
            paused_here = True
            _gc_pauses += 1
            gc.disable()
    try:
        yield
    finally:
        if paused_here:
            with _gc_lock:
                _gc_pauses -= 1
                if _gc_pauses == 0:
                    gc.enable()


class ArtefactSource(Protocol):
    """Where the gate gets a consent's signed artefact by id (the consent manager)."""

    def artefact(self, consent_id: str) -> str: ...


class FetchLedger(Protocol):
    """The consent manager's count of fetches: grants one or refuses (status, frequency)."""

    def record(self, fetch: FetchRecord) -> FetchGrant: ...


class ValueCapability(BaseModel):
    model_config = ConfigDict(extra="allow")

    value: str
    mode: str | None = None


class ProfileCapability(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    profile_type: str = Field(alias="profileType")
    readings: list[ValueCapability] | None = None


class Capabilities(BaseModel):
    model_config = ConfigDict(extra="allow")

    profiles: list[ProfileCapability] = Field(min_length=1)


class MeterDataRequest(BaseModel):
    """The MeterDataRequest v0.6 members the gate reads; ``granularity`` is our extension
    (one of the consent granularities; default: the consent's)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    start: AwareDatetime = Field(alias="from")
    duration: str
    resources: list[str] | None = None
    consumer_consent: list[str] = Field(alias="consumerConsent", min_length=1)
    capabilities_requested: Capabilities = Field(alias="capabilitiesRequested")
    granularity: Granularity | None = None


@dataclass(frozen=True, slots=True)
class Served:
    """What the gate releases: the MeterData profiles and the fetch that counted them."""

    payload: list[dict[str, Any]]
    grant: FetchGrant
    consent_id: str
    steps: dict[str, float] = field(default_factory=dict)  # step -> seconds


@dataclass(frozen=True, slots=True)
class _Ask:
    request: MeterDataRequest
    start: datetime
    end: datetime
    granularity: Granularity | None


def _meter_of(resource: str) -> str:
    """A meter serial from a resource reference (a serial, or a URI/DID ending in it)."""
    return resource.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def _requested_types(caps: Capabilities, consented: Iterable[DataType]) -> frozenset[DataType]:
    wanted: set[DataType] = set()
    interval = {DataType.INTERVAL_CONSUMPTION, DataType.NET_EXPORT}
    for profile in caps.profiles:
        kind = profile.profile_type
        if kind in ("IntervalProfile", "DailyProfile"):
            if profile.readings:
                for reading in profile.readings:
                    found = _READING_TYPES.get(reading.value.lower())
                    if found is None:
                        raise OutsideConsent(
                            f"no consent covers the reading {reading.value!r}", reason="data_type"
                        )
                    wanted.add(found)
            else:
                wanted |= interval & set(consented) or {DataType.INTERVAL_CONSUMPTION}
        elif kind in ("MonthlyProfile", "BillDetails"):
            wanted.add(DataType.BILLING)
        elif kind == "EventProfile":
            wanted.add(DataType.EVENTS)
        else:
            raise OutsideConsent(f"no consent covers {kind} data", reason="data_type")
    return frozenset(wanted)


@dataclass
class ConsentGate:
    """The enforcement library; :func:`consent.provider.create_provider_app` serves it."""

    provider_id: str
    jurisdiction: str
    keys: KeyLookup
    trusted_consent_managers: frozenset[str]
    artefacts: ArtefactSource
    ledger: FetchLedger
    policy: PolicyPoint
    interval: IntervalDataSource
    billing: BillingDataSource
    events: EventSource
    ownership: MeterOwnership  # the registry: which meters the consumer holds, when
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def serve(self, body: bytes, signature: str | None) -> Served:
        """The gate for a MeterDataRequest posted on its own, signed by the app
        (detached JWS over ``body``): the ``caller`` step verifies that signature."""
        return self._serve(
            body, lambda now: verify_body(body, signature, self.keys, now=now).subscriber_id
        )

    def serve_authenticated(self, body: bytes, caller: str) -> Served:
        """The gate for a MeterDataRequest that arrived inside a message whose sender a
        transport already authenticated (a Beckn receiver verified the request's
        signature through the directory): ``caller`` is that verified subscriber id and
        takes the place of the body signature. Every other step runs as in
        :meth:`serve`: the consent must name ``caller`` as its data consumer."""
        if not caller:
            raise SignatureInvalid("no authenticated caller", reason="caller")
        return self._serve(body, lambda _now: caller)

    def _serve(self, body: bytes, authenticate: Callable[[datetime], str]) -> Served:
        steps: dict[str, float] = {}
        mark = time.perf_counter()

        def step(name: str) -> None:
            nonlocal mark
            now_mark = time.perf_counter()
            steps[name] = now_mark - mark
            mark = now_mark

        now = self.clock()
        ask = self._parse(body)
        step("parse")
        caller = authenticate(now)
        step("caller")
        claims = self._artefact(ask.request.consumer_consent, caller)
        step("artefact")
        scope = claims.scope
        granularity = ask.granularity or scope.granularity
        types = _requested_types(ask.request.capabilities_requested, scope.data_types)
        meters = self._check_scope(ask, types, claims, granularity, now)
        step("scope")
        self._check_holder(claims.data_principal, meters, ask)
        step("holder")
        today = now.astimezone(slicing.IST).date()
        first = ask.start.astimezone(slicing.IST).date()
        last = (ask.end - timedelta(microseconds=1)).astimezone(slicing.IST).date()
        require_allowed(
            self.policy,
            self.jurisdiction,
            "consent",
            consent_inputs(claims.purpose, scope, claims.created_at.date(), notice_given=True),
            today,
        )
        require_allowed(
            self.policy,
            self.jurisdiction,
            "meter_data_sharing",
            sharing_inputs(
                scope=scope,
                status=Status.ACTIVE.value,
                types=types,
                granularity=granularity,
                first=first,
                last=last,
                on=today,
            ),
            today,
        )
        step("policy")
        grant = self.ledger.record(
            FetchRecord(
                consent_id=claims.id,
                provider_id=self.provider_id,
                app_id=caller,
                start=ask.start,
                end=ask.end,
                granularity=granularity,
                data_types=tuple(sorted(types)),
                request_digest="sha256:" + hashlib.sha256(body).hexdigest(),
            )
        )
        if grant.consent_id != claims.id or grant.status is not Status.ACTIVE:
            raise ConsentNotActive("the consent manager did not grant this fetch")
        step("ledger")
        payload: list[dict[str, Any]] = []
        with _cyclic_gc_paused():
            for meter in meters:
                window = slicing.Window(meter, ask.start, ask.end, types, granularity)
                payload += self._slice(window)
        step("slice")
        return Served(payload, grant, claims.id, steps)

    # ------------------------------------------------------------------ steps
    @staticmethod
    def _parse(body: bytes) -> _Ask:
        try:
            request = MeterDataRequest.model_validate_json(body)
        except ValidationError as exc:
            raise MeterDataRequestInvalid(str(exc).splitlines()[0]) from None
        length = _DURATION(request.duration)
        if length is None:
            raise MeterDataRequestInvalid(f"duration {request.duration!r} is not a fixed length")
        return _Ask(request, request.start, request.start + length, request.granularity)

    def _artefact(self, refs: list[str], caller: str) -> Claims:
        if len(refs) != 1:
            raise MeterDataRequestInvalid("consumerConsent must name exactly one consent")
        ref = refs[0]
        token = ref if ref.count(".") == 2 else self.artefacts.artefact(ref)
        claims = verify_artefact(token, self.keys, self.trusted_consent_managers)
        if ref != token and ref != claims.id:
            raise ArtefactInvalid("the artefact is not the consent the request names")
        if claims.data_consumer != caller:
            # Someone else's consent: answer as the consent manager does for an unknown id.
            raise ConsentNotFound(f"{caller} has no consent {claims.id}")
        if claims.data_provider != self.provider_id:
            raise ArtefactInvalid("the consent names another data provider")
        return claims

    def _check_scope(
        self,
        ask: _Ask,
        types: frozenset[DataType],
        claims: Claims,
        granularity: Granularity,
        now: datetime,
    ) -> list[str]:
        scope = claims.scope
        if now >= scope.expires_at:
            raise ConsentNotActive(f"the consent expired at {scope.expires_at.isoformat()}")
        if (
            ask.request.capabilities_requested.profiles
            and any(
                p.profile_type == "DailyProfile"
                for p in ask.request.capabilities_requested.profiles
            )
            and granularity.rank < Granularity.DAILY.rank
        ):
            raise OutsideConsent("a DailyProfile is daily data", reason="granularity")
        extra = types - set(scope.data_types)
        if extra:
            raise OutsideConsent(
                f"the consent does not cover {', '.join(sorted(extra))}", reason="data_type"
            )
        if not granularity.at_least_as_coarse_as(scope.granularity):
            raise OutsideConsent(
                f"{granularity.value} data is finer than the consented {scope.granularity.value}",
                reason="granularity",
            )
        start, end = slicing.day_window(scope.date_range.start, scope.date_range.end)
        if ask.start < start or ask.end > end or ask.end <= ask.start:
            raise OutsideConsent(
                f"{ask.start.isoformat()}..{ask.end.isoformat()} is outside the consented "
                f"{scope.date_range.start}..{scope.date_range.end}",
                reason="date_range",
            )
        meters = [_meter_of(r) for r in ask.request.resources or scope.meters]
        outside = [m for m in meters if m not in scope.meters]
        if outside:
            raise OutsideConsent(f"the consent does not cover {', '.join(outside)}", reason="meter")
        return list(dict.fromkeys(meters))

    def _check_holder(self, consumer: str, meters: list[str], ask: _Ask) -> None:
        # The consumer consents for their own meters only, and only for the time they
        # hold them: a meter that passed to someone else after approval is theirs from
        # the move on, while the days before it stay the approving consumer's.
        holdings = self.ownership.holdings(consumer, ask.start)
        refused = not_held(holdings, meters, ask.start, ask.end)
        if refused:
            raise MeterNotHeld(
                f"{ask.start.isoformat()}..{ask.end.isoformat()}: "
                + "; ".join(r.reason() for r in refused),
                meters=[r.meter for r in refused],
            )

    def _slice(self, window: slicing.Window) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        types = window.data_types
        if types & {DataType.INTERVAL_CONSUMPTION, DataType.NET_EXPORT}:
            out += slicing.interval_slice(
                self.interval.interval_data(window.meter, window.start, window.end), window
            )
        if DataType.BILLING in types:
            out += slicing.billing_slice(
                self.billing.billing_data(window.meter, window.start, window.end), window
            )
        if DataType.EVENTS in types:
            out += slicing.event_slice(
                self.events.events(window.meter, window.start, window.end), window
            )
        return out
