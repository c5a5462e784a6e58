"""The consent manager's use cases: request, the consumer's decisions, fetch accounting,
audit and notifications. Each call is one unit of work on the consent database.

Consumer authentication is not done here (issue 15): every consumer-side call takes
the consumer's id as an explicit parameter and acts only on that consumer's consents;
another consumer's consent id answers as if it did not exist.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from consent import artefact, audit, lifecycle, notice
from consent.errors import (
    ApprovalWidens,
    ConsentNotActive,
    ConsentNotFound,
    FrequencyExceeded,
    MeterNotHeld,
    NoticeLanguageUnknown,
    RequestIdReused,
    SignerNotAllowed,
    TransitionNotAllowed,
    UnknownPurpose,
)
from consent.lifecycle import Action
from consent.models import (
    PURPOSES,
    ConsentRequestBody,
    DataType,
    FetchType,
    Granularity,
    Narrowing,
    NotNarrower,
    Scope,
    Status,
    narrow,
)
from consent.ownership import MeterOwnership, not_held
from consent.policy import PolicyPoint, consent_inputs, require_allowed
from consent.signatures import SigningIdentity, verify_body
from consent.slicing import IST, day_window
from consent.store import ConsentRow, ConsentStore, FetchRow, OutboxRow, aware, naive
from kernel.database import session_scope
from kernel.problems import InvalidRequest
from registry.directory.keys import KeyLookup

REQUEST_TYP = "ies-consent-request+jws"
FETCH_TYP = "ies-consent-fetch+jws"
INDIAN_LANGUAGES = ("hi", "mr")
NOTIFICATION_PATH = "/consent/notifications"


class ConsentView(BaseModel):
    """A consent as its consumer and its app see it."""

    id: str
    status: Status
    app_id: str
    provider_id: str
    consumer_id: str
    jurisdiction: str
    purpose: str
    requested_scope: Scope
    scope: Scope | None
    notices: dict[str, str]
    notice_digest: str
    artefact: str | None
    created_at: datetime
    updated_at: datetime
    allowed_actions: list[str]


class AuditView(BaseModel):
    seq: int
    at: datetime
    kind: str
    actor: str
    consent_id: str | None
    details: dict[str, Any]
    hash: str


class FetchGrant(BaseModel):
    """The consent manager's yes to one fetch: counted, logged, and signed."""

    fetch_id: str
    consent_id: str
    status: Status
    fetches_in_window: int
    at: datetime


class ChainReport(BaseModel):
    entries: int
    head: str
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None


def _parse(model: type[ConsentRequestBody] | type[Narrowing], body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = [
            {"location": "/".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        raise InvalidRequest(f"{len(errors)} validation error(s)", errors=errors) from None


def _scope(data: Mapping[str, Any]) -> Scope:
    return Scope.model_validate(data, strict=False)


def _scope_json(scope: Scope) -> dict[str, Any]:
    return scope.model_dump(mode="json", by_alias=True)


def view(row: ConsentRow) -> ConsentView:
    status = Status(row.status)
    return ConsentView(
        id=row.id,
        status=status,
        app_id=row.app_id,
        provider_id=row.provider_id,
        consumer_id=row.consumer_id,
        jurisdiction=row.jurisdiction,
        purpose=row.purpose,
        requested_scope=_scope(row.requested_scope),
        scope=_scope(row.scope) if row.scope is not None else None,
        notices=row.notices,
        notice_digest=row.notice_digest,
        artefact=row.artefact,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        allowed_actions=[a.value for a in lifecycle.allowed_actions(status)],
    )


@dataclass
class ConsentManager:
    """The consent manager (the domain's own name for the Account Aggregator role)."""

    engine: Engine
    identity: SigningIdentity
    keys: KeyLookup
    policy: PolicyPoint
    providers: Mapping[str, str]  # provider subscriber id -> its notification URL
    ownership: MeterOwnership  # the registry: which meters each consumer holds, when
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    max_skew: timedelta = timedelta(minutes=5)

    # ----------------------------------------------------------------- the app asks
    def request(self, body: bytes, signature: str | None) -> tuple[ConsentView, bool]:
        """A signed consent request; ``(view, created)`` (a retry returns the first)."""
        now = self.clock()
        signed = verify_body(body, signature, self.keys, now=now, max_skew=self.max_skew)
        asked: ConsentRequestBody = _parse(ConsentRequestBody, body)
        if signed.subscriber_id != asked.data_consumer:
            raise SignerNotAllowed(
                f"signed by {signed.subscriber_id}, but the request is {asked.data_consumer}'s"
            )
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        with session_scope(self.engine) as session:
            existing = ConsentStore(session).by_app_request(asked.data_consumer, asked.request_id)
            if existing is not None:
                if existing.request_digest != digest:
                    raise RequestIdReused(f"request_id {asked.request_id} was used before")
                return view(existing), False
        if asked.purpose not in PURPOSES:
            raise UnknownPurpose(f"{asked.purpose!r} is not on the purpose list")
        if asked.data_provider not in self.providers:
            raise InvalidRequest(f"{asked.data_provider} is not a provider this manager serves")
        if asked.scope.expires_at <= now:
            raise InvalidRequest("the consent would expire before it starts")
        languages = list(dict.fromkeys(("en", *asked.languages)))
        if not set(languages) & set(INDIAN_LANGUAGES):
            languages.append("hi")
        unknown = [lang for lang in languages if lang not in notice.LANGUAGES]
        if unknown:
            raise NoticeLanguageUnknown(f"no notice in {', '.join(unknown)}")
        self._require_held(asked.consumer_id, asked.scope, now)
        today = now.astimezone(IST).date()
        decisions = require_allowed(
            self.policy,
            asked.jurisdiction,
            "consent",
            consent_inputs(asked.purpose, asked.scope, today, notice_given=True),
            today,
        )
        texts = {
            lang: notice.render(
                lang,
                app=asked.data_consumer,
                provider=asked.data_provider,
                consent_manager=self.identity.subscriber_id,
                purpose=asked.purpose,
                scope=asked.scope,
            )
            for lang in languages
        }
        row = ConsentRow(
            id=f"cns-{uuid.uuid4().hex}",
            app_id=asked.data_consumer,
            app_request_id=asked.request_id,
            request_digest=digest,
            # An app receives notifications at its subscriber URL + /consent/notifications.
            app_url=signed.key.url.rstrip("/") + NOTIFICATION_PATH,
            provider_id=asked.data_provider,
            consumer_id=asked.consumer_id,
            jurisdiction=asked.jurisdiction,
            purpose=asked.purpose,
            requested_scope=_scope_json(asked.scope),
            status=Status.PENDING.value,
            notices=texts,
            notice_digest=notice.digest(texts),
            policy=[_pack(d) for d in decisions],
            expires_at=naive(asked.scope.expires_at),
            created_at=naive(now),
            updated_at=naive(now),
        )
        try:
            with session_scope(self.engine) as session:
                store = ConsentStore(session)
                store.add(row)
                session.flush()
                store.append_audit(
                    at=now,
                    kind="consent_requested",
                    actor=asked.data_consumer,
                    consent_id=row.id,
                    details={
                        "purpose": asked.purpose,
                        "provider": asked.data_provider,
                        "consumer": asked.consumer_id,
                        "scope": _scope_json(asked.scope),
                        "request_digest": digest,
                        "notice_digest": row.notice_digest,
                    },
                )
        except IntegrityError:  # the same request raced itself: answer the winner
            with session_scope(self.engine) as session:
                winner = ConsentStore(session).by_app_request(asked.data_consumer, asked.request_id)
                if winner is None or winner.request_digest != digest:
                    raise RequestIdReused(
                        f"request_id {asked.request_id} was used before"
                    ) from None
                return view(winner), False
        return view(row), True

    # -------------------------------------------------------- the consumer decides
    def consents(
        self, consumer_id: str, status: Status | None, after: str | None, limit: int
    ) -> list[ConsentView]:
        with session_scope(self.engine) as session:
            self._expire_due(session, self.clock())
            rows = ConsentStore(session).of_consumer(
                consumer_id, status.value if status else None, after, limit
            )
            return [view(r) for r in rows]

    def consent(self, consumer_id: str, consent_id: str) -> ConsentView:
        with session_scope(self.engine) as session:
            self._expire_due(session, self.clock())
            return view(self._owned(ConsentStore(session), consumer_id, consent_id))

    def approve(
        self,
        consumer_id: str,
        consent_id: str,
        change: Narrowing | None = None,
        *,
        actor: str | None = None,
    ) -> ConsentView:
        """``actor``: who the audit names, when not the consumer themself (the console
        acting for the person it signed in)."""
        now = self.clock()
        with session_scope(self.engine) as session:
            store = ConsentStore(session)
            row = self._owned(store, consumer_id, consent_id, lock=True)
            self._lapse_if_expired(store, row, now)
            status = self._next(row, Action.APPROVE)
            requested = _scope(row.requested_scope)
            try:
                approved = narrow(requested, change) if change is not None else requested
            except NotNarrower as exc:
                raise ApprovalWidens(str(exc), fields=exc.fields) from None
            # Checked again: a meter may have passed to someone else since the request.
            self._require_held(row.consumer_id, approved, now)
            today = now.astimezone(IST).date()
            decisions = require_allowed(
                self.policy,
                row.jurisdiction,
                "consent",
                consent_inputs(row.purpose, approved, aware(row.created_at).date(), True),
                today,
            )
            document = artefact.payload(
                consent_id=row.id,
                consent_manager=self.identity.subscriber_id,
                app=row.app_id,
                provider=row.provider_id,
                consumer=row.consumer_id,
                jurisdiction=row.jurisdiction,
                purpose=row.purpose,
                scope=approved,
                created_at=aware(row.created_at),
                approved_at=now,
                notice_digest=row.notice_digest,
                notice_languages=sorted(row.notices),
                policy=[_pack(d) for d in decisions],
            )
            token = artefact.sign(document, kid=self.identity.kid, signer=self.identity.sign)
            row.scope = _scope_json(approved)
            row.artefact = token
            row.artefact_digest = artefact.digest(token)
            row.expires_at = naive(approved.expires_at)
            row.decided_at = naive(now)
            narrowed = (
                change.model_dump(mode="json", by_alias=True, exclude_none=True) if change else {}
            )
            self._apply(store, row, status, now, actor or consumer_id,
                        {"narrowed": narrowed, **_on_behalf(actor, consumer_id)})  # fmt: skip
            return view(row)

    def act(
        self, consumer_id: str, consent_id: str, action: Action, *, actor: str | None = None
    ) -> ConsentView:
        """Reject, pause, resume or revoke: one call each, as easy as approving."""
        if action in (Action.APPROVE, Action.EXPIRE):
            raise TransitionNotAllowed(f"{action.value} is not a consumer's one-call action")
        now = self.clock()
        with session_scope(self.engine) as session:
            store = ConsentStore(session)
            row = self._owned(store, consumer_id, consent_id, lock=True)
            self._lapse_if_expired(store, row, now)
            status = self._next(row, action)
            if action is Action.REJECT:
                row.decided_at = naive(now)
            self._apply(store, row, status, now, actor or consumer_id,
                        _on_behalf(actor, consumer_id))  # fmt: skip
            return view(row)

    def expire_due(self, limit: int = 1000) -> int:
        with session_scope(self.engine) as session:
            return self._expire_due(session, self.clock(), limit)

    def sweep(self, batch: int = 1000) -> int:
        """Move every consent past its expiry to EXPIRED, ``batch`` per transaction (each
        with its audit entries, status notifications and ERASE_DATA); how many lapsed.
        ``ies consent sweep`` and the service's worker run it, so expiry is announced
        even when nobody reads the consent."""
        total = 0
        while True:
            expired = self.expire_due(batch)
            total += expired
            if expired < batch:
                return total

    # ------------------------------------------------------------- the data path
    def artefact_for(self, consent_id: str, party: str) -> str:
        """The signed artefact, for its data consumer or its data provider only."""
        with session_scope(self.engine) as session:
            row = ConsentStore(session).get(consent_id)
            if row is None or party not in (row.app_id, row.provider_id) or not row.artefact:
                raise ConsentNotFound(f"no artefact {consent_id} for {party}")
            return row.artefact

    def record_fetch(
        self,
        *,
        consent_id: str,
        provider_id: str,
        app_id: str,
        start: datetime,
        end: datetime,
        granularity: Granularity,
        data_types: Sequence[DataType],
        request_digest: str,
    ) -> FetchGrant:
        """Count one fetch against the consent, or refuse it (status, owner, frequency).

        Runs under the consent row's lock, so two providers racing for the last fetch
        of a one-time consent cannot both get it.
        """
        now = self.clock()
        refusal: Exception | None = None
        with session_scope(self.engine) as session:
            store = ConsentStore(session)
            row = store.get(consent_id, lock=True)
            if row is None or row.provider_id != provider_id or row.app_id != app_id:
                raise ConsentNotFound(f"no consent {consent_id} between {app_id} and {provider_id}")
            self._lapse_if_expired(store, row, now)
            scope = _scope(row.scope) if row.scope else None
            if not lifecycle.data_may_flow(Status(row.status)) or scope is None:
                refusal = ConsentNotActive(
                    f"the consent is {row.status}", consent_status=row.status
                )
            else:
                since = (
                    None
                    if scope.fetch_type is FetchType.ONE_TIME
                    else now - scope.frequency.unit.window
                )
                used = store.fetches_since(row.id, since)
                if used >= scope.frequency.value:
                    refusal = FrequencyExceeded(
                        f"{used} of {scope.frequency.value} fetches used"
                        + ("" if since is None else f" per {scope.frequency.unit.value}"),
                    )
            window = {
                "from": start.isoformat(),
                "to": end.isoformat(),
                "granularity": granularity.value,
                "data_types": sorted(t.value for t in data_types),
            }
            if refusal is not None:
                store.append_audit(
                    at=now,
                    kind="data_access_refused",
                    actor=provider_id,
                    consent_id=row.id,
                    details={"app": app_id, "reason": type(refusal).__name__, **window},
                )
            else:
                fetch = FetchRow(
                    id=f"fch-{uuid.uuid4().hex}",
                    consent_id=row.id,
                    provider_id=provider_id,
                    at=naive(now),
                    window_from=naive(start),
                    window_to=naive(end),
                    granularity=granularity.value,
                    data_types=window["data_types"],  # type: ignore[arg-type]
                    request_digest=request_digest,
                )
                store.add(fetch)
                store.append_audit(
                    at=now,
                    kind="data_accessed",
                    actor=provider_id,
                    consent_id=row.id,
                    details={"app": app_id, "fetch_id": fetch.id,
                             "request_digest": request_digest, **window},
                )  # fmt: skip
                grant = FetchGrant(
                    fetch_id=fetch.id,
                    consent_id=row.id,
                    status=Status.ACTIVE,
                    fetches_in_window=used + 1,
                    at=now,
                )
        if refusal is not None:
            raise refusal
        return grant

    def record_signed_fetch(self, body: bytes, signature: str | None) -> tuple[bytes, str]:
        """The HTTP form: the provider signs the fetch record; the grant comes back signed."""
        now = self.clock()
        signed = verify_body(body, signature, self.keys, now=now, max_skew=self.max_skew)
        try:
            asked = FetchRecord.model_validate_json(body)
        except ValidationError as exc:
            raise InvalidRequest(str(exc).splitlines()[0]) from None
        if signed.subscriber_id != asked.provider_id:
            raise SignerNotAllowed(f"signed by {signed.subscriber_id}, not {asked.provider_id}")
        grant = self.record_fetch(
            consent_id=asked.consent_id,
            provider_id=asked.provider_id,
            app_id=asked.app_id,
            start=asked.start,
            end=asked.end,
            granularity=asked.granularity,
            data_types=asked.data_types,
            request_digest=asked.request_digest,
        )
        raw = grant.model_dump_json().encode()
        return raw, self.identity.sign_body(raw, FETCH_TYP, now)

    # ------------------------------------------------------------------- audit
    def audit_for(
        self, consumer_id: str, *, accesses_only: bool, after: int | None, limit: int
    ) -> list[AuditView]:
        """The consumer's trail: every event of their consents, or only data accesses."""
        with session_scope(self.engine) as session:
            store = ConsentStore(session)
            ids = store.consent_ids_of(consumer_id)
            rows = store.audit_of(ids, after, limit)
            return [
                AuditView(
                    seq=r.seq,
                    at=aware(r.at),
                    kind=r.kind,
                    actor=r.actor,
                    consent_id=r.consent_id,
                    details=r.details,
                    hash=r.hash,
                )
                for r in rows
                if not accesses_only or r.kind == "data_accessed"
            ]

    def verify_audit(self) -> ChainReport:
        return verify_chain(self.engine)

    def notifications(self, consent_id: str) -> list[OutboxRow]:
        with session_scope(self.engine) as session:
            return list(ConsentStore(session).notifications(consent_id))

    # ----------------------------------------------------------------- helpers
    def _require_held(self, consumer_id: str, scope: Scope, now: datetime) -> None:
        """Every meter named must be the consumer's for the consented days known so far:
        from the first day (or now, if the days are all ahead) through the last day or
        now, whichever comes first. Someone else's meter, a meter the consumer took over
        after the first day, or one that left them before the last past day is refused;
        the gate checks each fetch's own window again (a meter may move later)."""
        first, last = day_window(scope.date_range.start, scope.date_range.end)
        at = min(first, now)
        through = max(at, min(last, now))
        refused = not_held(self.ownership.holdings(consumer_id, at), scope.meters, at, through)
        if refused:
            raise MeterNotHeld(
                f"{consumer_id} may not consent for these meters from {at.isoformat()} "
                f"to {through.isoformat()}: " + "; ".join(r.reason() for r in refused),
                meters=[r.meter for r in refused],
            )

    def _owned(
        self, store: ConsentStore, consumer_id: str, consent_id: str, *, lock: bool = False
    ) -> ConsentRow:
        row = store.get(consent_id, lock=lock)
        if row is None or row.consumer_id != consumer_id:
            raise ConsentNotFound(f"{consumer_id} has no consent {consent_id}")
        return row

    @staticmethod
    def _next(row: ConsentRow, action: Action) -> Status:
        try:
            return lifecycle.transition(Status(row.status), action)
        except lifecycle.IllegalTransition as exc:
            raise TransitionNotAllowed(str(exc), consent_status=row.status) from None

    def _lapse_if_expired(self, store: ConsentStore, row: ConsentRow, now: datetime) -> None:
        if Status(row.status) not in lifecycle.FINAL and aware(row.expires_at) <= now:
            self._apply(store, row, Status.EXPIRED, now, "clock", {})

    def _expire_due(self, session: Any, now: datetime, limit: int = 1000) -> int:
        store = ConsentStore(session)
        rows = store.due_to_expire(now, limit)
        for row in rows:
            self._apply(store, row, lifecycle.transition(Status(row.status), Action.EXPIRE),
                        now, "clock", {})  # fmt: skip
        return len(rows)

    def _apply(
        self,
        store: ConsentStore,
        row: ConsentRow,
        status: Status,
        now: datetime,
        actor: str,
        details: dict[str, Any],
    ) -> None:
        previous = row.status
        row.status = status.value
        row.updated_at = naive(now)
        store.add(row)
        store.append_audit(
            at=now,
            kind=f"consent_{status.value.lower()}",
            actor=actor,
            consent_id=row.id,
            details={"from": previous, "to": status.value, **details},
        )
        self._notify(store, row, now)

    def _notify(self, store: ConsentStore, row: ConsentRow, now: datetime) -> None:
        """Every change goes to the data consumer and the data provider; a withdrawn or
        lapsed consent also tells the data consumer to erase what it holds
        (DPDP Act 2023 s.8(7): erase once consent is withdrawn or the purpose is over)."""
        change: dict[str, str | None] = {
            "kind": "CONSENT_STATUS_CHANGED",
            "consent_id": row.id,
            "status": row.status,
            "at": now.isoformat(),
            "consent_manager": self.identity.subscriber_id,
            "artefact": row.artefact if row.status == Status.ACTIVE.value else None,
        }
        targets = [(row.app_id, "consumer", row.app_url)]
        provider_url = self.providers.get(row.provider_id)
        if provider_url:
            targets.append((row.provider_id, "provider", provider_url))
        messages = [(who, role, url, change) for who, role, url in targets]
        if row.status in (Status.REVOKED.value, Status.EXPIRED.value) and row.artefact:
            erase: dict[str, str | None] = {
                "kind": "ERASE_DATA",
                "consent_id": row.id,
                "at": now.isoformat(),
                "consent_manager": self.identity.subscriber_id,
                "reason": f"consent {row.status.lower()}",
                "law": "Digital Personal Data Protection Act, 2023, s.8(7)",
            }
            messages.append((row.app_id, "consumer", row.app_url, erase))
        for recipient, role, url, message in messages:
            store.add(
                OutboxRow(
                    id=f"ntf-{uuid.uuid4().hex}",
                    consent_id=row.id,
                    recipient=recipient,
                    role=role,
                    url=url,
                    kind=str(message["kind"]),
                    body=json.dumps(message, sort_keys=True, separators=(",", ":")),
                    next_attempt_at=naive(now),
                    created_at=naive(now),
                )
            )


class FetchRecord(BaseModel):
    """What a provider's gate sends the consent manager before it releases data."""

    model_config = {"extra": "forbid", "frozen": True}

    consent_id: str
    provider_id: str
    app_id: str
    start: datetime
    end: datetime
    granularity: Granularity
    data_types: tuple[DataType, ...]
    request_digest: str


def _on_behalf(actor: str | None, consumer_id: str) -> dict[str, str]:
    """An audit detail when a participant (the console) acted for the consumer."""
    return {"on_behalf_of": consumer_id} if actor and actor != consumer_id else {}


def _pack(decision: Any) -> dict[str, Any]:
    return {
        "pack": decision.pack.id,
        "version": decision.pack.version,
        "digest": decision.pack.digest,
        "domain": decision.domain,
        "as_of": decision.as_of.isoformat(),
    }


def verify_chain(engine: Engine) -> ChainReport:
    """Walk the whole audit chain; name the first entry that breaks it."""
    with session_scope(engine) as session:
        store = ConsentStore(session)
        entries = list(store.audit_entries())
        head = store.audit_head()
    broken = audit.first_bad(entries)
    if broken is None and entries and entries[-1].hash != head.hash:
        broken = audit.Break(entries[-1].seq, "the chain's tail was cut or rewritten")
    if broken is None and not entries and head.hash != audit.GENESIS:
        broken = audit.Break(head.seq, "entries were removed")
    if broken is not None:
        return ChainReport(
            entries=len(entries),
            head=head.hash,
            ok=False,
            first_bad_seq=broken.seq,
            reason=broken.reason,
        )
    return ChainReport(entries=len(entries), head=head.hash, ok=True)
