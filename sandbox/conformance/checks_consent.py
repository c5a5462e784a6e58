"""Data-provider items: a fetch with no, paused, revoked or expired consent is refused,
and a consented fetch never returns more than the consented slice.

The kit plays the third-party app: it asks the consent manager for a consumer's
consent (signed with the kit's directory key, as any app's request), has the consumer
approve it *narrowed* (interval consumption only, daily, not the hourly interval and
net export it asked for), then fetches from the data provider's meter data service
(``POST {target}/meter-data-service/meter-data``, MeterDataRequest v0.6 with a detached
JWS). DESIGN.md "Consent": processing stops on withdrawal; IES 12 (explicit consent on
every disclosure).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from consent.client import sign_request
from consent.signatures import SigningIdentity
from sandbox.conformance.identity import KitKey
from sandbox.conformance.model import Evidence, Failed, Item, Result, Skipped, clip, ok
from sandbox.conformance.session import Session

IST = timezone(timedelta(hours=5, minutes=30))
PROVIDER_ROLES = ("data-provider",)
ASKED_TYPES = ["interval_consumption", "net_export", "billing"]
GRANTED_TYPES = ["interval_consumption"]
GRANTED = "daily"
ROW_TYPES = {"interval_consumption": "USAGE", "net_export": "EXPORT"}


@dataclass(frozen=True, slots=True)
class DataSubject:
    """Whose data the kit asks for, where, and over which days the provider holds it.

    ``provider`` is set for a consent-manager run only: the identity of a data provider
    the manager serves, whose part (artefact lookup, fetch accounting) the kit plays.
    """

    consent_manager_url: str
    consumer_id: str
    meter: str
    first: date
    days: int
    jurisdiction: str
    provider: SigningIdentity | None = None
    # How the kit signs in as the consumer at the manager (the consumer routes need the
    # consumer's session): the headers a signed-in call carries. None: no sign-in known.
    sign_in: Callable[[], dict[str, str]] | None = None

    def provider_id(self, session: Session) -> str:
        return self.provider.subscriber_id if self.provider else session.target.subscriber_id


class _KeyCustody:
    """The kit's key as the custody ``consent.signatures`` signs through."""

    def __init__(self, key: KitKey) -> None:
        self.key = key

    def sign(self, key_id: str, message: bytes) -> bytes:
        return self.key.sign(message)


def _subject(session: Session) -> DataSubject:
    subject = session.target.data_subject
    if not isinstance(subject, DataSubject):
        raise Skipped("no data subject given (consent manager, consumer, meter, days held)")
    return subject


def _consents(subject: DataSubject) -> str:
    return f"{subject.consent_manager_url}/consumers/{subject.consumer_id}/consents"


def consumer_headers(session: Session) -> dict[str, str]:
    """The consumer's session at the manager (signed in once per run), for their calls."""
    sign_in = _subject(session).sign_in
    if sign_in is None:
        return {}
    try:
        headers: dict[str, str] = session.once("consumer-session", sign_in)
    except Exception as exc:
        raise Failed(f"the consumer could not sign in at the manager: {exc}", []) from None
    return headers


def _identity(session: Session) -> SigningIdentity:
    key = session.kit.bap
    return SigningIdentity(key.subscriber_id, key.key_id, _KeyCustody(key))  # type: ignore[arg-type]


def new_consent(session: Session, *, expires_in: timedelta = timedelta(days=30),
                approve: bool = True) -> tuple[str, list[Evidence]]:  # fmt: skip
    """A consent asked for (hourly, three data types) and approved narrowed."""
    subject = _subject(session)
    last = subject.first + timedelta(days=subject.days - 1)
    ask = {
        "request_id": f"conformance-{uuid.uuid4()}",
        "data_consumer": session.kit.bap.subscriber_id,
        "data_provider": subject.provider_id(session),
        "jurisdiction": subject.jurisdiction,
        "consumer_id": subject.consumer_id,
        "purpose": "energy_advice",
        "scope": {
            "meters": [subject.meter], "data_types": ASKED_TYPES,
            "date_range": {"from": subject.first.isoformat(), "to": last.isoformat()},
            "granularity": "hourly", "fetch_type": "periodic",
            "frequency": {"value": 50, "unit": "day"}, "data_life_days": 30,
            "expires_at": (datetime.now(IST) + expires_in).isoformat(),
        },
        "languages": ["en"],
    }  # fmt: skip
    raw = json.dumps(ask, separators=(",", ":")).encode()
    url = f"{subject.consent_manager_url}/consent/requests"
    asked = session.http.post(url, content=raw,
                              headers=sign_request(_identity(session), raw,
                                                   "ies-consent-request+jws"))  # fmt: skip
    evidence = [Evidence("consent request", f"POST {url}\n\n{clip(raw, 1500)}",
                         f"HTTP {asked.status_code}\n{clip(asked.text, 1000)}")]  # fmt: skip
    if asked.status_code != 201:
        raise Failed(f"the consent manager refused the kit's request: HTTP {asked.status_code}",
                     evidence)  # fmt: skip
    consent_id = str(asked.json()["id"])
    if approve:
        url = f"{_consents(subject)}/{consent_id}/approve"
        narrowed = {"data_types": GRANTED_TYPES, "granularity": GRANTED,
                    "frequency": {"value": 50, "unit": "day"}}  # fmt: skip
        approved = session.http.post(url, json=narrowed, headers=consumer_headers(session))
        evidence.append(
            Evidence(
                "consumer approves, narrowed",
                f"POST {url}\n\n{narrowed}",
                f"HTTP {approved.status_code}\n{clip(approved.text, 800)}",
            )
        )
        if approved.status_code != 200 or approved.json().get("status") != "ACTIVE":
            raise Failed("the consumer's approval did not make the consent ACTIVE", evidence)
    return consent_id, evidence


def consumer_action(session: Session, consent_id: str, action: str) -> Evidence:
    subject = _subject(session)
    url = f"{_consents(subject)}/{consent_id}/{action}"
    done = session.http.post(url, headers=consumer_headers(session))
    evidence = Evidence(f"consumer: {action}", f"POST {url}",
                        f"HTTP {done.status_code}\n{clip(done.text, 600)}")  # fmt: skip
    if done.status_code != 200:
        raise Failed(f"the consent manager refused {action}: HTTP {done.status_code}", [evidence])
    return evidence


def fetch(session: Session, consent_id: str, label: str) -> tuple[int, Any, Evidence]:
    subject = _subject(session)
    start = datetime(subject.first.year, subject.first.month, subject.first.day, tzinfo=IST)
    request = {
        "from": start.isoformat(), "duration": f"P{subject.days}D", "resources": [subject.meter],
        "consumerConsent": [consent_id],
        "capabilitiesRequested": {"profiles": [{"profileType": "IntervalProfile"}]},
    }  # fmt: skip
    raw = json.dumps(request, separators=(",", ":")).encode()
    url = f"{session.target.url}/meter-data-service/meter-data"
    answer = session.http.post(url, content=raw,
                               headers=sign_request(_identity(session), raw,
                                                    "ies-meter-data-request+jws"))  # fmt: skip
    evidence = Evidence(label, f"POST {url}\n\n{clip(raw, 1200)}",
                        f"HTTP {answer.status_code}\n{clip(answer.text, 2500)}")  # fmt: skip
    try:
        body = answer.json()
    except ValueError:
        body = None
    return answer.status_code, body, evidence


def _refused(status: int, body: Any, evidence: Evidence, why: str) -> Result:
    if status < 400:
        raise Failed(f"{why}, yet the provider answered HTTP {status} with data", [evidence])
    if isinstance(body, list) and body:
        raise Failed(f"{why}: refused, but the refusal carries data", [evidence])
    slug = body.get("type", "") if isinstance(body, dict) else ""
    return ok(f"refused: HTTP {status} {slug}".strip(), evidence)


def check_no_consent(session: Session) -> Result:
    _subject(session)
    status, body, evidence = fetch(session, f"urn:uuid:{uuid.uuid4()}", "a fetch naming no consent")
    return _refused(status, body, evidence, "a fetch naming no real consent")


def _granted(session: Session) -> tuple[str, list[Evidence]]:
    value: tuple[str, list[Evidence]] = session.once("consent", lambda: new_consent(session))
    return value


def _finer_than_a_day(duration: str) -> bool:
    """An ISO 8601 duration shorter than a day (PT1H, PT15M, PT30M; PT24H is a day)."""
    if not duration.startswith("PT"):
        return False
    hours = duration[2:].partition("H")
    return not (hours[1] and hours[0].isdigit() and int(hours[0]) >= 24 and not hours[2])


def slice_problems(payload: list[dict[str, Any]], subject: DataSubject) -> list[str]:
    """What a MeterData v0.6 payload holds beyond a daily, import-only consent for one
    meter over the held days."""
    problems: list[str] = []
    for profile in payload:
        kind = profile.get("profileType")
        if kind not in ("DESCRIPTOR", "INTERVAL"):
            problems.append(f"a {kind} profile: only interval consumption was consented")
        for descriptors in profile.get("payloadDescriptorSets") or []:
            for descriptor in descriptors.get("payloadDescriptors") or []:
                if descriptor.get("flowDirection") != "IMPORT":
                    problems.append(f"{descriptor.get('readingType')} readings: only import "
                                    "consumption was consented")  # fmt: skip
        for ref in profile.get("meterRefs") or []:
            if ref.get("value") != subject.meter:
                problems.append(f"meter {ref.get('value')}: not the consented meter")
        if kind == "INTERVAL":
            period = profile.get("intervalPeriod") or {}
            duration = str(period.get("duration", "")) if isinstance(period, dict) else ""
            if _finer_than_a_day(duration):
                problems.append(f"intervals of {duration}: finer than the consented {GRANTED}")
            intervals = profile.get("intervals") or []
            if len(intervals) > subject.days:
                problems.append(f"{len(intervals)} intervals for {subject.days} consented days: "
                                f"finer than {GRANTED}")  # fmt: skip
    return problems


def check_slice(session: Session) -> Result:
    consent_id, evidence = _granted(session)
    status, body, answer = fetch(session, consent_id, "a fetch under the narrowed consent")
    evidence = [*evidence, answer]
    if status != 200 or not isinstance(body, list):
        raise Failed(f"a consented fetch was not served: HTTP {status}", evidence)
    problems = slice_problems(body, _subject(session))
    if problems:
        raise Failed("more than the consented slice: " + "; ".join(sorted(set(problems))),
                     evidence)  # fmt: skip
    return ok(
        f"{len(body)} profile(s), interval consumption only, at most daily, inside "
        "the consented days",
        *evidence,
    )


def check_paused(session: Session) -> Result:
    consent_id, evidence = _granted(session)
    evidence = [*evidence, consumer_action(session, consent_id, "pause")]
    try:
        status, body, answer = fetch(session, consent_id, "a fetch under a paused consent")
    finally:
        evidence.append(consumer_action(session, consent_id, "resume"))
    result = _refused(status, body, answer, "the consent is paused")
    result.evidence = [*evidence, *result.evidence]
    return result


def check_revoked(session: Session) -> Result:
    consent_id, evidence = new_consent(session)
    evidence.append(consumer_action(session, consent_id, "revoke"))
    status, body, answer = fetch(session, consent_id, "a fetch under a revoked consent")
    result = _refused(status, body, answer, "the consent is revoked")
    result.evidence = [*evidence, *result.evidence]
    return result


def check_expired(session: Session) -> Result:
    consent_id, evidence = new_consent(session, expires_in=timedelta(seconds=3))
    time.sleep(3.5)
    status, body, answer = fetch(session, consent_id, "a fetch under an expired consent")
    result = _refused(status, body, answer, "the consent has expired")
    result.evidence = [*evidence, *result.evidence]
    return result


ITEMS: tuple[Item, ...] = (
    Item("consent.no-consent", PROVIDER_ROLES, "a fetch naming no consent is refused",
         "IES 12; DESIGN Consent", check_no_consent),
    Item("consent.slice", PROVIDER_ROLES,
         "a consented fetch never returns more than the consented slice",
         "IES 12; DESIGN Consent (granularity, data types, date range)", check_slice),
    Item("consent.paused", PROVIDER_ROLES, "a fetch under a paused consent is refused",
         "IES 12; DPDP Act 2023 s.6(4)", check_paused),
    Item("consent.revoked", PROVIDER_ROLES, "a fetch under a revoked consent is refused",
         "IES 12; DPDP Act 2023 s.6(6): processing stops on withdrawal", check_revoked),
    Item("consent.expired", PROVIDER_ROLES, "a fetch under an expired consent is refused",
         "IES 12; DESIGN Consent (expiry)", check_expired),
)  # fmt: skip
