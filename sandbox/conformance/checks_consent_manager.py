"""Consent-manager items: the manager's own behaviour over its HTTP API (consent/api.py).

The kit plays the app (it asks for a consent with its directory key), the consumer (it
approves, pauses, resumes, revokes through the consumer endpoints) and a data provider
the manager serves (``DataSubject.provider``): as that provider it looks the artefact
up (``POST /consent/artefacts/lookup``) and asks for fetch grants (``POST
/consent/fetches``), through the stack's own client (``consent.client.HttpConsentManager``,
which checks every grant is signed by the manager's directory key) and verifies the
artefact with the stack's own verifier (``consent.artefact.verify``). Clauses: IES 12;
DPDP Act 2023 s.6(4) (withdrawal as easy as giving) and s.6(6) (processing stops).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from consent import artefact
from consent.client import HttpConsentManager
from consent.errors import ConsentNotActive, ConsentProblem
from consent.models import DataType, Granularity
from consent.service import FetchGrant, FetchRecord
from consent.signatures import SigningIdentity
from sandbox.conformance.checks_consent import (
    GRANTED,
    GRANTED_TYPES,
    IST,
    DataSubject,
    _consents,
    _subject,
    consumer_action,
    consumer_headers,
    new_consent,
)
from sandbox.conformance.model import Evidence, Failed, Item, Result, Skipped, clip, ok
from sandbox.conformance.session import Session

MANAGER_ROLES = ("consent-manager",)


def _provider(session: Session) -> tuple[DataSubject, SigningIdentity]:
    subject = _subject(session)
    if subject.provider is None:
        raise Skipped("no data provider identity given (a provider this manager serves)")
    return subject, subject.provider


class _Recorder:
    """Every exchange of the provider's client, as evidence."""

    def __init__(self) -> None:
        self.evidence: list[Evidence] = []

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        self.evidence.append(Evidence(
            f"provider: {request.url.path}",
            f"{request.method} {request.url}\n\n{clip(request.content, 1200)}",
            f"HTTP {response.status_code}\n{clip(response.text, 1200)}",
        ))  # fmt: skip


def _as_provider(session: Session) -> tuple[HttpConsentManager, _Recorder, httpx.Client]:
    _, identity = _provider(session)
    recorder = _Recorder()
    http = httpx.Client(base_url=session.target.url, timeout=session.http.timeout,
                        event_hooks={"response": [recorder]})  # fmt: skip
    client = HttpConsentManager(http, identity, session.lookup, session.target.subscriber_id)
    return client, recorder, http


def _fetch_record(session: Session, consent_id: str) -> FetchRecord:
    subject, identity = _provider(session)
    start = datetime(subject.first.year, subject.first.month, subject.first.day, tzinfo=IST)
    return FetchRecord(
        consent_id=consent_id, provider_id=identity.subscriber_id,
        app_id=session.kit.bap.subscriber_id, start=start,
        end=start + timedelta(days=subject.days), granularity=Granularity(GRANTED),
        data_types=tuple(DataType(t) for t in GRANTED_TYPES),
        request_digest="sha256:" + hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
    )  # fmt: skip


def _grant(session: Session, client: HttpConsentManager, consent_id: str,
           evidence: list[Evidence], when: str) -> FetchGrant:  # fmt: skip
    try:
        return client.record(_fetch_record(session, consent_id))
    except ConsentProblem as exc:
        raise Failed(f"{when}, the provider's fetch was refused: {exc.detail}", evidence) from None


def _refused(session: Session, client: HttpConsentManager, consent_id: str,
             evidence: list[Evidence], when: str) -> str:  # fmt: skip
    try:
        grant = client.record(_fetch_record(session, consent_id))
    except ConsentNotActive as exc:
        return str(exc.detail)
    except ConsentProblem as exc:
        raise Failed(f"{when}, the provider's fetch was refused, but not as consent-not-active: "
                     f"{type(exc).__name__}: {exc.detail}", evidence) from None  # fmt: skip
    raise Failed(f"{when}, the manager granted a fetch (status {grant.status})", evidence)


def _status(session: Session, consent_id: str, evidence: list[Evidence]) -> str:
    url = f"{_consents(_subject(session))}/{consent_id}"
    answer = session.get(url, headers=consumer_headers(session))
    evidence.append(Evidence("consumer: the consent", f"GET {url}",
                             f"HTTP {answer.status_code}\n{clip(answer.text, 600)}"))  # fmt: skip
    body: Any = session.json_of(answer, url)
    status = body.get("status") if isinstance(body, dict) else None
    if answer.status_code != 200 or not isinstance(status, str):
        raise Failed(f"the consumer's view of the consent: HTTP {answer.status_code}", evidence)
    return status


def check_artefact(session: Session) -> Result:
    _provider(session)
    consent_id, evidence = new_consent(session)
    client, recorder, http = _as_provider(session)
    with http:
        try:
            token = client.artefact(consent_id)
        except ConsentProblem as exc:
            raise Failed(f"the provider's artefact lookup was refused: {exc.detail}",
                         [*evidence, *recorder.evidence]) from None  # fmt: skip
    evidence = [*evidence, *recorder.evidence]
    try:
        claims = artefact.verify(token, session.lookup, frozenset({session.target.subscriber_id}))
    except ConsentProblem as exc:
        raise Failed(f"the artefact does not verify with the manager's directory key: "
                     f"{exc.detail}", evidence) from None  # fmt: skip
    _, identity = _provider(session)
    wrong = [
        name for name, found, wanted in (
            ("id", claims.id, consent_id),
            ("data_consumer", claims.data_consumer, session.kit.bap.subscriber_id),
            ("data_provider", claims.data_provider, identity.subscriber_id),
            ("data_types", sorted(t.value for t in claims.scope.data_types), GRANTED_TYPES),
            ("granularity", claims.scope.granularity.value, GRANTED),
        ) if found != wanted
    ]  # fmt: skip
    if wrong:
        raise Failed(f"the artefact does not say what was approved: {', '.join(wrong)}", evidence)
    return ok(f"the artefact is signed by {session.target.subscriber_id}'s directory key and "
              f"holds the narrowed approval ({GRANTED}, {', '.join(GRANTED_TYPES)})",
              *evidence)  # fmt: skip


def check_status_visible(session: Session) -> Result:
    _provider(session)
    consent_id, evidence = new_consent(session)
    client, recorder, http = _as_provider(session)
    with http:
        first = _grant(session, client, consent_id, evidence, "under an ACTIVE consent")
        evidence.append(consumer_action(session, consent_id, "pause"))
        if (seen := _status(session, consent_id, evidence)) != "PAUSED":
            raise Failed(f"paused, yet the consent reads {seen}", evidence)
        paused = _refused(session, client, consent_id, [*evidence, *recorder.evidence],
                          "paused")  # fmt: skip
        evidence.append(consumer_action(session, consent_id, "resume"))
        _grant(session, client, consent_id, [*evidence, *recorder.evidence], "resumed")
        evidence.append(consumer_action(session, consent_id, "revoke"))
        if (seen := _status(session, consent_id, evidence)) != "REVOKED":
            raise Failed(f"revoked, yet the consent reads {seen}", evidence)
        revoked = _refused(session, client, consent_id, [*evidence, *recorder.evidence],
                           "revoked")  # fmt: skip
    evidence.extend(recorder.evidence)
    return ok(f"granted while ACTIVE ({first.status}, signed by the manager); refused while "
              f"paused ({paused}); granted again on resume; refused once revoked ({revoked})",
              *evidence)  # fmt: skip


def check_revocation_final(session: Session) -> Result:
    _provider(session)
    consent_id, evidence = new_consent(session)
    evidence.append(consumer_action(session, consent_id, "revoke"))
    base = f"{_consents(_subject(session))}/{consent_id}"
    narrowed = {"data_types": GRANTED_TYPES, "granularity": GRANTED}
    for action, body in (("resume", None), ("approve", narrowed), ("pause", None)):
        url = f"{base}/{action}"
        signed_in = consumer_headers(session)
        answer = session.http.post(url, json=body, headers=signed_in) if body else (
            session.http.post(url, headers=signed_in))  # fmt: skip
        sent = f"POST {url}\n\n{json.dumps(body) if body else ''}"
        got = f"HTTP {answer.status_code}\n{clip(answer.text, 600)}"
        evidence.append(Evidence(f"consumer: {action} a revoked consent", sent, got))
        if answer.status_code < 400:
            raise Failed(f"a revoked consent was accepted for {action}: HTTP "
                         f"{answer.status_code}", evidence)  # fmt: skip
    if (seen := _status(session, consent_id, evidence)) != "REVOKED":
        raise Failed(f"after the refused re-activations the consent reads {seen}", evidence)
    client, recorder, http = _as_provider(session)
    with http:
        why = _refused(session, client, consent_id, evidence, "revoked and re-activation tried")
    evidence.extend(recorder.evidence)
    return ok(f"resume, approve and pause of a revoked consent refused; it stays REVOKED and "
              f"the provider is refused ({why})", *evidence)  # fmt: skip


ITEMS: tuple[Item, ...] = (
    Item("consent-manager.artefact", MANAGER_ROLES,
         "the artefact is signed by the manager (its directory key) and says what was approved",
         "IES 12; DESIGN Consent (signed artefact)", check_artefact),
    Item("consent-manager.status-visible", MANAGER_ROLES,
         "pause and revoke reach the data provider's fetch accounting at once",
         "IES 12; DPDP Act 2023 s.6(4), s.6(6)", check_status_visible),
    Item("consent-manager.revocation-final", MANAGER_ROLES,
         "a revoked consent cannot be resumed, re-approved or paused back to life",
         "DPDP Act 2023 s.6(6); DESIGN Consent (REVOKED is final)", check_revocation_final),
)  # fmt: skip
